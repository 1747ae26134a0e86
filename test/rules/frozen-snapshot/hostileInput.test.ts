/**
 * Hostile input: whatever `execute` is given, it answers `rejected` with a specific code, never
 * throws, never calls the broker and never pollutes a prototype.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, freezeSnapshot } from '../../../src/index.js';
import { harness, rawSnapshot, snapshot } from '../../support/fixtures.js';

const SEED = 424242;
const REFUSALS: string[] = [ErrorCode.InvalidSnapshot, ErrorCode.SnapshotTampered, ErrorCode.NotApproved, ErrorCode.SnapshotExpired, ErrorCode.DuplicateAdvisory];
const FIELDS = ['advisoryId', 'symbol', 'side', 'positionSize', 'referencePrice', 'slOffsetPct', 'tpOffsetPct', 'expiresAt', 'createdAt', 'approval', 'htfBias', 'reasoningMode', 'reasoningContext'] as const;
const prototypeKeys = () => [Object.keys(Object.prototype), Object.keys(Array.prototype), Object.keys(Function.prototype)].flat().sort().join(',');

describe('hostile input', () => {
  const before = prototypeKeys();

  it('anything at all (objects, arrays, dates, maps, sets, bigints, null prototypes…) → rejected/invalid_snapshot', async () => {
    const h = harness();
    await fc.assert(
      fc.asyncProperty(fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withObjectString: true, withTypedArray: true, withSparseArray: true, withBoxedValues: true }), async (value) => {
        const result = await h.run(h.engine.execute(value));
        expect(result.status).toBe('rejected');
        expect(result.error?.code).toBe('invalid_snapshot');
      }),
      { seed: SEED, numRuns: 300 },
    );
    expect(h.broker.calls).toHaveLength(0);
  });

  it('a valid snapshot with one field replaced by anything: rejected with a specific code unless the result is itself valid', async () => {
    const h = harness();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...FIELDS), fc.oneof(fc.jsonValue(), fc.anything()), async (field, value) => {
        const mutated = { ...rawSnapshot({ advisoryId: `mut-${++n}` }), [field]: value };
        let valid = true;
        try {
          freezeSnapshot(mutated);
        } catch {
          valid = false;
        }
        const calls = h.broker.calls.length;
        const result = await h.run(h.engine.execute(mutated));
        if (!valid) {
          expect(result.status).toBe('rejected');
          expect(result.error?.code).toBe('invalid_snapshot');
          expect(h.broker.calls.length).toBe(calls);
        } else if (result.status === 'rejected') {
          expect(REFUSALS).toContain(result.error?.code);
        }
      }),
      { seed: SEED + 1, numRuns: 300 },
    );
  });

  it('special numbers in every numeric field', async () => {
    const h = harness();
    for (const field of ['positionSize', 'referencePrice', 'slOffsetPct', 'tpOffsetPct'] as const) {
      for (const n of [NaN, Infinity, -Infinity, -0, 0, 1e308, -1e308, Number.MIN_VALUE, 2 ** 53 + 1, '1', null, true]) {
        const result = await h.run(h.engine.execute(rawSnapshot({ [field]: n })));
        expect(result.error?.code, `${field}=${String(n)}`).toBe('invalid_snapshot');
      }
    }
    expect(h.broker.calls).toHaveLength(0);
  });

  it('huge strings and arrays, deep nesting', async () => {
    const h = harness();
    let deep: unknown = 'bottom';
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    let deepArray: unknown = [];
    for (let i = 0; i < 100_000; i++) deepArray = [deepArray];
    const huge = 'x'.repeat(5_000_000);
    const inputs = [
      rawSnapshot({ advisoryId: huge }),
      rawSnapshot({ symbol: huge }),
      rawSnapshot({ htfBias: huge }),
      rawSnapshot({ reasoningContext: { note: huge } }),
      rawSnapshot({ reasoningContext: Array.from({ length: 1_000_000 }, (_, i) => i) }),
      rawSnapshot({ reasoningContext: deep }),
      rawSnapshot({ reasoningContext: deepArray }),
      rawSnapshot({ approval: deep }),
      deep,
      deepArray,
      Array.from({ length: 1_000_000 }, () => rawSnapshot()),
    ];
    for (const input of inputs) {
      const result = await h.run(h.engine.execute(input));
      expect(result.status).toBe('rejected');
      expect(result.error?.code).toBe('invalid_snapshot');
    }
    expect(h.broker.calls).toHaveLength(0);
  }, 60_000); // megabytes of input: its time is CPU, so a loaded machine needs more than the default bound

  it('__proto__, constructor and prototype keys, at the top and nested, never pollute', async () => {
    const h = harness();
    const payloads = [
      '{"__proto__":{"polluted":"yes"}}',
      '{"constructor":{"prototype":{"polluted":"yes"}}}',
      `{"reasoningContext":{"__proto__":{"polluted":"yes"}}}`,
      `{"reasoningContext":{"a":[{"constructor":{"prototype":{"polluted":"yes"}}}]}}`,
      `{"approval":{"approvedBy":"a","approvedAt":"2026-11-24T09:00:00Z","__proto__":{"polluted":"yes"}}}`,
    ];
    for (const extra of payloads) {
      const input = { ...rawSnapshot(), ...JSON.parse(extra) };
      const result = await h.run(h.engine.execute(input));
      expect(result.status).toBe('rejected');
      expect(result.error?.code).toBe('invalid_snapshot');
    }
    expect(({} as { polluted?: string }).polluted).toBeUndefined();
    expect(prototypeKeys()).toBe(before);
  });

  it('dates without an offset, impossible dates and other calendars are refused', async () => {
    const h = harness();
    for (const date of ['2026-11-24T12:00:00', '2026-11-24', '2026-13-01T00:00:00Z', '2026-02-30T00:00:00Z', '24/11/2026 12:00', 'tomorrow', '1764000000000', '+275760-09-13T00:00:00.001Z']) {
      const result = await h.run(h.engine.execute(rawSnapshot({ expiresAt: date })));
      expect(result.error?.code, date).toBe('invalid_snapshot');
    }
  });

  it('look-alike and invisible unicode in identifiers is refused', async () => {
    const h = harness();
    for (const symbol of ['ЕURUSD' /* Cyrillic Е */, 'EURUSD\u200b', '\u202eDSURUE', 'EUR USD', 'eurusd', '💶USD', 'EURUSD\n', '']) {
      const result = await h.run(h.engine.execute(rawSnapshot({ symbol })));
      expect(result.error?.code, JSON.stringify(symbol)).toBe('invalid_snapshot');
    }
    for (const advisoryId of ['adv\u0000', 'аdv-1' /* Cyrillic а */, '../../etc/passwd', 'a'.repeat(129)]) {
      const result = await h.run(h.engine.execute(rawSnapshot({ advisoryId })));
      expect(result.error?.code, JSON.stringify(advisoryId)).toBe('invalid_snapshot');
    }
    expect(h.broker.calls).toHaveLength(0);
  });

  it('a forged object: right shape, a hash that was not stamped over this content → snapshot_tampered', async () => {
    const h = harness();
    const genuine = snapshot();
    const forged = Object.freeze({ ...rawSnapshot({ positionSize: 500 }), hash: genuine.hash });
    const result = await h.run(h.engine.execute(forged));
    expect(result.error?.code).toBe('snapshot_tampered');
    expect(h.broker.calls).toHaveLength(0);
  });
});

/**
 * Input is read once and never touched: the engine and freezeSnapshot work on their own copy, so
 * a value that changes between reads cannot make two checks disagree, and the caller's objects
 * stay the caller's (unfrozen, unchanged).
 */
import { describe, expect, it } from 'vitest';
import { freezeSnapshot, SnapshotValidationError } from '../../../src/index.js';
import { parseSnapshotInput } from '../../../src/domain/snapshot.js';
import { rawSnapshot } from '../../support/fixtures.js';

/** A snapshot whose `field` answers `values[0]`, then `values[1]`, … on successive reads. */
function shifting(field: string, values: unknown[]): Record<string, unknown> {
  const base = rawSnapshot();
  let reads = 0;
  Object.defineProperty(base, field, { enumerable: true, configurable: true, get: () => values[Math.min(reads++, values.length - 1)] });
  return base;
}

describe('input hygiene (rule 1)', () => {
  it('freezeSnapshot freezes a copy: the caller’s reasoningContext stays mutable and unchanged', () => {
    const context = { levels: [1, 2], note: { text: 'x' } };
    const raw = rawSnapshot({ reasoningContext: context });
    const frozen = freezeSnapshot(raw);
    expect(Object.isFrozen(context)).toBe(false);
    expect(Object.isFrozen(context.levels)).toBe(false);
    expect(Object.isFrozen(raw)).toBe(false);
    context.levels.push(3); // the caller may go on using its own object…
    expect(frozen.reasoningContext).toEqual({ levels: [1, 2], note: { text: 'x' } }); // …the snapshot does not see it
    expect(Object.isFrozen(frozen.reasoningContext)).toBe(true);
  });

  it('a field that answers differently on each read is read once: the snapshot holds the first answer', () => {
    const raw = shifting('positionSize', [10, 10_000]);
    const frozen = freezeSnapshot(raw);
    expect(frozen.positionSize).toBe(10);
    const parsed = parseSnapshotInput(shifting('symbol', ['EURUSD', 'GBPUSD']));
    expect(parsed.kind).toBe('valid');
    if (parsed.kind === 'valid') expect(parsed.snapshot.symbol).toBe('EURUSD');
  });

  it('a value valid on the first read and invalid on the next is judged on the first read only', () => {
    // Before: validation read one value and the freeze/hash another, or threw a RangeError.
    for (const [field, values] of [
      ['approval', [{ approvedBy: 'alice', approvedAt: rawSnapshot().approval && (rawSnapshot().approval as { approvedAt: string }).approvedAt }, { approvedBy: '', approvedAt: 'never' }]],
      ['expiresAt', [rawSnapshot().expiresAt, 'not a date']],
      ['reasoningContext', [{ a: 1 }, (() => { const c: Record<string, unknown> = {}; c.self = c; return c; })()]],
    ] as const) {
      expect(() => freezeSnapshot(shifting(field, [...values])), field).not.toThrow();
    }
  });

  it('a value invalid on the first read is a SnapshotValidationError, never another error', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    // Factories: a shifting input is spent once read, so each call gets a fresh one.
    const cases: (() => unknown)[] = [
      () => shifting('reasoningContext', [cyclic, { a: 1 }]),
      () => shifting('positionSize', [Number.NaN, 10]),
      () => rawSnapshot({ reasoningContext: cyclic }),
      () => new Proxy(rawSnapshot(), { get: () => { throw new RangeError('hostile'); } }),
      () => { const p = Proxy.revocable(rawSnapshot(), {}); p.revoke(); return p.proxy; },
      () => rawSnapshot({ reasoningContext: Array.from({ length: 200_000 }, (_, i) => i) }),
    ];
    for (const [i, make] of cases.entries()) {
      let thrown: unknown = null;
      try {
        freezeSnapshot(make());
      } catch (e) {
        thrown = e;
      }
      expect(thrown, `case ${i}`).toBeInstanceOf(SnapshotValidationError);
      expect(parseSnapshotInput(make()).kind, `case ${i}`).toBe('invalid');
    }
  });

  it('a "__proto__" key read from hostile input is still refused, and pollutes nothing', () => {
    const raw = JSON.parse(`{"reasoningContext":{"__proto__":{"polluted":"yes"}}}`) as Record<string, unknown>;
    expect(() => freezeSnapshot({ ...rawSnapshot(), ...raw })).toThrow(SnapshotValidationError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('refused input in the journal', () => {
  it('a refused 10 MB input is journaled as a bounded summary (its problems and outline), not copied whole', async () => {
    const { harness } = await import('../../support/fixtures.js');
    const h = harness();
    const huge = 'x'.repeat(10 * 1024 * 1024);
    const result = await h.run(h.engine.execute({ ...rawSnapshot(), reasoningMode: huge, notes: [huge] }));
    expect(result).toMatchObject({ status: 'rejected', error: { code: 'invalid_snapshot' } });
    const text = JSON.stringify(await h.engine.journal.records());
    expect(text.length).toBeLessThan(64 * 1024);
    expect(text).toContain('reasoningMode'); // the outline names the fields, and the issues say what is wrong
    expect(h.broker.calls).toHaveLength(0);
  });
});

import { describe, expect, it } from 'vitest';
import { freezeSnapshot, SnapshotValidationError } from '../../../src/index.js';
import { hashSnapshotFields, parseSnapshotInput } from '../../../src/domain/snapshot.js';
import { canonicalJson } from '../../../src/domain/json.js';
import { harness, rawSnapshot, snapshot } from '../../support/fixtures.js';

describe('rule 1: frozen snapshot', () => {
  it('deep-freezes the snapshot: no field, nested or not, can be changed', () => {
    const s = snapshot({ reasoningContext: { levels: [1, 2], note: { text: 'x' } } });
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.approval)).toBe(true);
    expect(() => {
      (s as { positionSize: number }).positionSize = 1000;
    }).toThrow(TypeError);
    expect(() => {
      ((s.reasoningContext as { levels: number[] }).levels).push(3);
    }).toThrow(TypeError);
    expect(s.positionSize).toBe(10);
  });

  it('copies the input: changing the caller\'s object afterwards changes nothing', () => {
    const raw = rawSnapshot();
    const s = freezeSnapshot(raw);
    raw.positionSize = 999;
    (raw.approval as { approvedBy: string }).approvedBy = 'mallory';
    expect(s.positionSize).toBe(10);
    expect(s.approval?.approvedBy).toBe('alice');
  });

  it('stamps a SHA-256 over every field: changing any one changes the hash', () => {
    const base = rawSnapshot({ htfBias: 'bullish', reasoningMode: 'ict', reasoningContext: { a: 1 } });
    const h = freezeSnapshot(base).hash;
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    const variants: Record<string, unknown> = {
      advisoryId: 'adv-2', symbol: 'GBPUSD', positionSize: 11, referencePrice: 1.2, slOffsetPct: -0.02, tpOffsetPct: 0.03,
      expiresAt: '2026-11-24T12:00:00.000Z', createdAt: '2026-11-24T09:00:00.000Z',
      approval: { approvedBy: 'bob', approvedAt: '2026-11-24T09:59:00.000Z' }, htfBias: 'bearish', reasoningMode: 'other', reasoningContext: { a: 2 },
    };
    for (const [field, value] of Object.entries(variants)) {
      expect(freezeSnapshot({ ...base, [field]: value }).hash, field).not.toBe(h);
    }
  });

  it('hashes canonical JSON: key order does not matter', () => {
    const a = rawSnapshot();
    const reversed = Object.fromEntries(Object.entries(a).reverse());
    expect(freezeSnapshot(reversed).hash).toBe(freezeSnapshot(a).hash);
    expect(canonicalJson({ b: 1, a: { d: 2, c: 3 } })).toBe('{"a":{"c":3,"d":2},"b":1}');
    expect(hashSnapshotFields(snapshot())).toBe(snapshot().hash);
  });

  it('lists every problem of an invalid snapshot at once', () => {
    const bad = rawSnapshot({ positionSize: -1, symbol: 'eur usd', expiresAt: '2026-11-24T10:00:00', side: 'long' });
    try {
      freezeSnapshot(bad);
      expect.unreachable('freezeSnapshot accepted an invalid snapshot');
    } catch (e) {
      expect(e).toBeInstanceOf(SnapshotValidationError);
      const paths = (e as SnapshotValidationError).issues.map((i) => i.path);
      expect(paths).toEqual(expect.arrayContaining(['positionSize', 'symbol', 'expiresAt', 'side']));
    }
  });

  it('refuses SL/TP offsets pointing the wrong way for the side', () => {
    expect(() => freezeSnapshot(rawSnapshot({ side: 'buy', slOffsetPct: 0.01 }))).toThrow(/negative stop-loss/);
    expect(() => freezeSnapshot(rawSnapshot({ side: 'sell', slOffsetPct: 0.01, tpOffsetPct: 0.02 }))).toThrow(/negative take-profit/);
    expect(() => freezeSnapshot(rawSnapshot({ slOffsetPct: -1 }))).toThrow(/below 1/);
  });

  it('detects a snapshot edited after freezing (JSON round trip with the old hash) and sends nothing', async () => {
    const { engine, broker, run } = harness();
    const edited = { ...JSON.parse(JSON.stringify(snapshot())), positionSize: 1000 };
    expect(parseSnapshotInput(edited).kind).toBe('tampered');
    const result = await run(engine.execute(edited));
    expect(result.status).toBe('rejected');
    expect(result.error?.code).toBe('snapshot_tampered');
    expect(broker.calls).toHaveLength(0);
  });

  it('accepts an untouched JSON round trip of a frozen snapshot', async () => {
    const { engine, run, fillOnAccept } = harness();
    fillOnAccept(100, 1.1);
    const s = snapshot();
    const result = await run(engine.execute(JSON.parse(JSON.stringify(s))));
    expect(result.status).toBe('filled');
    expect(result.snapshotHash).toBe(s.hash);
  });
});

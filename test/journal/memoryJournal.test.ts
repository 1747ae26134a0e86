import { describe, expect, it } from 'vitest';
import { createEngine, MemoryJournal, PaperBroker } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';

const entry = (i: number) => ({ kind: 'transition' as const, executionId: `e-${i % 3}`, advisoryId: `a-${i % 3}`, snapshotHash: null, event: `E${i}`, payload: { i } });

function filled(max: number, count: number) {
  const journal = new MemoryJournal(new VirtualClock(T0), { maxRecords: max });
  for (let i = 1; i <= count; i++) journal.append(entry(i));
  return journal;
}

describe('MemoryJournal: bounded', () => {
  it('keeps only the last maxRecords records, in order, and says how many it dropped', async () => {
    for (const count of [5, 10, 11, 19, 20, 21, 35, 100]) {
      const journal = filled(10, count);
      const kept = journal.readAll();
      expect(kept).toHaveLength(Math.min(10, count));
      expect(journal.size).toBe(kept.length);
      expect(journal.dropped).toBe(Math.max(0, count - 10));
      expect(kept.map((r) => r.sequence)).toEqual(Array.from({ length: kept.length }, (_, i) => count - kept.length + 1 + i));
      expect(await journal.verify()).toEqual({ ok: true });
      expect((await journal.records({ executionId: 'e-1' })).every((r) => r.executionId === 'e-1')).toBe(true);
    }
  });

  it('keeps counting sequence numbers and chaining hashes across what it dropped', () => {
    const journal = filled(4, 9);
    const next = journal.append(entry(10));
    const kept = journal.readAll();
    expect(next.sequence).toBe(10);
    expect(kept.at(-2)!.hash).toBe(next.previousHash);
    expect(kept[0]!.sequence).toBe(7);
  });

  it('verify still finds an edited kept record, and an edited link to what was dropped', async () => {
    const journal = filled(10, 37);
    const list = journal.unsafeRecords();
    const original = list[3]!;
    list[3] = { ...original, payload: { forged: true } };
    expect(await journal.verify()).toEqual({ ok: false, brokenAt: original.sequence });
    list[3] = original;
    expect((await journal.verify()).ok).toBe(true);
    // The first kept record must still link to the last dropped one (whose hash the journal remembers).
    const first = list[0]!;
    list[0] = { ...first, previousHash: 'f'.repeat(64) };
    expect(await journal.verify()).toEqual({ ok: false, brokenAt: first.sequence });
    list[0] = first;
    list.splice(4, 1);
    expect((await journal.verify()).ok).toBe(false);
  });

  it('an engine runs on a small bound: records and verification cover what is kept', async () => {
    const clock = new VirtualClock(T0);
    const journal = new MemoryJournal(clock, { maxRecords: 30 });
    const engine = createEngine({ broker: new PaperBroker({ clock, markets: { EURUSD: { price: 1.1 } } }), journal, clock, logger: silentLogger() });
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await clock.run(engine.execute(snapshot({ advisoryId: `adv-${i}` }))));
    expect(results.map((r) => r.status)).toEqual(Array(6).fill('filled'));
    // The same advisory is still refused: the engine keeps its own claims, not the journal's old records.
    expect((await clock.run(engine.execute(snapshot({ advisoryId: 'adv-0' })))).error?.code).toBe('duplicate_advisory');
    expect(journal.dropped).toBeGreaterThan(0);
    expect(await engine.journal.records()).toHaveLength(30);
    expect(await engine.journal.verify()).toEqual({ ok: true });
  });

  it('no engine starts over a journal that dropped records (its claims may be gone); over a whole one it does', async () => {
    const clock = new VirtualClock(T0);
    const journal = new MemoryJournal(clock, { maxRecords: 30 });
    const broker = new PaperBroker({ clock, markets: { EURUSD: { price: 1.1 } } });
    const first = createEngine({ broker, journal, clock, logger: silentLogger() });
    await clock.run(first.execute(snapshot({ advisoryId: 'adv-0' })));
    expect(journal.dropped).toBe(0);
    expect(() => createEngine({ broker, journal, clock, logger: silentLogger() })).not.toThrow();
    for (let i = 1; i < 4; i++) await clock.run(first.execute(snapshot({ advisoryId: `adv-${i}` })));
    expect(journal.dropped).toBeGreaterThan(0);
    expect(() => createEngine({ broker, journal, clock, logger: silentLogger() })).toThrow(expect.objectContaining({ code: 'truncated' }));
  });

  it('refuses a bound that is not a positive integer; the default is 100,000', () => {
    expect(() => new MemoryJournal(undefined, { maxRecords: 0 })).toThrow(RangeError);
    expect(() => new MemoryJournal(undefined, { maxRecords: 1.5 })).toThrow(RangeError);
    expect(new MemoryJournal().maxRecords).toBe(100_000);
  });
});

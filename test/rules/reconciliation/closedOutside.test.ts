/**
 * Rule 6, a position closed outside an execution: the protective stop Warden placed fires at the
 * venue (or a take-profit fills, or an operator closes the position by hand). Warden's book (the
 * sum of every execution's fills) never hears of it, so the next execution on the symbol is
 * flagged with a position mismatch. Resolving that flag adopts the venue's figure of that
 * reconciliation into the book (`positionAdjustment` in the resolution record): the execution after
 * it reconciles `matched`, across a restart too (a full replay and from a checkpoint), and the
 * position limit counts the venue's real position. Without it every later execution was flagged,
 * with a difference that never went away ("exp 20000 got 10000", then "exp 30000 got 20000"), and
 * after a restart `maxPosition` refused orders while the venue was flat.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, PaperBroker, type Engine, type EngineOptions, type ExecutionResult } from '../../../src/index.js';
import { SqliteJournal } from '../../../src/entries/sqlite.js';
import { readCheckpoint } from '../../../src/journal/checkpoint.js';
import { VirtualClock } from '../../../src/testing/index.js';
import { silentLogger, snapshot, T0 } from '../../support/fixtures.js';

const SIZE = 10_000;

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

function journalPath(): string {
  dir = mkdtempSync(join(tmpdir(), 'warden-closed-outside-'));
  return join(dir, 'journal.sqlite');
}

/** A paper venue on a virtual clock: EURUSD fills and is protected; GBPUSD refuses protective orders. */
function venue() {
  const clock = new VirtualClock(T0);
  const broker = new PaperBroker({ seed: 11, clock, latencyMs: [1, 2], markets: { EURUSD: { price: 1.1, fillAfterMs: 50, slippageBps: 0 }, GBPUSD: { price: 1.25, fillAfterMs: 50, slippageBps: 0, protection: 'reject' } } });
  const engineOn = (options: Partial<EngineOptions> = {}) => createEngine({ broker, clock, logger: silentLogger(), ...options });
  const execute = (engine: Engine, advisoryId: string, symbol = 'EURUSD') => clock.run(engine.execute(snapshot({ advisoryId, symbol, positionSize: SIZE, referencePrice: symbol === 'EURUSD' ? 1.1 : 1.25 })));
  return { clock, broker, engineOn, execute };
}

const positionMismatch = (r: ExecutionResult) => r.reconciliation?.mismatches.find((m) => m.field === 'position.quantity');

/** A fills, is protected and matches; the venue closes the position (its stop fired); B is flagged. */
async function stopOutThenFlag(v: ReturnType<typeof venue>, engine: Engine) {
  const a = await v.execute(engine, 'adv-A');
  expect(a.status).toBe('filled');
  expect(a.protectionPlaced).toBe(true);
  expect(a.reconciliation?.status).toBe('matched');
  v.broker.venue.setPosition('EURUSD', 0, null); // A's stop-loss fired at the venue: flat
  const b = await v.execute(engine, 'adv-B');
  expect(b.status).toBe('filled');
  expect(b.requiresManualResolution).toBe(true);
  expect(positionMismatch(b)).toMatchObject({ expected: 2 * SIZE, actual: SIZE });
  return b;
}

const resolutionOf = async (engine: Engine, advisoryId: string) => (await engine.journal.records({ advisoryId })).find((r) => r.kind === 'resolution');

describe('rule 6: a position closed outside an execution, adopted at resolution', () => {
  it('after resolve(B), C on the same symbol reconciles matched, and so does D (the difference does not come back)', async () => {
    const v = venue();
    const engine = v.engineOn();
    try {
      await stopOutThenFlag(v, engine);
      engine.resolve('adv-B', { operator: 'carol', note: 'A was stopped out at the venue' });
      expect((await resolutionOf(engine, 'adv-B'))?.payload).toMatchObject({ operator: 'carol', positionAdjustment: { symbol: 'EURUSD', quantity: -SIZE } });
      const transition = (await engine.journal.records({ advisoryId: 'adv-B' })).find((r) => r.event === 'RESOLVE' && r.kind === 'transition');
      expect(transition?.payload).toMatchObject({ positionAdjustment: { symbol: 'EURUSD', quantity: -SIZE } });
      const c = await v.execute(engine, 'adv-C');
      expect(c.reconciliation?.mismatches).toEqual([]);
      expect(c.requiresManualResolution).toBe(false);
      const d = await v.execute(engine, 'adv-D');
      expect(d.reconciliation?.status).toBe('matched');
      expect(engine.killSwitch.state('EURUSD')).toBe('off');
    } finally {
      await engine.close();
    }
  });

  it('the position limit counts the same position before and after the resolution (the venue did not move)', async () => {
    const v = venue();
    const engine = v.engineOn({ limits: { symbols: { EURUSD: { maxPosition: 2 * SIZE } } } });
    try {
      await stopOutThenFlag(v, engine);
      expect(engine.limits.usage('EURUSD').position.net).toBe(SIZE);
      engine.resolve('adv-B', { operator: 'carol', note: 'A was stopped out at the venue' });
      expect(engine.limits.usage('EURUSD').position.net).toBe(SIZE);
      const c = await v.execute(engine, 'adv-C'); // reaches 20,000: at the limit, admitted
      expect(c.status).toBe('filled');
      expect(c.reconciliation?.status).toBe('matched');
      const d = await v.execute(engine, 'adv-D'); // would reach 30,000
      expect(d.error?.code).toBe('limit_position');
    } finally {
      await engine.close();
    }
  });

  it('two flags that saw the one difference: the second resolution adopts nothing more, in either order (the book never undercounts)', async () => {
    for (const order of [['adv-B', 'adv-C'], ['adv-C', 'adv-B']] as const) {
      const v = venue();
      const engine = v.engineOn();
      try {
        const a = await v.execute(engine, 'adv-A');
        expect(a.reconciliation?.status).toBe('matched');
        v.broker.venue.setPosition('EURUSD', 0, null); // A's stop fired
        // B and C in flight together: each reconciliation sees A's 10,000 missing.
        const [b, c] = await v.clock.run(Promise.all(['adv-B', 'adv-C'].map((advisoryId) => engine.execute(snapshot({ advisoryId, symbol: 'EURUSD', positionSize: SIZE, referencePrice: 1.1 })))));
        for (const r of [b!, c!]) expect(positionMismatch(r), r.advisoryId ?? '').toMatchObject({ expected: 3 * SIZE, actual: 2 * SIZE });
        engine.resolve(order[0], { operator: 'carol', note: 'A was stopped out' });
        engine.resolve(order[1], { operator: 'carol', note: 'the same stop-out' });
        const adopted = await Promise.all(order.map(async (id) => ((await resolutionOf(engine, id))?.payload as { positionAdjustment?: unknown }).positionAdjustment));
        // Adopted once: by the flag raised when no other execution on the symbol still ran.
        expect(adopted.filter((a) => a !== undefined), order.join(' then ')).toEqual([{ symbol: 'EURUSD', quantity: -SIZE }]);
        const d = await v.execute(engine, 'adv-D');
        expect(d.reconciliation?.status, order.join(' then ')).toBe('matched');
      } finally {
        await engine.close();
      }
    }
  });

  it('the venue moved again between two flags\' reconciliations: the later figure is the one adopted, in either order (never the older one\'s remainder, with the opposite sign)', async () => {
    for (const order of [['adv-B', 'adv-C'], ['adv-C', 'adv-B']] as const) {
      const v = venue();
      const engine = v.engineOn();
      try {
        expect((await v.execute(engine, 'adv-A')).reconciliation?.status).toBe('matched');
        v.broker.venue.setPosition('EURUSD', 0, null); // A's stop fired: 10,000 gone
        let bDone: ExecutionResult | null = null;
        const pb = engine.execute(snapshot({ advisoryId: 'adv-B', symbol: 'EURUSD', positionSize: SIZE, referencePrice: 1.1 })).then((r) => (bDone = r));
        await v.clock.advance(20);
        const pc = engine.execute(snapshot({ advisoryId: 'adv-C', symbol: 'EURUSD', positionSize: SIZE, referencePrice: 1.1 }));
        for (let i = 0; bDone === null && i < 3_000; i++) await v.clock.step();
        expect(bDone).not.toBeNull();
        // Between B's reconciliation and C's, 5,000 more closed by hand.
        v.broker.venue.setPosition('EURUSD', v.broker.venue.position('EURUSD').quantity - 5_000, null);
        const c = await v.clock.run(pc);
        const b = await pb;
        expect((positionMismatch(b)?.actual as number) - (positionMismatch(b)?.expected as number)).toBe(-SIZE);
        expect((positionMismatch(c)?.actual as number) - (positionMismatch(c)?.expected as number)).toBe(-15_000);
        engine.resolve(order[0], { operator: 'carol', note: 'stop-out' });
        engine.resolve(order[1], { operator: 'carol', note: 'and a hand close' });
        const d = await v.execute(engine, 'adv-D');
        expect(d.reconciliation?.status, order.join(' then ')).toBe('matched');
      } finally {
        await engine.close();
      }
    }
  });

  it('a resolution of a flag with no position difference adjusts nothing', async () => {
    const v = venue();
    const engine = v.engineOn();
    try {
      const first = await v.execute(engine, 'adv-G1', 'GBPUSD'); // protection refused: flagged, the position agrees
      expect(first.requiresManualResolution).toBe(true);
      expect(positionMismatch(first)).toBeUndefined();
      engine.resolve('adv-G1', { operator: 'carol', note: 'protected by hand' });
      expect((await resolutionOf(engine, 'adv-G1'))?.payload).not.toHaveProperty('positionAdjustment');
      expect(engine.limits.usage('GBPUSD').position.net).toBe(SIZE);
      const second = await v.execute(engine, 'adv-G2', 'GBPUSD');
      expect(positionMismatch(second)).toBeUndefined(); // flagged again for its protection, never for its position
    } finally {
      await engine.close();
    }
  });
});

describe('rule 6: the adopted figure survives a restart over a SqliteJournal', () => {
  /** After a restart: maxPosition 25,000 admits C (the venue holds 10,000), C matches, D (30,000) is refused. */
  async function afterRestart(v: ReturnType<typeof venue>, path: string, checkpointEvery?: number) {
    const engine = v.engineOn({ journal: new SqliteJournal(path, v.clock, checkpointEvery === undefined ? {} : { checkpointEvery }), limits: { symbols: { EURUSD: { maxPosition: 25_000 } } } });
    try {
      expect(engine.awaitingResolution()).toEqual([]);
      expect(engine.limits.usage('EURUSD').position.net).toBe(SIZE);
      const c = await v.execute(engine, 'adv-C');
      expect(c.error).toBeNull();
      expect(c.status).toBe('filled');
      expect(c.reconciliation?.status).toBe('matched');
      const d = await v.execute(engine, 'adv-D');
      expect(d.error?.code).toBe('limit_position');
      expect(await engine.journal.verify()).toMatchObject({ ok: true });
    } finally {
      await engine.close();
    }
  }

  it('a full replay (no checkpoint) gives the same book', async () => {
    const v = venue();
    const path = journalPath();
    const first = v.engineOn({ journal: new SqliteJournal(path, v.clock) });
    await stopOutThenFlag(v, first);
    first.resolve('adv-B', { operator: 'carol', note: 'A was stopped out at the venue' });
    await first.close();
    expect((await new SqliteJournal(path, v.clock, { readOnly: true }).records()).some((r) => r.kind === 'checkpoint')).toBe(false);
    await afterRestart(v, path);
  });

  it('from a checkpoint written after the resolution: its ledger holds the adjustment', async () => {
    const v = venue();
    const path = journalPath();
    const first = v.engineOn({ journal: new SqliteJournal(path, v.clock, { checkpointEvery: 1 }) });
    await stopOutThenFlag(v, first);
    first.resolve('adv-B', { operator: 'carol', note: 'A was stopped out at the venue' });
    await first.close();
    const records = await new SqliteJournal(path, v.clock, { readOnly: true }).records();
    const resolution = records.find((r) => r.kind === 'resolution')!;
    const last = records.filter((r) => r.kind === 'checkpoint').at(-1)!;
    expect(last.sequence).toBeGreaterThan(resolution.sequence);
    expect(readCheckpoint(last)?.state.ledger).toEqual([['EURUSD', SIZE]]);
    await afterRestart(v, path, 1);
  });

  it('from a checkpoint that lists B still flagged, resolved after a restart (a restored flag), then restarted again', async () => {
    const v = venue();
    const path = journalPath();
    const first = v.engineOn({ journal: new SqliteJournal(path, v.clock, { checkpointEvery: 1 }) });
    await stopOutThenFlag(v, first);
    await first.close();
    const second = v.engineOn({ journal: new SqliteJournal(path, v.clock, { checkpointEvery: 1_000_000 }) });
    expect(second.awaitingResolution().map((r) => r.advisoryId)).toEqual(['adv-B']);
    second.resolve('adv-B', { operator: 'carol', note: 'A was stopped out at the venue' });
    expect((await resolutionOf(second, 'adv-B'))?.payload).toMatchObject({ positionAdjustment: { symbol: 'EURUSD', quantity: -SIZE } });
    expect(second.limits.usage('EURUSD').position.net).toBe(SIZE);
    await second.close();
    const records = await new SqliteJournal(path, v.clock, { readOnly: true }).records();
    const last = records.filter((r) => r.kind === 'checkpoint').at(-1)!;
    expect(last.sequence).toBeLessThan(records.find((r) => r.kind === 'resolution')!.sequence);
    expect(readCheckpoint(last)?.state.flagged.map((f) => f.executionId)).toHaveLength(1);
    await afterRestart(v, path, 1_000_000);
  });
});

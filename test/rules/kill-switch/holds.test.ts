/**
 * Holds, not one switch: every reason to halt is a hold lifted only by what raised it. The matrix
 * raises each kind of hold through its real cause on an engine of a (simulated) fleet, applies each
 * lifting action, and asserts what the next advisory on the symbol gets: filled when the hold is
 * gone, `rejected / kill_switch_active` (nothing sent) while it stands.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, JournalError, JournalKind, MemoryJournal, type Engine, type ExecutionResult, type FleetKillSwitchStore, type FleetSwitch, type Journal, type KillSwitchSetOptions, type KillSwitchState } from '../../../src/index.js';
import { ScriptedBroker, VirtualClock } from '../../../src/testing/index.js';
import { silentLogger, snapshot, T0 } from '../../support/fixtures.js';

/**
 * A store shared with other engines, in memory: the journal, the fleet's kill switch (a watch whose
 * confirmation the test controls) and the fleet's open flags, as PostgresStore offers them.
 */
function fleetStore(clock: VirtualClock) {
  const inner = new MemoryJournal(clock);
  let failure: Error | null = null;
  let stale = false;
  let switches: FleetSwitch[] = [];
  let changeId = 0;
  const listeners = new Set<(s: readonly FleetSwitch[]) => void>();
  const write = (request: { readonly state: KillSwitchState } & KillSwitchSetOptions) => {
    const symbol = request.symbol ?? null;
    const type = request.type ?? (symbol === null ? 'global' : 'symbol_level');
    const flagRow = type === 'reconciliation';
    switches = [...switches.filter((s) => s.symbol !== symbol || (s.type === 'reconciliation') !== flagRow), { symbol, state: request.state, type, changeId: ++changeId }];
    for (const l of [...listeners]) l(switches);
    return { id: changeId };
  };
  const open = () => {
    const records = inner.readAll();
    const resolved = new Set(records.filter((r) => r.kind === JournalKind.Resolution).map((r) => r.executionId));
    const symbols = new Map(records.filter((r) => r.kind === JournalKind.Claim).map((r) => [r.executionId, (r.payload as { snapshot: { symbol: string } }).snapshot.symbol]));
    return records
      .filter((r) => r.kind === JournalKind.Result && (r.payload as ExecutionResult).requiresManualResolution && !resolved.has(r.executionId))
      .map((r) => ({ result: r.payload as ExecutionResult, symbol: symbols.get(r.executionId)! }));
  };
  /** One engine's view of the store; a restart opens a new one over the same records. */
  const open_ = (own?: { failure: Error | null }): Journal & FleetKillSwitchStore => ({
    append: (entry) => {
      if (failure) throw failure;
      if (own?.failure) throw own.failure;
      return inner.append(entry);
    },
    readAll: () => inner.readAll(),
    records: (f) => inner.records(f),
    verify: () => inner.verify(),
    close: async () => undefined,
    setKillSwitch: async (request) => write(request),
    openFlags: async () => open(),
    watchKillSwitches: (onChange) => {
      listeners.add(onChange);
      return { ready: Promise.resolve(), stale: () => stale, staleReason: () => (stale ? 'no confirmation from the store (test)' : null), switches: () => switches, stop: async () => void listeners.delete(onChange) };
    },
  });
  return {
    open: open_,
    /** Another engine (or the CLI) changes the fleet's operators' switch. */
    hear: (request: { readonly state: KillSwitchState } & KillSwitchSetOptions) => write(request),
    fail: (e: Error) => void (failure = e),
    heal: () => void (failure = null),
    setStale: (s: boolean) => void (stale = s),
  };
}

type Kind = 'operator_global' | 'operator_symbol' | 'reconciliation' | 'journal' | 'fenced' | 'fleet_unconfirmed' | 'shutdown';
type Action = 'off_global' | 'off_symbol' | 'fleet_off' | 'fleet_reconfirmed' | 'resolve' | 'restart';

/** What lifts what: the only action that lifts each kind of hold. */
const LIFTED: Record<Kind, readonly Action[]> = {
  operator_global: ['off_global', 'fleet_off'],
  operator_symbol: ['off_symbol', 'fleet_off'],
  reconciliation: ['resolve'],
  journal: ['restart'],
  fenced: ['restart'],
  // A restart while the store still cannot confirm fails closed again.
  fleet_unconfirmed: ['fleet_reconfirmed'],
  shutdown: ['restart'],
};

const ops = { reason: 'matrix', operator: 'ops' };
const SYMBOL = 'EURUSD';

async function scene(kind: Kind) {
  const clock = new VirtualClock(T0);
  const broker = new ScriptedBroker({ clock, latencyMs: 10, push: true });
  broker.onAccepted((o) => clock.setTimeout(() => broker.fill(o.clientOrderId, o.quantity, 1.1), 50));
  const fleet = fleetStore(clock);
  const start = () => createEngine({ broker, clock, journal: fleet.open(), logger: silentLogger() });
  let engine: Engine = start();
  await clock.run(engine.ready);
  let n = 0;
  const next = () => clock.run(engine.execute(snapshot({ advisoryId: `adv-${kind}-${++n}`, symbol: SYMBOL })));

  /**
   * The venue answers for another symbol, once: reconciliation flags the execution (rule 6). (Not a
   * one-off wrong quantity on this symbol: resolving that would adopt the wrong figure into the
   * book, and the next execution's flag would halt the symbol in every row of the matrix.)
   */
  const mismatch = () => broker.script.position.push({ kind: 'report', report: { symbol: 'USDCHF', quantity: 123_456, averagePrice: 1.1, stopLoss: null, takeProfit: null } });
  // A flag on the symbol, raised first, so that `resolve` has one to resolve in every row.
  mismatch();
  const first = await next();
  expect(first.requiresManualResolution).toBe(true);
  engine.resolve(first.advisoryId!, { operator: 'ops', note: 'checked' });
  await clock.advance(300);
  expect((await next()).status).toBe('filled'); // nothing halts the symbol before the scene
  // The flag of the resolve column (in the reconciliation row, the row's hold itself).
  mismatch();
  const flagged = await next();
  expect(flagged.requiresManualResolution).toBe(true);
  const flagToResolve = flagged.advisoryId!;

  switch (kind) {
    case 'operator_global':
      engine.killSwitch.set('warning', ops);
      break;
    case 'operator_symbol':
      engine.killSwitch.set('warning', { ...ops, symbol: SYMBOL });
      break;
    case 'reconciliation':
      break;
    case 'journal':
    case 'fenced':
      fleet.fail(kind === 'fenced' ? new JournalError('fenced', 'another engine took over: this writer is fenced') : new Error('SQLITE_FULL: database or disk is full'));
      // Any record: the journal fails on it, and the operator is told the change was not recorded.
      expect(() => engine.killSwitch.set('warning', { ...ops, symbol: 'GBPUSD' })).toThrow(JournalError);
      break;
    case 'fleet_unconfirmed':
      fleet.setStale(true);
      await clock.advance(300);
      break;
    case 'shutdown':
      await clock.run(engine.shutdown({ reason: 'SIGTERM' }));
      break;
  }
  await clock.advance(300);
  const halted = await next();
  expect(halted.status, `${kind} must halt ${SYMBOL}`).toBe('rejected');
  expect(halted.error?.code).toBe('kill_switch_active');
  expect(engine.killSwitch.holds(SYMBOL).map((h) => h.kind)).toContain(kind.startsWith('operator') ? 'operator' : kind);

  /** An operator's action on an engine whose journal failed is refused (nothing it could not record changes). */
  const operator = (change: () => unknown) => {
    try {
      change();
    } catch (e) {
      if (!(e instanceof JournalError) || (kind !== 'journal' && kind !== 'fenced')) throw e;
    }
  };
  const act = async (action: Action) => {
    switch (action) {
      case 'off_global':
        operator(() => engine.killSwitch.set('off', ops));
        break;
      case 'off_symbol':
        operator(() => engine.killSwitch.set('off', { ...ops, symbol: SYMBOL }));
        break;
      case 'fleet_off':
        fleet.hear({ state: 'off', ...ops });
        fleet.hear({ state: 'off', symbol: SYMBOL, ...ops });
        break;
      case 'fleet_reconfirmed':
        fleet.setStale(true);
        await clock.advance(300);
        fleet.setStale(false);
        break;
      case 'resolve':
        operator(() => engine.resolve(flagToResolve, { operator: 'ops', note: 'checked at the venue' }));
        break;
      case 'restart':
        await clock.run(engine.close());
        fleet.heal();
        engine = start();
        await clock.run(engine.ready);
        break;
    }
    await clock.advance(300);
  };
  return { engine: () => engine, next, act, flagToResolve, operator };
}

const ACTIONS: readonly Action[] = ['off_global', 'off_symbol', 'fleet_off', 'fleet_reconfirmed', 'resolve', 'restart'];
const KINDS: readonly Kind[] = ['operator_global', 'operator_symbol', 'reconciliation', 'journal', 'fenced', 'fleet_unconfirmed', 'shutdown'];

describe('every hold is lifted only by what raised it (kind × lifting action)', () => {
  for (const kind of KINDS) {
    for (const action of ACTIONS) {
      const lifts = LIFTED[kind].includes(action);
      it(`${kind} × ${action}: ${lifts ? 'lifted, the next advisory fills' : 'held, the next advisory is refused'}`, async () => {
        const s = await scene(kind);
        await s.act(action);
        // The flag of the resolve column is resolved after the row's action too, so that only the row's hold can stand.
        if (action !== 'resolve' && kind !== 'reconciliation' && s.engine().awaitingResolution().some((r) => r.advisoryId === s.flagToResolve)) {
          s.operator(() => s.engine().resolve(s.flagToResolve, { operator: 'ops', note: 'checked' }));
        }
        const result = await s.next();
        if (lifts) {
          expect(result.status, JSON.stringify(s.engine().killSwitch.holds(SYMBOL))).toBe('filled');
        } else {
          expect(result.status).toBe('rejected');
          expect(result.error?.code).toBe('kill_switch_active');
          expect(result.attempts).toHaveLength(0); // nothing sent
        }
      });
    }
  }
});

describe("an operator's off says what still holds", () => {
  it('off on a flagged symbol succeeds for the operator, lists the flag and how it is lifted; the flag still halts', async () => {
    const s = await scene('reconciliation');
    s.engine().killSwitch.set('active', { ...ops, symbol: SYMBOL, reason: 'news' });
    const change = s.engine().killSwitch.set('off', { ...ops, symbol: SYMBOL, reason: 'news passed' });
    expect(change.to).toBe('warning');
    expect(change.remaining?.map((h) => [h.kind, h.key])).toEqual([['reconciliation', s.flagToResolve]]);
    expect(change.remaining?.[0]?.liftedBy).toMatch(/resolv/);
    expect((await s.next()).status).toBe('rejected');
  });

  it('after a restart, open flags hold their symbols whatever the last operator change said', async () => {
    const s = await scene('reconciliation');
    s.engine().killSwitch.set('off', { ...ops, symbol: SYMBOL });
    s.engine().killSwitch.set('off', ops);
    await s.act('restart');
    expect(s.engine().killSwitch.state(SYMBOL)).toBe('warning');
    expect(s.engine().killSwitch.holds(SYMBOL).map((h) => h.kind)).toEqual(['reconciliation']);
    expect((await s.next()).status).toBe('rejected');
    s.engine().resolve(s.flagToResolve, { operator: 'ops', note: 'checked' });
    expect((await s.next()).status).toBe('filled');
  });

  it('every raise and lift is journaled with its kind', async () => {
    const s = await scene('operator_symbol');
    await s.act('resolve');
    const holds = (await s.engine().journal.records())
      .filter((r) => r.kind === JournalKind.KillSwitch)
      .map((r) => (r.payload as { hold?: { kind: string; action: string } }).hold)
      .map((h) => `${h?.action} ${h?.kind}`);
    expect(holds).toEqual(['raise reconciliation', 'lift reconciliation', 'raise reconciliation', 'raise operator', 'lift reconciliation']);
  });
});

describe('on a fleet, a reconciliation hold travels only with its flag', () => {
  async function twoEngines() {
    const clock = new VirtualClock(T0);
    const broker = new ScriptedBroker({ clock, latencyMs: 10, push: true });
    broker.onAccepted((o) => clock.setTimeout(() => broker.fill(o.clientOrderId, o.quantity, 1.1), 50));
    const fleet = fleetStore(clock);
    const aJournal = { failure: null as Error | null };
    const a = createEngine({ broker, clock, journal: fleet.open(aJournal), logger: silentLogger() });
    const b = createEngine({ broker, clock, journal: fleet.open(), logger: silentLogger() });
    await clock.run(Promise.all([a.ready, b.ready]));
    const mismatch = () => broker.script.position.push({ kind: 'report', report: { symbol: SYMBOL, quantity: 123_456, averagePrice: 1.1, stopLoss: null, takeProfit: null } });
    let n = 0;
    const on = (engine: Engine) => clock.run(engine.execute(snapshot({ advisoryId: `fleet-${++n}`, symbol: SYMBOL })));
    return { clock, broker, a, b, aJournal, mismatch, on };
  }

  it("a flag raised on one engine holds the symbol on the other; resolved there, it is lifted on both", async () => {
    const f = await twoEngines();
    f.mismatch();
    const flagged = await f.on(f.a);
    expect(flagged.requiresManualResolution).toBe(true);
    await f.clock.advance(300);
    expect(f.b.killSwitch.holds(SYMBOL).map((h) => [h.kind, h.key])).toEqual([['reconciliation', flagged.advisoryId]]);
    expect((await f.on(f.b)).status).toBe('rejected');
    f.b.resolve(flagged.advisoryId!, { operator: 'ops', note: 'checked at the venue' });
    await f.clock.advance(300);
    expect(f.a.killSwitch.holds(SYMBOL)).toEqual([]);
    expect((await f.on(f.a)).status).toBe('filled');
    expect((await f.on(f.b)).status).toBe('filled');
  });

  it('a flag whose result never reached the store halts its own engine only: no fleet halt without a flag to resolve', async () => {
    const f = await twoEngines();
    f.mismatch();
    // Once its order is at the venue, the store refuses this engine's writes (it was fenced): its result never reaches the store.
    f.broker.onAccepted(() => void (f.aJournal.failure = new JournalError('fenced', 'another engine holds this execution now')));
    const flagged = await f.on(f.a);
    expect(flagged.requiresManualResolution).toBe(true);
    await f.clock.advance(300);
    expect(f.a.killSwitch.holds(SYMBOL).map((h) => h.kind).sort()).toEqual(['fenced', 'reconciliation']);
    expect(f.b.killSwitch.holds()).toEqual([]);
    expect(f.b.awaitingResolution()).toEqual([]);
    expect((await f.on(f.b)).status).toBe('filled');
  });

  it("an engine's journal hold never reaches the fleet, and no fleet change lifts it", async () => {
    const f = await twoEngines();
    f.aJournal.failure = new Error('SQLITE_FULL: database or disk is full');
    expect(() => f.a.killSwitch.set('warning', { ...ops, symbol: 'GBPUSD' })).toThrow(JournalError); // applied, not recorded
    await f.clock.advance(300);
    expect(f.a.killSwitch.holds().map((h) => h.kind)).toContain('journal');
    expect(f.b.killSwitch.holds().map((h) => h.kind)).not.toContain('journal');
    f.b.killSwitch.set('active', ops);
    f.b.killSwitch.set('off', ops);
    await f.clock.advance(300);
    const refused = await f.on(f.a);
    expect(refused).toMatchObject({ status: 'rejected', error: { code: 'kill_switch_active' }, attempts: [] });
    expect((await f.on(f.b)).status).toBe('filled');
  });
});

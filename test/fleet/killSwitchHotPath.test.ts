/**
 * The fleet kill switch's hot path on one engine, over a store whose watch the test drives: an
 * operator's change is written for the fleet before it is applied here (so the other engines' part
 * is under way while this engine's cancels go out), an invalid one writes nothing, and the fleet's
 * open flags are read again only when a flag's announcement changed — an operator's setting never
 * changes the flags, so it costs no scan of the results.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, MemoryJournal, type FleetKillSwitchStore, type FleetSwitch, type Journal, type KillSwitchSetOptions, type KillSwitchState } from '../../src/index.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { silentLogger, T0 } from '../support/fixtures.js';

type Request = { readonly state: KillSwitchState } & KillSwitchSetOptions;

function drivenStore(clock: VirtualClock) {
  const inner = new MemoryJournal(clock);
  const listeners = new Set<(s: readonly FleetSwitch[]) => void>();
  let switches: FleetSwitch[] = [];
  let changeId = 0;
  const log = { writes: [] as { request: Request; stateHere: KillSwitchState | null }[], flagReads: 0 };
  /** What the engine's own board says when its change is written (set by the test once the engine exists). */
  let stateHere: () => KillSwitchState | null = () => null;
  const tell = (request: Request) => {
    const symbol = request.symbol ?? null;
    const type = request.type ?? (symbol === null ? 'global' : 'symbol_level');
    const flagRow = type === 'reconciliation';
    switches = [...switches.filter((s) => s.symbol !== symbol || (s.type === 'reconciliation') !== flagRow), { symbol, state: request.state, type, changeId: ++changeId }];
    for (const l of [...listeners]) l(switches);
    return changeId;
  };
  const journal: Journal & FleetKillSwitchStore = {
    append: (entry) => inner.append(entry),
    readAll: () => inner.readAll(),
    records: (f) => inner.records(f),
    verify: () => inner.verify(),
    close: async () => undefined,
    setKillSwitch: async (request) => {
      log.writes.push({ request, stateHere: stateHere() });
      return { id: tell(request) };
    },
    openFlags: async () => {
      log.flagReads++;
      return [];
    },
    watchKillSwitches: (onChange) => {
      listeners.add(onChange);
      return { ready: Promise.resolve(), stale: () => false, staleReason: () => null, switches: () => switches, stop: async () => void listeners.delete(onChange) };
    },
  };
  return { journal, log, tell, watchState: (f: () => KillSwitchState | null) => void (stateHere = f) };
}

async function engineOnFleet() {
  const clock = new VirtualClock(T0);
  const store = drivenStore(clock);
  const engine = createEngine({ broker: new ScriptedBroker({ clock, latencyMs: 10 }), clock, journal: store.journal, logger: silentLogger() });
  await clock.run(engine.ready);
  store.watchState(() => engine.killSwitch.state());
  return { clock, engine, store };
}

describe('fleet kill switch hot path', () => {
  it('writes an operator’s change for the fleet before applying it on this engine; an invalid change writes nothing', async () => {
    const { clock, engine, store } = await engineOnFleet();
    expect(() => engine.killSwitch.set('active', { reason: ' ', operator: 'ops' })).toThrow(/needs a reason/);
    expect(() => engine.killSwitch.set('off', { reason: 'calm' })).toThrow(/needs an operator/);
    expect(store.log.writes).toEqual([]);
    expect(engine.killSwitch.state()).toBe('off');

    const change = engine.killSwitch.set('active', { reason: 'venue outage', operator: 'ops' });
    expect(change.to).toBe('active');
    expect(store.log.writes).toHaveLength(1);
    expect(store.log.writes[0]!.request).toMatchObject({ state: 'active', reason: 'venue outage', operator: 'ops', type: 'global' });
    expect(store.log.writes[0]!.stateHere).toBe('off'); // written first: applied here right after
    expect(engine.killSwitch.state()).toBe('active');
    await clock.run(engine.close());
  });

  it('reads the fleet’s open flags again only when a flag’s announcement changed, never for an operator’s setting', async () => {
    const { clock, engine, store } = await engineOnFleet();
    const atStart = store.log.flagReads;
    expect(atStart).toBeGreaterThan(0); // read once the fleet's state is first known

    store.tell({ state: 'active', reason: 'desk halt', operator: 'ops' });
    store.tell({ state: 'warning', symbol: 'EURUSD', reason: 'news', operator: 'ops' });
    engine.killSwitch.set('off', { reason: 'resume', operator: 'ops' });
    await clock.advance(10);
    expect(engine.killSwitch.state()).toBe('off');
    expect(engine.killSwitch.state('EURUSD')).toBe('warning');
    expect(store.log.flagReads).toBe(atStart);

    store.tell({ state: 'warning', symbol: 'EURUSD', type: 'reconciliation', reason: 'flag raised on advisory adv-9', operator: 'warden' });
    await clock.advance(10);
    expect(store.log.flagReads).toBe(atStart + 1);
    store.tell({ state: 'off', symbol: 'EURUSD', type: 'reconciliation', reason: 'resolved advisory adv-9', operator: 'ana' });
    await clock.advance(10);
    expect(store.log.flagReads).toBe(atStart + 2);
    await clock.run(engine.close());
  });
});

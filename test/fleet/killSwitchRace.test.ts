/**
 * Two engines changing the fleet kill switch of one scope at once, on one real PostgreSQL: every
 * engine ends at the store's latest change of that scope. A change to `active` is announced before
 * its WAL flush while `off` and `warning` are announced once durable, so another engine's change
 * can reach an engine before the answer to its own write; the engine skips it while its own write
 * is unanswered, and must apply it once the answer arrives.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, HoldKind, PaperBroker, type Engine, type KillSwitchState } from '../../src/index.js';
import type { KillSwitchWatch } from '../../src/store/postgres/index.js';
import { useDatabase } from '../store/support/database.js';
import { silentLogger } from '../support/fixtures.js';

const db = useDatabase();

/** Bound on every engine reaching the store's latest change (a notification; the backstop poll is 1 s). */
const CONVERGE_BOUND_MS = 3_000;

/**
 * An engine on a store of its own. Its watch is kept so the test knows what the engine has heard,
 * and its writes are kept so the test can hold their answers (`hold`) and await their commits.
 */
async function engineOn(writer: string) {
  const store = await db.open({ writer });
  let watch: KillSwitchWatch | undefined;
  const start = store.watchKillSwitches.bind(store);
  store.watchKillSwitches = (onChange, options) => (watch = start(onChange, options));
  const writes = { hold: null as Promise<void> | null, committed: Promise.resolve({ id: 0 }) };
  const write = store.setKillSwitch.bind(store);
  store.setKillSwitch = (request) => {
    const sent = write(request);
    writes.committed = sent;
    const held = writes.hold;
    return held ? sent.then(async (stored) => (await held, stored)) : sent;
  };
  const engine = createEngine({ broker: new PaperBroker(), journal: store, logger: silentLogger() });
  await engine.ready;
  return { engine, writes, watch: () => watch! };
}

/** The store's latest operators' change of a scope (flags' announcements are not settings). */
async function latest(symbol: string | null): Promise<{ id: number; state: KillSwitchState }> {
  const rows = await db.query<{ id: string; to_state: KillSwitchState }>(
    `SELECT id, to_state FROM warden_kill_switch_changes WHERE coalesce(symbol, '') = $1 AND type <> 'reconciliation' ORDER BY id DESC LIMIT 1`,
    [symbol ?? ''],
  );
  return { id: Number(rows[0]?.id ?? 0), state: rows[0]?.to_state ?? 'off' };
}

/** An engine's operators' setting of one scope (the global one also holds a symbol: it is not that symbol's setting). */
const setting = (engine: Engine, symbol: string | null): KillSwitchState =>
  engine.killSwitch.holds(symbol ?? undefined).find((h) => h.kind === HoldKind.Operator && h.symbol === symbol)?.state ?? 'off';

/** Waits (bounded) until every engine's setting of `symbol` is the store's latest; returns what each has. */
async function converged(engines: readonly Engine[], symbol: string | null): Promise<{ store: KillSwitchState; engines: KillSwitchState[] }> {
  const until = Date.now() + CONVERGE_BOUND_MS;
  for (;;) {
    const store = (await latest(symbol)).state;
    const seen = engines.map((e) => setting(e, symbol));
    if (seen.every((s) => s === store) || Date.now() > until) return { store, engines: seen };
    await new Promise((r) => setTimeout(r, 20));
  }
}

const on = (symbol: string | null) => ({ ...(symbol === null ? {} : { symbol }), operator: 'ops' });

describe('fleet kill switch changes racing on two engines', () => {
  it.each([
    ['off', 'active'],
    ['active', 'off'],
  ] as const)('a change heard before the answer to this engine\'s own write (%s here, then %s there) is applied once the answer arrives', async (mine, theirs) => {
    const x = await engineOn(`held-${mine}`);
    const y = await engineOn(`other-${mine}`);
    const symbol = `HELD${mine.toUpperCase()}`;
    // x's write is committed, but its answer is held until y's later change has reached x's watch.
    let release: () => void = () => undefined;
    x.writes.hold = new Promise<void>((r) => (release = r));
    x.engine.killSwitch.set(mine === 'off' ? 'warning' : 'off', { ...on(symbol), reason: 'before' });
    await x.writes.committed;
    x.engine.killSwitch.set(mine, { ...on(symbol), reason: 'here' });
    const ours = await x.writes.committed;
    y.engine.killSwitch.set(theirs, { ...on(symbol), reason: 'there' });
    const until = Date.now() + CONVERGE_BOUND_MS;
    let theirId = 0;
    while ((theirId = (await latest(symbol)).id) <= ours.id && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    while (!x.watch().switches().some((s) => s.changeId === theirId) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(setting(x.engine, symbol), 'skipped while its own write is unanswered').toBe(mine);
    release();
    expect(await converged([x.engine, y.engine], symbol)).toEqual({ store: theirs, engines: [theirs, theirs] });
    await x.engine.close();
    await y.engine.close();
  }, 30_000);

  it('many rounds of opposite changes at once, on the global scope and on a symbol: every engine ends at the store\'s latest', async () => {
    const engines = [(await engineOn('race-a')).engine, (await engineOn('race-b')).engine];
    const states = ['off', 'warning', 'active'] as const;
    const diverged: string[] = [];
    for (let round = 0; round < 30; round++) {
      const symbol = round % 2 === 0 ? null : 'EURUSD';
      const mine = states[round % 3]!;
      const theirs = states[(round + 1 + ((round >> 1) % 2)) % 3]!;
      const [x, y] = round % 4 < 2 ? [engines[0]!, engines[1]!] : [engines[1]!, engines[0]!];
      // The same tick: neither engine has heard the other's change when it writes its own.
      x.killSwitch.set(mine, { ...on(symbol), reason: `round ${round} x` });
      y.killSwitch.set(theirs, { ...on(symbol), reason: `round ${round} y` });
      const seen = await converged(engines, symbol);
      if (seen.engines.some((s) => s !== seen.store)) diverged.push(`round ${round} ${symbol ?? 'global'}: ${mine} and ${theirs}; store ${seen.store}, engines ${seen.engines.join(', ')}`);
    }
    expect(diverged).toEqual([]);
    for (const e of engines) await e.close();
  }, 120_000);
});

/**
 * `npm run demo:cluster`: three engine processes on one real PostgreSQL (embedded, started here)
 * and one paper broker service, in three acts, with a timeline printed as it happens:
 *   1. duplicate advisories raced across the engines (each sent to all three): exactly one order each;
 *   2. the fleet kill switch flipped on one engine: every engine's working order is cancelled;
 *   3. an engine SIGKILLed mid-execution: another takes its execution over once its lease expires.
 * Ends with a table of every advisory and what the broker holds. Cleans up on exit and on Ctrl-C.
 */
import { clientOrderIdFor, type ExecutionResult } from '../src/index.js';
import { clusterSnapshot, startCluster, type Cluster } from './cluster/cluster.js';
import { failoverMarkets, failoverTrial } from './cluster/failoverTrial.js';
import type { EngineEvent } from './cluster/protocol.js';

/** Lease length of the demo's engines (ms): a dead engine's work is taken over about this long after its death. */
const LEASE_TTL_MS = 1_500;
const ENGINES = 3;
/** Advisories raced in act 1, each on its own symbol. */
const RACED = 5;
/** Bound on any one wait of the demo (ms). */
const WAIT_MS = 15_000;
const PRICE = 1.1;

const markets = {
  ...Object.fromEntries(Array.from({ length: RACED }, (_, i) => [`RACE${i}`, { price: PRICE, fillAfterMs: 200, slippageBps: 0 }])),
  ...Object.fromEntries(Array.from({ length: ENGINES }, (_, i) => [`HALT${i}`, { price: PRICE, noLiquidity: true }])),
  ...failoverMarkets(2),
};

const started = Date.now();
const stamp = (at: number) => `+${((at - started) / 1000).toFixed(2).padStart(6)} s`;
const say = (text: string) => console.log(`${stamp(Date.now())}  ${''.padEnd(12)}${text}`);
const heading = (text: string) => console.log(`\n── ${text} ${'─'.repeat(Math.max(0, 90 - text.length))}`);
/** Act 1 prints one line per advisory instead of each engine's duplicate refusal. */
let quietDuplicates = false;

function describeResult(r: ExecutionResult): string {
  const fill = r.filledQuantity > 0 ? ` ${r.filledQuantity} @ ${r.fillPrice}${r.protectionPlaced ? `, SL ${r.stopLoss} TP ${r.takeProfit} placed` : ''}` : '';
  return `${r.advisoryId}: ${r.status}${r.error ? ` (${r.error.code})` : ''}${fill}${r.requiresManualResolution ? ' — FLAGGED' : ''}`;
}

function show(e: EngineEvent): void {
  let text: string | null = null;
  switch (e.type) {
    case 'ready':
      text = `up (pid ${e.pid}, writer ${e.writer})`;
      break;
    case 'result':
      if (quietDuplicates && e.result.error?.code === 'duplicate_advisory') return;
      text = `${describeResult(e.result)}${e.takenOverFrom ? ` — taken over from ${e.takenOverFrom}` : ''}`;
      break;
    case 'takeover':
      text = `TAKES OVER ${e.advisoryId} from ${e.from} (its lease expired; now epoch ${e.epoch})`;
      break;
    case 'answer':
      text = `${e.op}: ${e.ok ? e.message : `refused: ${e.message}`}`;
      break;
    case 'log': {
      const change = e.fields.killSwitch as { symbol: string | null; from: string; to: string; reason: string } | undefined;
      if (change) text = `kill switch ${change.symbol ?? 'global'} ${change.from} → ${change.to} (${change.reason})`;
      else if (e.msg.startsWith('execution taken over')) return; // the takeover event says it
      else text = e.msg;
      break;
    }
    case 'closed':
      text = 'closed';
      break;
  }
  console.log(`${stamp(e.at)}  ${e.engine.padEnd(12)}${text}`);
}

const until = async (check: () => boolean, what: string) => {
  const since = Date.now();
  while (!check()) {
    if (Date.now() - since > WAIT_MS) throw new Error(`${what} did not happen within ${WAIT_MS} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
};

let cluster: Cluster | null = null;
let stopping = false;
const cleanUp = async (code: number) => {
  if (stopping) return;
  stopping = true;
  await cluster?.stop().catch(() => undefined);
  process.exit(code);
};
process.once('SIGINT', () => void cleanUp(130));
process.once('SIGTERM', () => void cleanUp(143));

try {
  heading(`starting: embedded PostgreSQL, the paper broker service, ${ENGINES} engine processes (lease ${LEASE_TTL_MS} ms)`);
  cluster = await startCluster({ engines: ENGINES, leaseTtlMs: LEASE_TTL_MS, markets, onEvent: show, dir: '.cache/postgres-demo' });
  const c = cluster;
  say(`PostgreSQL ${c.db.url.replace(/^postgres:\/\/[^@]*@/, '')}, paper broker ${c.paper.url}`);
  const observer = await c.observer();
  const results = (advisoryId: string) => c.events.filter((e): e is Extract<EngineEvent, { type: 'result' }> => e.type === 'result' && e.result.advisoryId === advisoryId);
  const ordersOf = (symbol: string) => c.paper.broker.venue.snapshot().orders.filter((o) => o.symbol === symbol);

  heading(`act 1: ${RACED} advisories, each sent to all ${ENGINES} engines at once`);
  quietDuplicates = true;
  const raced = Array.from({ length: RACED }, (_, i) => clusterSnapshot(`race-${started}-${i}`, `RACE${i}`, PRICE));
  for (const s of raced) for (const engine of c.engines) engine.send({ op: 'execute', snapshot: s });
  await until(() => raced.every((s) => results(s.advisoryId).length === ENGINES), 'every engine answering every advisory');
  for (const s of raced) {
    const all = results(s.advisoryId);
    const winner = all.find((e) => e.result.error?.code !== 'duplicate_advisory');
    const refused = all.filter((e) => e !== winner).map((e) => e.engine);
    say(`${s.advisoryId}: ran on ${winner?.engine ?? 'nobody'}; refused as duplicate_advisory by ${refused.join(', ')}; orders at the broker: ${ordersOf(s.symbol).length}`);
  }
  quietDuplicates = false;

  heading('act 2: one working order per engine, then the fleet kill switch flipped on engine-a');
  const halted = c.engines.map((engine, i) => ({ engine, snapshot: clusterSnapshot(`halt-${started}-${i}`, `HALT${i}`, PRICE) }));
  for (const { engine, snapshot } of halted) engine.send({ op: 'execute', snapshot });
  await until(() => halted.every(({ snapshot }) => ordersOf(snapshot.symbol).length === 1), 'the three orders working');
  say(`working at the broker: ${halted.map(({ engine, snapshot }) => `${snapshot.symbol} (${engine.name})`).join(', ')}`);
  const flippedAt = performance.now();
  c.engines[0]!.send({ op: 'killSwitch', state: 'active', reason: 'demo: stop the fleet', operator: 'ops' });
  const cancelledAfter = new Map<string, number>();
  await until(() => {
    for (const { snapshot } of halted) if (!cancelledAfter.has(snapshot.symbol) && ordersOf(snapshot.symbol)[0]?.status === 'cancelled') cancelledAfter.set(snapshot.symbol, performance.now() - flippedAt);
    return cancelledAfter.size === halted.length;
  }, 'every working order cancelled');
  say(`cancelled at the broker after ${halted.map(({ engine, snapshot }) => `${engine.name} ${cancelledAfter.get(snapshot.symbol)!.toFixed(0)} ms`).join(', ')}`);
  await until(() => halted.every(({ snapshot }) => results(snapshot.advisoryId).length === 1), 'the three results');
  const offFrom = c.events.length;
  c.engines[0]!.send({ op: 'killSwitch', state: 'off', reason: 'demo: all clear', operator: 'ops' });
  const heardOff = (engine: string) => c.events.slice(offFrom).some((e) => e.type === 'log' && e.engine === engine && (e.fields.killSwitch as { to?: string; symbol?: string | null } | undefined)?.to === 'off');
  await until(() => c.engines.every((e) => heardOff(e.name)), 'every engine hearing the switch off');

  heading('act 3: engine-b SIGKILLed while its order works at the broker');
  const trial = failoverTrial(c, observer, 1, 'working', String(started));
  await until(() => ordersOf('F1').length === 1, 'the order at the broker');
  say(`order ${ordersOf('F1')[0]!.clientOrderId} works at the broker; SIGKILL engine-b`);
  const outcome = await trial;
  say(`${outcome.survivor} took over ${outcome.takeoverMs} ms after the kill and finished ${outcome.status} ${outcome.finishMs} ms after it; a late write of engine-b: ${outcome.fencedRefusals} refused`);
  if (outcome.problems.length > 0) say(`PROBLEMS: ${outcome.problems.join('; ')}`);

  heading('what the broker and the store hold');
  const rows = [...raced, ...halted.map((h) => h.snapshot), outcome.snapshot].map((s) => {
    const own = results(s.advisoryId).find((e) => e.result.error?.code !== 'duplicate_advisory');
    const orders = c.paper.broker.venue.snapshot().orders.filter((o) => o.clientOrderId === clientOrderIdFor(s));
    return {
      advisory: s.advisoryId.replace(`-${started}`, ''),
      'ran on': own?.engine ?? '-',
      'taken over from': own?.takenOverFrom ?? '',
      'orders at broker': orders.length,
      'broker status': orders[0]?.status ?? '-',
      status: own?.result.status ?? '-',
      filled: own?.result.filledQuantity ?? 0,
      protected: own?.result.protectionPlaced ?? false,
      flagged: own?.result.requiresManualResolution ?? false,
    };
  });
  console.table(rows);
  const check = await observer.verify();
  console.log(`journal: ${check.records} records from ${check.writers} writers, verify ${check.ok ? 'ok' : `BROKEN at ${check.brokenAt}`}; ${rows.filter((r) => r['orders at broker'] > 1).length} advisories with more than one order; ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
  await cleanUp(check.ok && outcome.problems.length === 0 ? 0 : 1);
} catch (e) {
  console.error(`demo:cluster failed: ${(e as Error).message}`);
  await cleanUp(1);
}

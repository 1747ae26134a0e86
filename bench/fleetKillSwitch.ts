/**
 * `npm run bench:fleet`: the fleet kill switch end to end. Three engine processes on a real
 * embedded PostgreSQL and one paper broker service (the cluster harness of `npm run demo:cluster`);
 * in each round every engine has working orders, one engine sets the switch `active`, and the
 * latency is measured from that command to each order's cancel request arriving at the venue —
 * on the engine that set it and on the engines that heard it through PostgreSQL. Figures are
 * printed (and quoted in docs/scale-out.md); nothing is asserted. Target: p99 ≤ 100 ms.
 */
import { clusterSnapshot, startCluster } from '../scripts/cluster/cluster.js';
import { machine } from './util.js';

const ENGINES = 3;
const ORDERS_PER_ENGINE = 10;
const ROUNDS = Number(process.argv[2] ?? 11);
/** Bound on any one wait of the bench. */
const WAIT_MS = 30_000;

const pct = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const summary = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `p50 ${pct(s, 50).toFixed(1)} ms, p99 ${pct(s, 99).toFixed(1)} ms, max ${s.at(-1)!.toFixed(1)} ms (${s.length} orders)`;
};

console.log(`npm run bench:fleet on ${machine()}: ${ENGINES} engine processes, ${ORDERS_PER_ENGINE} working orders each, ${ROUNDS} rounds`);
const cluster = await startCluster({ engines: ENGINES, leaseTtlMs: 10_000, dir: '.cache/postgres-bench-fleet', markets: { GBPUSD: { price: 1.27, noLiquidity: true } } });
const cancelled = new Map<string, number>();
const broker = cluster.paper.broker;
const cancel = broker.cancelOrder.bind(broker);
broker.cancelOrder = (ref) => {
  if (!cancelled.has(ref.clientOrderId)) cancelled.set(ref.clientOrderId, performance.now());
  return cancel(ref);
};
const local: number[] = [];
const heard: number[] = [];
/** The first round runs code no engine has run yet (V8 compiles it then): reported apart, as the cold start. */
const cold: number[] = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    const owner = new Map<string, number>(); // clientOrderId → engine index
    let from = cluster.events.length;
    for (const [i, e] of cluster.engines.entries()) {
      for (let k = 0; k < ORDERS_PER_ENGINE; k++) {
        const s = clusterSnapshot(`fleet-${round}-${i}-${k}`, 'GBPUSD', 1.27);
        owner.set(`wd-${s.hash.slice(0, 24)}`, i);
        e.send({ op: 'execute', snapshot: s });
      }
    }
    const deadline = Date.now() + WAIT_MS;
    while ([...owner.keys()].some((id) => broker.venue.get(id)?.status !== 'pending')) {
      if (Date.now() > deadline) throw new Error('orders did not reach the venue in time');
      await new Promise((r) => setTimeout(r, 10));
    }
    const setter = round % ENGINES;
    const setAt = performance.now();
    const setWall = Date.now();
    const killFrom = cluster.events.length;
    cluster.engines[setter]!.send({ op: 'killSwitch', state: 'active', reason: `bench round ${round}`, operator: 'bench' });
    let settled = 0;
    await cluster.waitFor((e) => (e.type === 'result' && ++settled >= owner.size ? true : undefined), WAIT_MS, from);
    for (const [id, i] of owner) (round === 0 ? cold : i === setter ? local : heard).push(cancelled.get(id)! - setAt);
    // Where the time goes: when each engine applied the change (its own log line), against the command.
    const applied = cluster.engines.map((e) => cluster.events.slice(killFrom).find((x) => x.type === 'log' && x.engine === e.name && /kill switch changed/.test(x.msg))?.at);
    const appliedText = applied.map((at, i) => `${i === setter ? 'setter' : `engine ${i + 1}`} ${at === undefined ? '?' : at - setWall} ms`).join(', ');
    from = cluster.events.length;
    cluster.engines[setter]!.send({ op: 'killSwitch', state: 'off', reason: `bench round ${round} over`, operator: 'bench' });
    await cluster.waitFor((e) => (e.type === 'answer' && e.op === 'killSwitch' ? true : undefined), WAIT_MS, from);
    await new Promise((r) => setTimeout(r, 200)); // every engine hears `off` before the next round's orders
    if (round === 0) console.log(`  round 1 (cold: the engines run this path for the first time): ${summary(cold)}`);
    else console.log(`  round ${round + 1}/${ROUNDS}: set on engine ${setter + 1}; its own orders ${summary(local.slice(-ORDERS_PER_ENGINE))}; the others' ${summary(heard.slice(-ORDERS_PER_ENGINE * (ENGINES - 1)))}; applied: ${appliedText}`);
  }
  console.log(`\nkill switch set on one engine → cancel requested at the venue (rounds 2–${ROUNDS}):`);
  console.log(`  that engine's own orders:       ${summary(local)}`);
  console.log(`  the other engines' orders:      ${summary(heard)}  (target p99 ≤ 100 ms)`);
  console.log(`  all:                            ${summary([...local, ...heard])}`);
  console.log(`  the cold first round:           ${summary(cold)}`);
} finally {
  await cluster.stop();
}

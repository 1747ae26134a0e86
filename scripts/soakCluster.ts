/**
 * `npm run soak:cluster -- [--trials N]`: the SIGKILL-takeover trial many times on one cluster (a
 * real embedded PostgreSQL, the paper broker service, three engine processes; each killed engine is
 * replaced by a fresh one). Prints totals — duplicate orders, lost records, unprotected unflagged
 * fills, all of which must be 0 — and how long takeovers took.
 */
import { startCluster } from './cluster/cluster.js';
import { failoverMarkets, failoverTrial, KILL_POINTS } from './cluster/failoverTrial.js';

/** Trials when no --trials is given. */
const DEFAULT_TRIALS = 30;
/** Lease length of the soak's engines (ms): a takeover comes within about one lease of a death. */
const LEASE_TTL_MS = 1_000;
const ENGINES = 3;

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const trials = Number(arg('--trials') ?? DEFAULT_TRIALS);
if (!Number.isInteger(trials) || trials <= 0) {
  console.error('usage: npm run soak:cluster -- [--trials N]   (N a positive whole number; default 30)');
  process.exit(2);
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

console.log(`soak:cluster: ${trials} SIGKILL-takeover trials, ${ENGINES} engine processes, lease ${LEASE_TTL_MS} ms, real PostgreSQL`);
const started = performance.now();
const cluster = await startCluster({ engines: ENGINES, leaseTtlMs: LEASE_TTL_MS, markets: failoverMarkets(trials), dir: '.cache/postgres-soak' });
const stop = async (code: number) => {
  await cluster.stop();
  process.exit(code);
};
process.once('SIGINT', () => void stop(130));
process.once('SIGTERM', () => void stop(143));

const observer = await cluster.observer();
const runId = Date.now().toString(36);
let duplicates = 0;
let lost = 0;
let unprotected = 0;
let fenced = 0;
let failed = 0;
let finishedBeforeKill = 0;
const takeovers: number[] = [];
const finishes: number[] = [];
const statuses = new Map<string, number>();
for (let t = 0; t < trials; t++) {
  const killPoint = KILL_POINTS[t % KILL_POINTS.length]!;
  const outcome = await failoverTrial(cluster, observer, t, killPoint, runId).catch((e: unknown) => ({ problems: [`trial failed: ${(e as Error).message}`] }));
  if (!('killPoint' in outcome)) {
    failed++;
    console.error(`trial ${t} (${killPoint}): ${outcome.problems.join('; ')}`);
    continue;
  }
  duplicates += Math.max(0, outcome.orders - 1);
  if (outcome.resultRecords === 0) lost++;
  if (outcome.unprotectedFill) unprotected++;
  fenced += outcome.fencedRefusals;
  if (outcome.finishedBeforeKill) finishedBeforeKill++;
  if (outcome.takeoverMs !== null) takeovers.push(outcome.takeoverMs);
  if (outcome.finishMs !== null) finishes.push(outcome.finishMs);
  if (outcome.status) statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
  if (outcome.problems.length > 0) {
    failed++;
    console.error(`trial ${t} (${killPoint}, ${outcome.victim} killed): ${outcome.problems.join('; ')}`);
  }
  if ((t + 1) % 10 === 0) console.log(`  ${t + 1}/${trials} trials, ${failed} with problems`);
}
const check = await observer.verify();
if (!check.ok) lost++;
const seconds = (performance.now() - started) / 1000;
const ms = (v: number) => `${Math.round(v)} ms`;
console.log(`
soak:cluster ${failed === 0 && check.ok ? 'passed' : 'FAILED'}: ${trials} trials in ${seconds.toFixed(0)} s
  duplicate orders:                ${duplicates}
  lost records (no result / verify): ${lost}   (journal verify: ${check.ok ? 'ok' : 'BROKEN'}, ${check.records} records, ${check.writers} writers)
  unprotected unflagged fills:     ${unprotected}
  late writes of dead engines refused: ${fenced}
  taken over: ${takeovers.length} (finished before the kill landed: ${finishedBeforeKill})
  SIGKILL → takeover: p50 ${ms(percentile(takeovers, 50))}, p99 ${ms(percentile(takeovers, 99))}, max ${ms(Math.max(...takeovers))}
  SIGKILL → result:   p50 ${ms(percentile(finishes, 50))}, p99 ${ms(percentile(finishes, 99))}, max ${ms(Math.max(...finishes))}
  statuses: ${[...statuses].map(([s, n]) => `${s} ${n}`).join(', ')}`);
await stop(failed === 0 && duplicates + lost + unprotected === 0 ? 0 : 1);

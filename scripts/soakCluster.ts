/**
 * `npm run soak:cluster -- [--trials N] [--race N] [--engines N] [--lease-ms N] [--latency-ms N] [--cpu-load N]`:
 * on one cluster (a real embedded PostgreSQL, the paper broker service, engine processes):
 *
 * 1. the race: every engine is handed the same N advisories at once, under the conditions asked
 *    for — each engine `--latency-ms` away from PostgreSQL each way (a loopback proxy) and
 *    `--cpu-load` busy processes on the machine. Nobody dies, so there must be 0 takeovers of live
 *    executions, 0 duplicate submits or protections, 0 fenced engines and 0 flags;
 * 2. the SIGKILL-takeover trial `--trials` times (each killed engine is replaced by a fresh one):
 *    0 duplicate orders, lost records, unprotected unflagged fills.
 */
import { writeFileSync } from 'node:fs';
import { clusterSnapshot, startCluster } from './cluster/cluster.js';
import { startCpuLoad } from './cluster/cpuLoad.js';
import { failoverMarkets, failoverTrial, KILL_POINTS } from './cluster/failoverTrial.js';

/** Trials when no --trials is given. */
const DEFAULT_TRIALS = 30;
/** Shared advisories of the race when no --race is given. */
const DEFAULT_RACE = 100;
/** Lease length of the soak's engines (ms): a takeover comes within about one lease of a death. */
const DEFAULT_LEASE_TTL_MS = 1_000;
const DEFAULT_ENGINES = 3;
/** Bound on the race's results arriving (ms). */
const RACE_TIMEOUT_MS = 180_000;
/** Busy processes end by themselves after this long, whatever happens to the soak (ms). */
const CPU_LOAD_BOUND_MS = 30 * 60_000;

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const USAGE = 'usage: npm run soak:cluster -- [--trials N] [--race N] [--engines N] [--lease-ms N] [--latency-ms N] [--cpu-load N] [--events FILE]   (whole numbers; defaults 30, 100, 3, 1000 or ten latencies, 0, 0)';
const whole = (name: string, fallback: number, min: number) => {
  const value = Number(arg(name) ?? fallback);
  if (!Number.isInteger(value) || value < min) {
    console.error(`${name} must be a whole number of at least ${min}, got ${String(arg(name))}\n${USAGE}`);
    process.exit(2);
  }
  return value;
};
const trials = whole('--trials', DEFAULT_TRIALS, 0);
const race = whole('--race', DEFAULT_RACE, 0);
const ENGINES = whole('--engines', DEFAULT_ENGINES, 2);
const latencyMs = whole('--latency-ms', 0, 0);
/**
 * Renewals go out one at a time, so one can be confirmed no sooner than a round trip after the
 * last; an engine stops sending 80 % into its lease. Below five round trips a lease leaves less
 * than one round trip of slack for a busy proxy or event loop, and healthy engines self-fence: the
 * default lease is at least that long.
 */
const LEASE_ROUND_TRIPS = 5;
const LEASE_TTL_MS = whole('--lease-ms', Math.max(DEFAULT_LEASE_TTL_MS, LEASE_ROUND_TRIPS * 2 * latencyMs), 300);
const cpuLoad = whole('--cpu-load', 0, 0);

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

console.log(
  `soak:cluster: race of ${race} shared advisories, then ${trials} SIGKILL-takeover trials; ${ENGINES} engine processes, lease ${LEASE_TTL_MS} ms, ` +
    `PostgreSQL ${latencyMs} ms away each way, ${cpuLoad} busy processes`,
);
const started = performance.now();
const raceMarkets = Object.fromEntries(Array.from({ length: race }, (_, i) => [`R${i}`, { price: 1.1, fillAfterMs: 30 + (i % 7) * 40, slippageBps: 0 }]));
const cluster = await startCluster({ engines: ENGINES, leaseTtlMs: LEASE_TTL_MS, markets: { ...failoverMarkets(trials), ...raceMarkets }, dir: '.cache/postgres-soak', latencyMs });
const load = startCpuLoad(cpuLoad, CPU_LOAD_BOUND_MS);
const stop = async (code: number) => {
  load.stop();
  await cluster.stop();
  process.exit(code);
};
process.once('SIGINT', () => void stop(130));
process.once('SIGTERM', () => void stop(143));

const observer = await cluster.observer();
const runId = Date.now().toString(36);

// ---- 1. the race: nobody dies, so nothing may be taken over, sent twice, fenced or flagged
const submits = new Map<string, number>();
/** Protection requests by clientOrderId: each request's quantity and levels (a larger fill amends, with the same id). */
const protectionRequests = new Map<string, string[]>();
{
  const broker = cluster.paper.broker;
  const submit = broker.submitOrder.bind(broker);
  broker.submitOrder = (req) => (submits.set(req.clientOrderId, (submits.get(req.clientOrderId) ?? 0) + 1), submit(req));
  const place = broker.placeProtection.bind(broker);
  broker.placeProtection = (req) => (protectionRequests.set(req.clientOrderId, [...(protectionRequests.get(req.clientOrderId) ?? []), `${req.quantity}@${req.stopLoss}/${req.takeProfit}`]), place(req));
}
const raceFrom = cluster.events.length;
const raceStarted = performance.now();
let raceResults = 0;
const raceSnapshots = Array.from({ length: race }, (_, i) => clusterSnapshot(`race-${runId}-${i}`, `R${i}`, 1.1));
for (const s of raceSnapshots) for (const e of cluster.engines) e.send({ op: 'execute', snapshot: s });
const raceDone =
  race === 0
    ? Promise.resolve(true)
    : cluster.waitFor((e) => (e.type === 'result' && (e.result.advisoryId ?? '').startsWith(`race-${runId}-`) && ++raceResults >= race * ENGINES ? true : undefined), RACE_TIMEOUT_MS, raceFrom).catch(() => false);
const raceComplete = await raceDone;
const raceEvents = cluster.events.slice(raceFrom);
// Every event of the race, one JSON object a line, for a closer look at a failure.
const eventsFile = arg('--events');
if (eventsFile) writeFileSync(eventsFile, raceEvents.map((e) => JSON.stringify(e)).join('\n') + '\n');
const raceSeconds = (performance.now() - raceStarted) / 1000;
const raceRan = raceEvents.filter((e) => e.type === 'result' && (e.result.advisoryId ?? '').startsWith(`race-${runId}-`) && e.result.status !== 'rejected');
const liveTakeovers = raceEvents.filter((e) => e.type === 'takeover').length;
const duplicateSubmits = [...submits.values()].reduce((n, c) => n + c - 1, 0);
// The same request twice is a duplicate; a request for a larger filled quantity is an amendment.
const duplicateProtections = [...protectionRequests.values()].reduce((n, asked) => n + asked.length - new Set(asked).size, 0);
const amendedProtections = [...protectionRequests.values()].reduce((n, asked) => n + new Set(asked).size - 1, 0);
const fencedEngines = new Set(raceEvents.filter((e) => e.type === 'log' && /journal unwritable|lease lost/.test(e.msg)).map((e) => e.engine));
const raceFlags = raceRan.filter((e) => e.type === 'result' && e.result.requiresManualResolution).length;
const raceProblems = liveTakeovers + duplicateSubmits + duplicateProtections + fencedEngines.size + raceFlags + (raceComplete ? 0 : 1) + (race > 0 && raceRan.length !== race ? 1 : 0);
console.log(`
race: ${race} advisories × ${ENGINES} engines in ${raceSeconds.toFixed(1)} s${raceComplete ? '' : ' (INCOMPLETE: not every result arrived)'}
  executed (one engine each):      ${raceRan.length} of ${race}
  takeovers of live executions:    ${liveTakeovers}
  duplicate submits:               ${duplicateSubmits}
  duplicate protection requests:   ${duplicateProtections}${amendedProtections ? ` (and ${amendedProtections} amendments for a larger fill)` : ''}
  fenced engines:                  ${fencedEngines.size}${fencedEngines.size ? ` (${[...fencedEngines].join(', ')})` : ''}
  flags:                           ${raceFlags}
  takeovers, duplicate submits, fenced engines, flags: ${liveTakeovers + duplicateSubmits + fencedEngines.size + raceFlags === 0 ? 'all 0' : 'NOT all 0'}${race > 0 && raceRan.length !== race ? `; ${race - raceRan.length} advisories refused everywhere with nothing sent (see below)` : ''}`);
// Why, in a few words: what the flags and the advisories nobody executed had to say.
const tally = (values: string[]) => [...values.reduce((m, v) => m.set(v, (m.get(v) ?? 0) + 1), new Map<string, number>())].map(([v, n]) => `${n}× ${v}`).join('; ');
const raceResultsOf = raceEvents.flatMap((e) => (e.type === 'result' && (e.result.advisoryId ?? '').startsWith(`race-${runId}-`) ? [e.result] : []));
const clockOf = (ms: number) => new Date(ms).toISOString().slice(11, 23);
const short = (v: unknown, max = 160) => (typeof v === 'string' ? v : JSON.stringify(v) ?? 'undefined').replace(/wd-\w+|[0-9a-f-]{36}/g, '…').slice(0, max);
if (raceFlags > 0) {
  const flagged = raceEvents.flatMap((e) => (e.type === 'result' && e.result.status !== 'rejected' && e.result.requiresManualResolution && (e.result.advisoryId ?? '').startsWith(`race-${runId}-`) ? [e] : []));
  const why = flagged.map((e) => (e.type === 'result' ? (e.result.reconciliation?.mismatches ?? []).map((m) => m.field).join('+') || e.result.error?.code || e.result.status : ''));
  console.log(`  flagged because: ${tally(why)}`);
  // Each flag, with its mismatches (expected → actual) and the execution it is about.
  for (const e of flagged) {
    if (e.type !== 'result') continue;
    const r = e.result;
    const mismatches = (r.reconciliation?.mismatches ?? []).map((m) => `${m.field}: expected ${short(m.expected)}, got ${short(m.actual)} (${short(m.message)})`);
    console.log(`    ${r.advisoryId?.replace(`race-${runId}-`, 'race-')} on ${e.engine}${e.takenOverFrom ? ` (taken over from ${e.takenOverFrom})` : ''}, execution ${r.executionId}, ${r.status}, filled ${r.filledQuantity ?? 0}: ${[...mismatches, ...(r.error ? [`error ${r.error.code}: ${short(r.error.message)}`] : [])].join('; ') || 'no mismatch listed'}`);
  }
}
// Each protection asked for twice alike: by whom, and what the execution ended as.
for (const [clientOrderId, asked] of protectionRequests) {
  if (asked.length === new Set(asked).size) continue;
  const ends = raceEvents.flatMap((e) => (e.type === 'result' && e.result.clientOrderId === clientOrderId ? [`${e.engine}: ${e.result.status}, ${e.result.attempts.length} attempts`] : []));
  const calls = raceEvents.flatMap((e) => (e.type === 'log' && JSON.stringify(e.fields).includes(clientOrderId) ? [`${e.engine} ${clockOf(e.at)} ${e.msg.slice(0, 60)}`] : []));
  console.log(`  protection asked twice for ${clientOrderId}: ${asked.join(', ')}; ${ends.join('; ')}${calls.length ? `; ${calls.join('; ')}` : ''}`);
}
// Each takeover of a live execution: the lease's timeline on the database's clock, as the taker
// and the engine that lost it saw it, and how long that engine's event loop had stalled.
const stallsOf = (engine: string, from: number, to: number) => raceEvents.filter((e) => e.type === 'stall' && e.engine === engine && e.endedAt >= from && e.endedAt - e.ms <= to);
for (const t of raceEvents) {
  if (t.type !== 'takeover') continue;
  const taken = raceEvents.find((e) => e.type === 'log' && e.engine === t.engine && e.fields.executionId === t.executionId && /taken over from/.test(e.msg));
  const lostLog = raceEvents.find((e) => e.type === 'log' && e.engine === t.from && e.fields.executionId === t.executionId && /lease lost|journal unwritable/.test(e.msg));
  const stalls = stallsOf(t.from, t.at - 3 * LEASE_TTL_MS, t.at).map((e) => (e.type === 'stall' ? `${e.ms} ms ending ${clockOf(e.endedAt)}` : ''));
  console.log(
    `  takeover: ${t.advisoryId.replace(`race-${runId}-`, 'race-')} from ${t.from} by ${t.engine} at ${clockOf(t.at)} (epoch ${t.epoch}); the lease had expired at ${String(taken?.type === 'log' ? taken.fields.expiredAt : '?').slice(11, 23)}\n` +
      `    ${t.from}: ${lostLog?.type === 'log' ? short(lostLog.fields.err, 600) : 'no lease-lost report'}\n` +
      `    ${t.from}'s event-loop stalls in the ${(3 * LEASE_TTL_MS) / 1000} s before: ${stalls.join(', ') || 'none over 250 ms'}`,
  );
}
// How long each engine could not run at all: a stall longer than the lease's sending window (80 %)
// self-fences an engine whatever the protocol does.
const stallSummary = cluster.engines.map((engine) => {
  const mine = raceEvents.flatMap((e) => (e.type === 'stall' && e.engine === engine.name ? [e.ms] : []));
  return `${engine.name} ${mine.length} over 250 ms, longest ${mine.length ? Math.max(...mine) : 0} ms, ${mine.filter((ms) => ms >= LEASE_TTL_MS * 0.8).length} over ${LEASE_TTL_MS * 0.8} ms`;
});
console.log(`  event-loop stalls: ${stallSummary.join('; ')}`);
const executed = new Set(raceResultsOf.filter((r) => r.status !== 'rejected').map((r) => r.advisoryId));
const unexecuted = raceResultsOf.filter((r) => !executed.has(r.advisoryId));
if (unexecuted.length > 0) console.log(`  not executed anywhere: ${tally(unexecuted.map((r) => `${r.error?.code}: ${(r.error?.message ?? '').replace(/advisory \S+: /, '').slice(0, 140)}`))}`);
const warnings = raceEvents
  .filter((e) => e.type === 'log' && e.level >= 40)
  .map((e) => {
    if (e.type !== 'log') return '';
    const why = typeof e.fields.error === 'string' ? e.fields.error : typeof e.fields.err === 'string' ? e.fields.err : null;
    return `${e.msg.slice(0, 60)}${why ? ` (${why.replace(/wd-\w+|[0-9a-f-]{36}/g, '…').slice(0, 110)})` : ''}`;
  });
if (warnings.length > 0) console.log(`  engine warnings: ${tally(warnings)}`);
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
const passed = failed === 0 && check.ok && raceProblems === 0;
console.log(`
soak:cluster ${passed ? 'passed' : 'FAILED'}: race and ${trials} trials in ${seconds.toFixed(0)} s
  duplicate orders:                ${duplicates}
  lost records (no result / verify): ${lost}   (journal verify: ${check.ok ? 'ok' : 'BROKEN'}, ${check.records} records, ${check.writers} writers)
  unprotected unflagged fills:     ${unprotected}
  late writes of dead engines refused: ${fenced}
  taken over: ${takeovers.length} (finished before the kill landed: ${finishedBeforeKill})
  SIGKILL → takeover: p50 ${ms(percentile(takeovers, 50))}, p99 ${ms(percentile(takeovers, 99))}, max ${ms(Math.max(...takeovers))}
  SIGKILL → result:   p50 ${ms(percentile(finishes, 50))}, p99 ${ms(percentile(finishes, 99))}, max ${ms(Math.max(...finishes))}
  statuses: ${[...statuses].map(([s, n]) => `${s} ${n}`).join(', ')}`);
await stop(passed && duplicates + lost + unprotected === 0 ? 0 : 1);

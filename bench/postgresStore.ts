/**
 * `npm run bench:postgres`: the PostgreSQL store on a real embedded server — journal group commit
 * with one and with three writers, claims, and the kill switch heard by another instance.
 * Figures are printed (and quoted in docs/scale-out.md); nothing is asserted.
 */
import { performance } from 'node:perf_hooks';
import { JournalKind, type JournalEntry } from '../src/journal/types.js';
import { startEmbeddedPostgres } from '../src/store/postgres/embedded.js';
import { PostgresStore } from '../src/store/postgres/PostgresStore.js';
import { benchSnapshot } from './util.js';

const BATCHES = 20;
const RECORDS_PER_BATCH = 100;
const WRITERS = 3;
const CLAIMS = 1_000;
const KILL_SWITCH_TRIALS = 200;

const entry = (n: number): JournalEntry => ({ kind: JournalKind.Transition, executionId: `exec-${n % 50}`, advisoryId: `adv-${n % 50}`, snapshotHash: null, from: 'a', to: 'b', event: 'NEXT', payload: { n, text: 'x'.repeat(200) } });
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

const t0 = performance.now();
const server = await startEmbeddedPostgres();
console.log(`embedded PostgreSQL: ready in ${(performance.now() - t0).toFixed(0)} ms (data directory ${server.timings.initdbMs.toFixed(0)} ms, start ${server.timings.startMs.toFixed(0)} ms)`);
try {
  const writeRun = async (writers: number) => {
    const stores = await Promise.all(Array.from({ length: writers }, (_, i) => PostgresStore.connect(server.url, { writer: `bench-${writers}-${i}` })));
    const began = performance.now();
    await Promise.all(
      stores.map(async (s) => {
        for (let b = 0; b < BATCHES; b++) {
          for (let r = 0; r < RECORDS_PER_BATCH; r++) s.append(entry(b * RECORDS_PER_BATCH + r));
          await s.flush();
        }
      }),
    );
    const ms = performance.now() - began;
    const check = performance.now();
    const verified = await stores[0]!.verify();
    const verifyMs = performance.now() - check;
    for (const s of stores) await s.close();
    const total = writers * BATCHES * RECORDS_PER_BATCH;
    console.log(`journal, ${writers} writer(s), ${BATCHES} batches of ${RECORDS_PER_BATCH} each: ${total} records in ${ms.toFixed(0)} ms = ${Math.round((total / ms) * 1000)} records/s; ${(ms / (writers * BATCHES)).toFixed(1)} ms per batch; verify of the whole store (${verified.records} records) ${verifyMs.toFixed(0)} ms, ok=${verified.ok}`);
  };
  await writeRun(1);
  await writeRun(WRITERS);

  const store = await PostgresStore.connect(server.url, { writer: 'bench-claims' });
  let began = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async (_, w) => {
      for (let i = w; i < CLAIMS; i += 4) await store.claim({ advisoryId: `bench-${i}`, executionId: `e-${i}`, clientOrderId: `c-${i}`, deadlineAt: Date.parse('2030-01-01T00:00:00.000Z'), snapshot: benchSnapshot(`B${i % 50}`), broker: 'paper' });
    }),
  );
  console.log(`claims: ${CLAIMS} durable claims (4 in flight) in ${(performance.now() - began).toFixed(0)} ms = ${Math.round((CLAIMS / (performance.now() - began)) * 1000)}/s`);

  const listener = await PostgresStore.connect(server.url, { writer: 'bench-listener' });
  const heard = new Map<number, number>();
  const watch = listener.watchKillSwitches((switches) => {
    for (const s of switches) if (!heard.has(s.changeId)) heard.set(s.changeId, performance.now());
  });
  await watch.ready;
  const latencies: number[] = [];
  const commits: number[] = [];
  for (let i = 0; i < KILL_SWITCH_TRIALS; i++) {
    began = performance.now();
    const change = await store.setKillSwitch({ state: i % 2 ? 'off' : 'active', symbol: 'BENCH', reason: `trial ${i}`, operator: 'bench' });
    commits.push(performance.now() - began);
    while (!heard.has(change.id)) await new Promise((r) => setImmediate(r));
    latencies.push(heard.get(change.id)! - began);
  }
  latencies.sort((a, b) => a - b);
  commits.sort((a, b) => a - b);
  console.log(`kill switch, set on one instance → heard by another (${KILL_SWITCH_TRIALS} trials): p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms; of which the durable set (commit) p50 ${pct(commits, 50).toFixed(1)} ms`);
  await watch.stop();
  await listener.close();
  await store.close();
} finally {
  await server.stop();
}

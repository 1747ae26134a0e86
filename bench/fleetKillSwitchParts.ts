/**
 * `npx tsx bench/fleetKillSwitchParts.ts`: two parts of the fleet kill switch's path, each variant
 * against the other in one process and one session (passes alternate), so a loaded machine weighs
 * on both alike.
 *
 * 1. PostgreSQL: set → a listener hears the NOTIFY, with the change committed synchronously (the
 *    NOTIFY after the WAL flush) or announced before the flush (`synchronous_commit = off`, then a
 *    synchronous transaction that flushes, as `killSwitchStore.ts` does for `active`), beside a
 *    writer committing 20-row batches every 5 ms as the engines' journals do.
 * 2. HTTP: ten cancels at once to a local server with `fetch` or with `node:http` on a keep-alive
 *    agent: the time to issue them, until all are answered, and the CPU time it took.
 */
import { Agent, createServer, request } from 'node:http';
import { loadavg } from 'node:os';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/store/postgres/embedded.js';
import { machine } from './util.js';

const PASSES = 2;
const TRIALS = 80;
const hr = () => Number(process.hrtime.bigint()) / 1e6;
const pct = (xs: readonly number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!.toFixed(2);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

console.log(`fleet kill switch parts on ${machine()}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

const db = await startEmbeddedPostgres({ dir: '.cache/postgres-bench-parts' });
const setter = new pg.Client(db.url);
const listener = new pg.Client(db.url);
const journal = new pg.Client(db.url);
try {
  await Promise.all([setter.connect(), listener.connect(), journal.connect()]);
  await setter.query('CREATE TABLE changes (id bigserial PRIMARY KEY, v text)');
  await listener.query('LISTEN changes');
  let heardAt = 0;
  listener.on('notification', () => (heardAt = hr()));
  let writing = true;
  const background = (async () => {
    while (writing) {
      await journal.query(`INSERT INTO changes (v) SELECT 'journal' FROM generate_series(1, 20)`);
      await pause(5);
    }
  })();
  const change = `WITH i AS (INSERT INTO changes (v) VALUES ('x') RETURNING id) SELECT id, pg_notify('changes', id::text) FROM i`;
  const variants = {
    'flush, then NOTIFY': change,
    'NOTIFY, then flush': `BEGIN; SET LOCAL synchronous_commit = off; ${change}; COMMIT; BEGIN; SET LOCAL synchronous_commit = on; SELECT pg_logical_emit_message(true, 'bench', 'durable'); COMMIT;`,
  };
  console.log(`\nset → heard by a listener (${TRIALS} changes a pass), and the setter's durable answer:`);
  for (let pass = 0; pass < PASSES; pass++) {
    for (const [name, sql] of Object.entries(variants)) {
      const heard: number[] = [];
      const answered: number[] = [];
      for (let i = 0; i < TRIALS; i++) {
        heardAt = 0;
        const t0 = hr();
        await setter.query(sql);
        answered.push(hr() - t0);
        while (heardAt === 0) await new Promise((r) => setImmediate(r));
        heard.push(heardAt - t0);
        await pause(3);
      }
      console.log(`  ${name.padEnd(20)} heard p50 ${pct(heard, 50)} ms, p99 ${pct(heard, 99)} ms | answered p50 ${pct(answered, 50)} ms, p99 ${pct(answered, 99)} ms`);
    }
  }
  writing = false;
  await background;
} finally {
  await Promise.all([setter.end(), listener.end(), journal.end()]).catch(() => undefined);
  await db.stop();
}

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"clientOrderId":"x","status":"cancelled"}');
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
const agent = new Agent({ keepAlive: true });
const viaFetch = (i: number) => fetch(`${base}/orders/wd-${i}/cancel`, { method: 'POST', headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(2_000) }).then((r) => r.json());
const viaHttp = (i: number) =>
  new Promise((resolve, reject) => {
    const req = request(`${base}/orders/wd-${i}/cancel`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
    });
    req.setNoDelay(true);
    req.on('error', reject);
    req.end();
  });
console.log(`\nten cancels at once to a local HTTP server (40 bursts a pass):`);
try {
  for (let pass = 0; pass < PASSES; pass++) {
    for (const [name, send] of [['fetch', viaFetch], ['node:http, keep-alive', viaHttp]] as const) {
      const issued: number[] = [];
      const all: number[] = [];
      const cpu: number[] = [];
      for (let burst = 0; burst < 40; burst++) {
        const t0 = hr();
        const c0 = process.cpuUsage();
        const sent = Array.from({ length: 10 }, (_, i) => send(i));
        issued.push(hr() - t0);
        await Promise.all(sent);
        all.push(hr() - t0);
        const c = process.cpuUsage(c0);
        cpu.push((c.user + c.system) / 1_000);
        await pause(20);
      }
      console.log(`  ${name.padEnd(22)} issued p50 ${pct(issued, 50)} ms | all answered p50 ${pct(all, 50)} ms, p99 ${pct(all, 99)} ms | CPU p50 ${pct(cpu, 50)} ms (client and server)`);
    }
  }
} finally {
  agent.destroy();
  await new Promise((r) => server.close(r));
}
console.log(`\nload average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

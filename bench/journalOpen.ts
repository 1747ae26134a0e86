/**
 * 4c. Restarting over a large journal: journals of finished executions (claim, 18 broker records,
 * result) with 10 executions left unfinished among them (claimed and sent, spread through the
 * history) and a few kill switch changes, written by `SqliteJournal` itself (so its checkpoints
 * are the ones a writer makes). In a fresh process: an engine is created over the file (the
 * writer opens and verifies it, restores what a restart needs) until the first unfinished order is
 * looked up at the broker — "ready and resuming". Wall time and resident memory added; a journal
 * without checkpoints (every record verified, as before) is the reference.
 *
 * `npx tsx bench/journalOpen.ts [--quick]` runs this section alone and prints PASS or FAIL.
 */
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SqliteJournal } from '../src/entries/sqlite.js';
import { DEFAULT_CHECKPOINT_EVERY } from '../src/journal/sqliteJournal.js';
import { JournalKind } from '../src/journal/types.js';
import { benchSnapshot, machine, quick, stats, type Stat } from './util.js';

/** The restart target: ready and resuming within this, at a million records. */
export const RESTART_TARGET_MS = 200;
const UNFINISHED = 10;

/** Writes `records` records (about) through a writer, in batches; returns the count and the file size. */
export async function buildJournal(path: string, records: number, checkpointEvery: number): Promise<{ records: number; mib: number }> {
  const journal = new SqliteJournal(path, undefined, { checkpointEvery });
  const executions = Math.ceil(records / 20);
  const unfinishedEvery = Math.floor(executions / UNFINISHED);
  const at = Date.now();
  for (let e = 0; e < executions; e++) {
    const snapshot = benchSnapshot(`S${e % 20}`, e % 2 ? 'sell' : 'buy');
    const ids = { executionId: `e-${e}`, advisoryId: snapshot.advisoryId, snapshotHash: snapshot.hash };
    // The execution's clientOrderId, as the chart derives it from the snapshot (clientOrderIdFor).
    journal.append({ ...ids, kind: JournalKind.Claim, payload: { snapshot, clientOrderId: `wd-${snapshot.hash.slice(0, 24)}`, deadlineAt: at + 30_000, broker: 'bench' } });
    journal.append({ ...ids, kind: JournalKind.BrokerRequest, event: 'submitOrder', payload: { clientOrderId: `wd-${snapshot.hash.slice(0, 24)}`, symbol: snapshot.symbol, side: snapshot.side, quantity: 1, type: 'market' } });
    // Every unfinishedEvery-th execution stops here: its process died after the send.
    if (e % unfinishedEvery === unfinishedEvery - 1 && e < unfinishedEvery * UNFINISHED) continue;
    for (let i = 0; i < 17; i++) journal.append({ ...ids, kind: i % 2 ? JournalKind.BrokerResponse : JournalKind.BrokerRequest, event: 'getOrder', payload: { clientOrderId: `wd-${snapshot.hash.slice(0, 24)}`, status: 'filled', filledQuantity: 1, averageFillPrice: 1.1 } });
    journal.append({ ...ids, kind: JournalKind.Result, to: 'completed', event: 'filled', payload: { executionId: ids.executionId, advisoryId: ids.advisoryId, status: 'filled', filledQuantity: 1, requiresManualResolution: false } });
    if (e % 10_000 === 5_000) journal.append({ kind: JournalKind.KillSwitch, executionId: null, advisoryId: null, snapshotHash: null, event: 'off->warning', payload: { at: new Date(at).toISOString(), symbol: 'S1', from: 'off', to: 'warning', type: 'manual', reason: 'bench', operator: 'bench' } });
    if (e % 500 === 499) await journal.flush();
  }
  await journal.flush();
  await journal.close();
  const db = new Database(path, { readonly: true });
  const last = db.prepare('SELECT MAX(sequence) FROM records').pluck().get() as number;
  db.close();
  return { records: last, mib: statSync(path).size / 1048576 };
}

/** A fresh process: an engine over the journal, until the first unfinished order is looked up. */
const probe = (path: string) => `
  const { SqliteJournal } = await import(${JSON.stringify(new URL('../src/entries/sqlite.ts', import.meta.url).href)});
  const { createEngine } = await import(${JSON.stringify(new URL('../src/index.ts', import.meta.url).href)});
  const { pino } = await import('pino');
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const t = performance.now();
  let resumingAt = 0;
  const first = new Promise((resolve) => {
    // The first call about an unfinished order (a look-up, or a cancel once its window has passed) is the resumption.
    const resuming = () => { if (resumingAt === 0) { resumingAt = performance.now(); resolve(); } return new Promise(() => {}); };
    const broker = {
      name: 'bench',
      submitOrder: () => new Promise(() => {}),
      cancelOrder: resuming,
      getOrder: resuming,
      getPosition: (symbol) => Promise.resolve({ symbol, quantity: 0, averagePrice: null, stopLoss: null, takeProfit: null }),
      placeProtection: () => new Promise(() => {}),
    };
    globalThis.engine = createEngine({ broker, journal: new SqliteJournal(${JSON.stringify(path)}), logger: pino({ level: 'silent' }) });
  });
  await first;
  const ms = resumingAt - t;
  const rss = process.memoryUsage().rss - rss0;
  console.log(JSON.stringify({ ms, rssMiB: rss / 1048576 }));
  process.exit(0);`;

export interface JournalOpenCase {
  readonly label: string;
  readonly records: number;
  readonly mib: number;
  readonly checkpointEvery: number | null;
  readonly ms: Stat;
  readonly rssMiB: Stat;
}

export interface JournalOpenResult {
  readonly cases: readonly JournalOpenCase[];
  readonly runs: number;
  /** The million-record case with checkpoints. */
  readonly million: JournalOpenCase;
  /** Ready and resuming at a million records within RESTART_TARGET_MS, and memory no more than 1.5× that at 100,000. */
  readonly met: boolean;
}

export async function benchJournalOpen(): Promise<JournalOpenResult> {
  mkdirSync('.scratch', { recursive: true });
  const dir = mkdtempSync(join('.scratch', 'open-'));
  const runs = quick ? 3 : 5;
  const cases: JournalOpenCase[] = [];
  try {
    const plan: { label: string; records: number; every: number | null }[] = [
      { label: '100,000 records, no checkpoint (every record verified: the reference)', records: 100_000, every: null },
      { label: `100,000 records, a checkpoint every ${DEFAULT_CHECKPOINT_EVERY.toLocaleString('en')} (the default)`, records: 100_000, every: DEFAULT_CHECKPOINT_EVERY },
      { label: `1,000,000 records, a checkpoint every ${DEFAULT_CHECKPOINT_EVERY.toLocaleString('en')} (the default)`, records: 1_000_000, every: DEFAULT_CHECKPOINT_EVERY },
    ];
    for (const p of plan) {
      const path = join(process.cwd(), dir, `j-${p.records}-${p.every ?? 'none'}.sqlite`);
      const built = await buildJournal(path, p.records, p.every ?? Number.MAX_SAFE_INTEGER);
      const ms: number[] = [];
      const rss: number[] = [];
      for (let i = 0; i < runs; i++) {
        const out = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', probe(path)], { encoding: 'utf8', maxBuffer: 1 << 20 })) as { ms: number; rssMiB: number };
        ms.push(out.ms);
        rss.push(out.rssMiB);
      }
      const c: JournalOpenCase = { label: p.label, records: built.records, mib: built.mib, checkpointEvery: p.every, ms: stats(ms), rssMiB: stats(rss) };
      cases.push(c);
      console.log(`  ${c.label} (${built.records.toLocaleString('en')} records, ${built.mib.toFixed(0)} MiB): ready and resuming in ${c.ms.median.toFixed(0)} ms (${c.ms.min.toFixed(0)}–${c.ms.max.toFixed(0)}), +${c.rssMiB.median.toFixed(0)} MiB`);
      rmSync(path, { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const million = cases[2]!;
  const hundredK = cases[1]!;
  const met = million.ms.median <= RESTART_TARGET_MS && million.rssMiB.median <= Math.max(1.5 * hundredK.rssMiB.median, hundredK.rssMiB.median + 10);
  return { cases, runs, million, met };
}

/** The docs/performance.md section for these figures. */
export function journalOpenSection(r: JournalOpenResult): string {
  const reference = r.cases[0]!;
  const row = (c: JournalOpenCase) =>
    `| ${c.label} | ${c.mib.toFixed(0)} | ${c.ms.median.toFixed(0)} (${c.ms.min.toFixed(0)}–${c.ms.max.toFixed(0)}) | ${(c.ms.median / reference.ms.median).toFixed(2)}× | ${c.rssMiB.median.toFixed(0)} (${c.rssMiB.min.toFixed(0)}–${c.rssMiB.max.toFixed(0)}) |`;
  return `### Restarting over a large journal

Journals of finished executions (20 records each) with ${UNFINISHED} unfinished executions spread through
them, written by \`SqliteJournal\` itself; in a fresh process, an engine created over the file until
the first unfinished order is looked up at the broker (ready and resuming), ${r.runs} runs each
(\`bench/journalOpen.ts\`):

| journal | MiB | ms until ready and resuming | × reference | resident memory added (MiB) |
|---|---|---|---|---|
${r.cases.map(row).join('\n')}

Target: ready and resuming in ≤ ${RESTART_TARGET_MS} ms at 1,000,000 records, with memory independent of
history: **${r.met ? 'met' : 'missed'}** (${r.million.ms.median.toFixed(0)} ms, +${r.million.rssMiB.median.toFixed(0)} MiB).
A writer verifies from the checkpoint before the last (about two intervals of records), checks the
records it lists for a restart, and refuses a last checkpoint that does not follow from it; the
restart reads the last checkpoint, the records it lists and the records after it. What still grows
with history: the advisories ever claimed, read from their index (one short string each), so that
an advisory executes once for the file's whole life.
`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`npx tsx bench/journalOpen.ts${quick ? ' --quick' : ''} on ${machine()}`);
  const r = await benchJournalOpen();
  console.log(`\n${r.met ? 'PASS' : 'FAIL'}  restart over ${r.million.records.toLocaleString('en')} records with ${UNFINISHED} unfinished: ready and resuming ≤ ${RESTART_TARGET_MS} ms (${r.million.ms.median.toFixed(0)} ms), memory independent of history (+${r.million.rssMiB.median.toFixed(0)} MiB against +${r.cases[1]!.rssMiB.median.toFixed(0)} MiB at 100,000)`);
}

/**
 * 4b. Opening a large journal for a restart: 100,000 records (5,000 finished executions of 20
 * records each), opened in a fresh process, once restoring from every record and once from
 * `restartRecords()` (only what a restart needs, through indexes). Wall time and resident memory.
 */
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteJournal } from '../src/entries/sqlite.js';
import { chainRecord, GENESIS_HASH } from '../src/journal/hashChain.js';
import { quick, stats, type Stat } from './util.js';

/** Writes a journal of `executions` × 20 records directly (one transaction): only its reading is measured. */
function buildJournal(path: string, executions: number): number {
  new SqliteJournal(path).close().catch(() => undefined); // creates the schema
  const db = new Database(path);
  const insert = db.prepare(
    `INSERT INTO records (sequence, at, kind, execution_id, advisory_id, snapshot_hash, from_state, to_state, event, payload, previous_hash, hash)
     VALUES (@sequence, @at, @kind, @executionId, @advisoryId, @snapshotHash, @from, @to, @event, @payload, @previousHash, @hash)`,
  );
  let previous = GENESIS_HASH;
  let sequence = 0;
  const at = new Date(0).toISOString();
  db.transaction(() => {
    for (let e = 0; e < executions; e++) {
      const ids = { executionId: `e-${e}`, advisoryId: `a-${e}`, snapshotHash: 'h'.repeat(64) };
      const snapshot = { advisoryId: ids.advisoryId, symbol: 'EURUSD', side: 'buy', positionSize: 1, referencePrice: 1.1, slOffsetPct: -0.01, tpOffsetPct: 0.02, hash: ids.snapshotHash };
      const kinds: [string, unknown][] = [['claim', { snapshot, clientOrderId: `wd-${e}`, deadlineAt: 30_000, broker: 'bench' }]];
      for (let i = 0; i < 18; i++) kinds.push([i % 2 ? 'broker.response' : 'broker.request', { clientOrderId: `wd-${e}`, status: 'filled', filledQuantity: 1, averageFillPrice: 1.1 }]);
      kinds.push(['result', { executionId: ids.executionId, advisoryId: ids.advisoryId, status: 'filled', filledQuantity: 1, requiresManualResolution: false }]);
      for (const [kind, payload] of kinds) {
        const r = chainRecord({ ...ids, kind: kind as never, payload }, ++sequence, at, previous);
        insert.run({ ...r, payload: JSON.stringify(r.payload) });
        previous = r.hash;
      }
    }
  })();
  db.close();
  return sequence;
}

type How = { readonly restore: 'readAll' | 'restartRecords'; readonly readOnly: boolean };
const probe = (path: string, how: How) => `
  const { SqliteJournal } = await import(${JSON.stringify(new URL('../src/entries/sqlite.ts', import.meta.url).href)});
  const { restoreFromJournal } = await import(${JSON.stringify(new URL('../src/engine/restore.ts', import.meta.url).href)});
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const t = performance.now();
  const j = new SqliteJournal(${JSON.stringify(path)}, undefined, { readOnly: ${how.readOnly} });
  const restored = restoreFromJournal(j.${how.restore}());
  const ms = performance.now() - t;
  const rss = process.memoryUsage().rss - rss0;
  console.log(JSON.stringify({ ms, rssMiB: rss / 1048576, claimed: restored.claimedAdvisories.size }));`;

export interface JournalOpenResult {
  readonly records: number;
  /** As before: a writer verifies the whole chain and restores from every record. */
  readonly all: { ms: Stat; rssMiB: Stat };
  /** An engine restarting: the whole chain verified (streaming), restored from restartRecords(). */
  readonly writer: { ms: Stat; rssMiB: Stat };
  /** An operator's read (kill-switch show, flags): no chain walk at open, restartRecords() only. */
  readonly reader: { ms: Stat; rssMiB: Stat };
  readonly runs: number;
}

export function benchJournalOpen(): JournalOpenResult {
  mkdirSync('.scratch', { recursive: true });
  const dir = mkdtempSync(join('.scratch', 'open-'));
  try {
    const path = join(process.cwd(), dir, 'big.sqlite');
    const records = buildJournal(path, quick ? 1_000 : 5_000);
    const runs = quick ? 3 : 5;
    const measure = (how: How) => {
      const ms: number[] = [];
      const rss: number[] = [];
      for (let i = 0; i < runs; i++) {
        const out = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', probe(path, how)], { encoding: 'utf8' })) as { ms: number; rssMiB: number };
        ms.push(out.ms);
        rss.push(out.rssMiB);
      }
      console.log(`  open ${records.toLocaleString('en')} records (${how.readOnly ? 'reader' : 'writer'}), restore from ${how.restore}: ${stats(ms).median.toFixed(0)} ms, +${stats(rss).median.toFixed(0)} MiB`);
      return { ms: stats(ms), rssMiB: stats(rss) };
    };
    return {
      records,
      all: measure({ restore: 'readAll', readOnly: false }),
      writer: measure({ restore: 'restartRecords', readOnly: false }),
      reader: measure({ restore: 'restartRecords', readOnly: true }),
      runs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The docs/performance.md section for these figures. */
export function journalOpenSection(r: JournalOpenResult): string {
  const row = (what: string, m: { ms: Stat; rssMiB: Stat }) =>
    `| ${what} | ${m.ms.median.toFixed(0)} (${m.ms.min.toFixed(0)}–${m.ms.max.toFixed(0)}) | ${m.rssMiB.median.toFixed(0)} (${m.rssMiB.min.toFixed(0)}–${m.rssMiB.max.toFixed(0)}) |`;
  return `### Opening a large journal

A journal of ${r.records.toLocaleString('en')} records (finished executions of 20 records each), opened in a fresh
process and restored, ${r.runs} runs each (\`bench/journalOpen.ts\`):

| how | ms | resident memory added (MiB) |
|---|---|---|
${row('writer, restore from every record (before)', r.all)}
${row('writer (an engine restarting): chain verified streaming, restore from `restartRecords()`', r.writer)}
${row('reader (`kill-switch show`, `flags`): no chain walk, `restartRecords()` only', r.reader)}

A writer still verifies the whole chain before it appends (now in constant memory); restoring reads
only claims, switches, resolutions, results and the records of unfinished executions, through an
index on \`kind\`. A reader does not walk the chain at open: \`verify()\` does, for the commands that
report on it (\`journal verify|show|export\`).
`;
}

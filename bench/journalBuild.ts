/**
 * Builds a large journal for bench/journalOpen.ts once, by direct SQL inserts of valid chained
 * records (the same records, hashes and checkpoints a writer makes, without the writer's
 * per-batch fsync), and caches it under bench/.cache/ (git-ignored): building a million records
 * through the engine's own writer takes minutes, and the file does not change between runs.
 *
 * Each execution: a claim, a submit, 17 look-ups and answers, a result (20 records); 10 of them
 * stop after their submit (their process died); a kill switch change every 10,000 executions; a
 * checkpoint every `checkpointEvery` records, holding what `RestartTracker` says there.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteJournal } from '../src/entries/sqlite.js';
import { RestartTracker, type CheckpointPayload } from '../src/journal/checkpoint.js';
import { chainPlainRecord, chainRecord, GENESIS_HASH } from '../src/journal/hashChain.js';
import { JournalKind, type JournalEntry, type JournalRecord } from '../src/journal/types.js';
import { benchSnapshot } from './util.js';

export const CACHE_DIR = join('bench', '.cache');
/** Bump when the records built change, so an old cached file is not reused. */
const LAYOUT = 2;
export const UNFINISHED = 10;

export interface BuiltJournal {
  readonly path: string;
  readonly records: number;
  readonly mib: number;
  /** Whether it came from the cache (built by an earlier run). */
  readonly cached: boolean;
  readonly buildMs: number;
}

/** The cached journal of about `records` records, built now if it is not there yet. */
export function cachedJournal(records: number, checkpointEvery: number | null): BuiltJournal {
  mkdirSync(CACHE_DIR, { recursive: true });
  const path = join(process.cwd(), CACHE_DIR, `journal-${records}-${checkpointEvery ?? 'none'}-v${LAYOUT}.sqlite`);
  const t = performance.now();
  let cached = true;
  if (!existsSync(path)) {
    cached = false;
    const partial = `${path}.partial`;
    rmSync(partial, { force: true });
    buildJournal(partial, records, checkpointEvery ?? Number.MAX_SAFE_INTEGER);
    renameSync(partial, path);
  }
  const db = new Database(path, { readonly: true });
  const last = db.prepare('SELECT MAX(sequence) FROM records').pluck().get() as number;
  db.close();
  return { path, records: last, mib: statSync(path).size / 1048576, cached, buildMs: performance.now() - t };
}

/** Writes the journal at `path` (a new file): the schema by `SqliteJournal`, the records by SQL. */
export function buildJournal(path: string, records: number, checkpointEvery: number): void {
  void new SqliteJournal(path).close(); // the schema, exactly as a writer creates it
  rmSync(`${path}.lock`, { force: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const insert = db.prepare(
    `INSERT INTO records (sequence, at, kind, execution_id, advisory_id, snapshot_hash, from_state, to_state, event, payload, previous_hash, hash)
     VALUES (@sequence, @at, @kind, @executionId, @advisoryId, @snapshotHash, @from, @to, @event, @payload, @previousHash, @hash)`,
  );
  const insertAdvisory = db.prepare('INSERT INTO advisories (advisory_id, execution_id, sequence) VALUES (?, ?, ?)');
  const tracker = new RestartTracker();
  let last = GENESIS_HASH;
  let sequence = 0;
  let sinceCheckpoint = 0;
  let batch: JournalRecord[] = [];
  const t0 = Date.now() - 86_400_000;
  const write = () => {
    const rows = batch;
    batch = [];
    db.transaction(() => {
      for (const r of rows) {
        if (r.kind === JournalKind.Claim && r.advisoryId) insertAdvisory.run(r.advisoryId, r.executionId ?? '', r.sequence);
        insert.run({ ...r, payload: JSON.stringify(r.payload) });
      }
    })();
  };
  const push = (r: JournalRecord) => {
    batch.push(r);
    last = r.hash;
    if (batch.length >= 20_000) write();
  };
  const append = (entry: JournalEntry) => {
    sequence++;
    // A millisecond a record, so the history spans the day before the build.
    const r = chainRecord(entry, sequence, new Date(t0 + sequence).toISOString(), last);
    push(r);
    tracker.add(r);
    if (++sinceCheckpoint >= checkpointEvery) {
      sequence++;
      const payload: CheckpointPayload = { covers: [sequence - 1, last], state: tracker.state() };
      push(chainPlainRecord({ kind: JournalKind.Checkpoint, executionId: null, advisoryId: null, snapshotHash: null, event: 'checkpoint', payload }, sequence, new Date(t0 + sequence).toISOString(), last));
      sinceCheckpoint = 0;
    }
  };
  const executions = Math.ceil(records / 20);
  const unfinishedEvery = Math.floor(executions / UNFINISHED);
  const deadlineAt = Date.now() + 86_400_000; // unfinished executions still inside their window at the bench
  for (let e = 0; e < executions; e++) {
    const snapshot = benchSnapshot(`S${e % 20}`, e % 2 ? 'sell' : 'buy');
    const ids = { executionId: `e-${e}`, advisoryId: snapshot.advisoryId, snapshotHash: snapshot.hash };
    const clientOrderId = `wd-${snapshot.hash.slice(0, 24)}`;
    append({ ...ids, kind: JournalKind.Claim, payload: { snapshot, clientOrderId, deadlineAt, broker: 'bench' } });
    append({ ...ids, kind: JournalKind.BrokerRequest, event: 'submitOrder', payload: { clientOrderId, symbol: snapshot.symbol, side: snapshot.side, quantity: 1, type: 'market' } });
    if (e % unfinishedEvery === unfinishedEvery - 1 && e < unfinishedEvery * UNFINISHED) continue;
    for (let i = 0; i < 17; i++) append({ ...ids, kind: i % 2 ? JournalKind.BrokerResponse : JournalKind.BrokerRequest, event: 'getOrder', payload: { clientOrderId, status: 'filled', filledQuantity: 1, averageFillPrice: 1.1 } });
    append({ ...ids, kind: JournalKind.Result, to: 'completed', event: 'filled', payload: { executionId: ids.executionId, advisoryId: ids.advisoryId, status: 'filled', filledQuantity: 1, requiresManualResolution: false } });
    if (e % 10_000 === 5_000) append({ kind: JournalKind.KillSwitch, executionId: null, advisoryId: null, snapshotHash: null, event: 'off->warning', payload: { at: new Date(t0).toISOString(), symbol: 'S1', from: 'off', to: 'warning', type: 'manual', reason: 'bench', operator: 'bench' } });
  }
  write();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

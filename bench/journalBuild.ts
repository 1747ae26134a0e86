/**
 * Builds a large journal for bench/journalOpen.ts once and caches it under bench/.cache/
 * (git-ignored): the records, hashes and checkpoints a writer makes for the workload below, written
 * by SQL inserts without the writer's per-batch fsync. A journal of 10,000,000 records (about
 * 4.7 GiB) is built in about 2 minutes of CPU (5 minutes at load 12 on 2 cores); it was 7 to 45
 * minutes record by record.
 *
 * Each execution: a claim, a submit, 17 look-ups and answers, a result (20 records); 10 of them
 * stop after their submit (their process died); a kill switch change every 10,000 executions; a
 * checkpoint every `checkpointEvery` records, holding what `RestartTracker` says there.
 *
 * Why it is fast, and still the writer's journal: the payloads are encoded once per execution
 * (the 17 look-ups share one), the line each hash covers is put together from pre-quoted pieces
 * (the same text `storedRecordHash` hashes), one prepared statement inserts in transactions of
 * 100,000 rows with `journal_mode = OFF` and `synchronous = OFF`, and the `records` indexes are
 * made once at the end from the schema's own statements. Identifiers are zero-padded so each
 * index grows at its end. The hash chain is computed record by record, every checkpoint comes from
 * a `RestartTracker` fed every record, and test/journal/journalBuild.test.ts checks a built journal
 * record for record against the same workload written through `SqliteJournal`, and verifies it in full.
 */
import Database from 'better-sqlite3';
import * as crypto from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { freezeSnapshot, hashSnapshotFields } from '../src/domain/snapshot.js';
import type { FrozenSnapshot } from '../src/domain/schemas.js';
import { SqliteJournal } from '../src/entries/sqlite.js';
import { RestartTracker, type CheckpointPayload } from '../src/journal/checkpoint.js';
import { writeHead } from '../src/journal/sqliteIntegrity.js';
import { GENESIS_HASH } from '../src/journal/hashChain.js';
import { JournalKind, type JournalEntry, type JournalRecord } from '../src/journal/types.js';

export const CACHE_DIR = join('bench', '.cache');
/** Bump when the records built change, so an old cached file is not reused. */
const LAYOUT = 4;
export const UNFINISHED = 10;
/** Records per transaction while building. */
const ROWS_PER_TRANSACTION = 100_000;

export interface BuiltJournal {
  readonly path: string;
  readonly records: number;
  readonly mib: number;
  /** Whether it came from the cache (built by an earlier run). */
  readonly cached: boolean;
  readonly buildMs: number;
}

export interface BuildOptions {
  /** The build's "now": the history spans the day before it, unfinished executions' windows the day after. */
  readonly now?: number;
  /** A kill switch change every this many executions (default 10,000). */
  readonly switchEvery?: number;
  /** Called after every transaction with the records written so far and the rate since the start; `last` before the indexes are made. */
  readonly progress?: (written: number, perSecond: number, last: boolean) => void;
}

/** Where the cached journal of about `records` records is (or will be) kept. */
export const cachedJournalPath = (records: number, checkpointEvery: number | null): string =>
  join(process.cwd(), CACHE_DIR, `journal-${records}-${checkpointEvery ?? 'none'}-v${LAYOUT}.sqlite`);

/** Whether the cached journal of about `records` records is already built. */
export const isCached = (records: number, checkpointEvery: number | null): boolean => existsSync(cachedJournalPath(records, checkpointEvery));

/** The cached journal of about `records` records, built now if it is not there yet. */
export function cachedJournal(records: number, checkpointEvery: number | null, options: Pick<BuildOptions, 'progress'> = {}): BuiltJournal {
  mkdirSync(CACHE_DIR, { recursive: true });
  const path = cachedJournalPath(records, checkpointEvery);
  const t = performance.now();
  let cached = true;
  if (!existsSync(path)) {
    cached = false;
    const partial = `${path}.partial`;
    rmSync(partial, { force: true });
    buildJournal(partial, records, checkpointEvery ?? Number.MAX_SAFE_INTEGER, options);
    renameSync(partial, path);
  }
  const db = new Database(path, { readonly: true });
  const last = db.prepare('SELECT MAX(sequence) FROM records').pluck().get() as number;
  db.close();
  return { path, records: last, mib: statSync(path).size / 1048576, cached, buildMs: performance.now() - t };
}

const pad = (n: number) => String(n).padStart(9, '0');

/** One snapshot per symbol and side, frozen (validated) once; each execution's differs only in its advisory and hash. */
function snapshotMaker(now: number): (e: number) => FrozenSnapshot {
  const templates = new Map<string, FrozenSnapshot>();
  return (e) => {
    const symbol = `S${e % 20}`;
    const side = e % 2 ? 'sell' : 'buy';
    let template = templates.get(symbol + side);
    if (template === undefined) {
      template = freezeSnapshot({
        advisoryId: 'bench-template', symbol, side, positionSize: 1, referencePrice: 1.1,
        slOffsetPct: side === 'buy' ? -0.01 : 0.01, tpOffsetPct: side === 'buy' ? 0.02 : -0.02,
        createdAt: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 86_400_000).toISOString(),
        approval: { approvedBy: 'bench', approvedAt: new Date(now - 30_000).toISOString() },
      });
      templates.set(symbol + side, template);
    }
    // Same keys in the same order as the template (hash last, as freezeSnapshot stamps it); the hash is the snapshot's own.
    // Copied key by key: an object spread costs several microseconds here, times 20 records an execution.
    const fields: Record<string, unknown> = {};
    for (const key of Object.keys(template)) if (key !== 'hash') fields[key] = template[key as keyof FrozenSnapshot];
    fields.advisoryId = `bench-${pad(e)}`;
    fields.hash = hashSnapshotFields(fields as unknown as FrozenSnapshot);
    return fields as unknown as FrozenSnapshot;
  };
}

/**
 * The workload, as the entries a writer appends, execution by execution: what the build writes
 * (and what the test writes through `SqliteJournal` to compare). Entries of one execution that
 * carry the same payload share the object.
 */
export function* benchWorkload(records: number, options: Pick<BuildOptions, 'now' | 'switchEvery'> = {}): Generator<JournalEntry[]> {
  const now = options.now ?? Date.now();
  const switchEvery = options.switchEvery ?? 10_000;
  const snapshotOf = snapshotMaker(now);
  const executions = Math.ceil(records / 20);
  const unfinishedEvery = Math.max(1, Math.floor(executions / UNFINISHED));
  const deadlineAt = now + 86_400_000; // unfinished executions still inside their window at the bench
  for (let e = 0; e < executions; e++) {
    const snapshot = snapshotOf(e);
    const executionId = `e-${pad(e)}`;
    const { advisoryId, hash: snapshotHash } = snapshot;
    // Literals, not spreads of shared ids: a spread costs microseconds a record.
    const entry = (kind: JournalKind, event: string, payload: unknown, to?: string): JournalEntry => (to === undefined ? { executionId, advisoryId, snapshotHash, kind, event, payload } : { executionId, advisoryId, snapshotHash, kind, to, event, payload });
    const clientOrderId = `wd-${snapshotHash.slice(0, 24)}`;
    const entries: JournalEntry[] = [
      { executionId, advisoryId, snapshotHash, kind: JournalKind.Claim, payload: { snapshot, clientOrderId, deadlineAt, broker: 'bench' } },
      entry(JournalKind.BrokerRequest, 'submitOrder', { clientOrderId, symbol: snapshot.symbol, side: snapshot.side, quantity: 1, type: 'market' }),
    ];
    if (!(e % unfinishedEvery === unfinishedEvery - 1 && e < unfinishedEvery * UNFINISHED)) {
      const answer = { clientOrderId, status: 'filled', filledQuantity: 1, averageFillPrice: 1.1 };
      for (let i = 0; i < 17; i++) entries.push(entry(i % 2 ? JournalKind.BrokerResponse : JournalKind.BrokerRequest, 'getOrder', answer));
      entries.push(entry(JournalKind.Result, 'filled', { executionId, advisoryId, status: 'filled', filledQuantity: 1, requiresManualResolution: false }, 'completed'));
      if (e % switchEvery === switchEvery / 2) {
        entries.push({ kind: JournalKind.KillSwitch, executionId: null, advisoryId: null, snapshotHash: null, event: 'off->warning', payload: { at: new Date(now - 86_400_000).toISOString(), symbol: 'S1', from: 'off', to: 'warning', type: 'manual', reason: 'bench', operator: 'bench' } });
      }
    }
    yield entries;
  }
}

/** One-shot `crypto.hash` where Node has it, as the journal hashes. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;
const sha256Hex: (data: string) => string =
  typeof oneShot === 'function' ? (data) => oneShot('sha256', data, 'hex') : (data) => crypto.createHash('sha256').update(data).digest('hex');
const q = (v: string | null | undefined) => JSON.stringify(v ?? null);

/**
 * Writes the journal at `path` (a new file): the schema by `SqliteJournal`, the records by SQL,
 * then the file left as a writer keeps it (WAL mode, its indexes).
 */
export function buildJournal(path: string, records: number, checkpointEvery: number, options: BuildOptions = {}): void {
  void new SqliteJournal(path).close(); // the schema, exactly as a writer creates it
  rmSync(`${path}.lock`, { force: true });
  const db = new Database(path);
  // No rollback journal and no WAL while building: out of WAL by way of DELETE (SQLite refuses WAL to
  // OFF directly), with better-sqlite3's defensive mode off, which otherwise refuses OFF quietly.
  db.unsafeMode(true);
  db.pragma('journal_mode = DELETE');
  if (db.pragma('journal_mode = OFF', { simple: true }) !== 'off') throw new Error(`${path}: cannot build without a rollback journal`);
  db.pragma('synchronous = OFF');
  db.pragma('locking_mode = EXCLUSIVE');
  db.pragma('cache_size = -262144'); // 256 MiB
  // The records' indexes are made once at the end (a sort), not grown row by row.
  const indexes = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records' AND sql IS NOT NULL").all() as { name: string; sql: string }[];
  for (const i of indexes) db.exec(`DROP INDEX ${i.name}`);
  const insert = db.prepare('INSERT INTO records (sequence, at, kind, execution_id, advisory_id, snapshot_hash, from_state, to_state, event, payload, previous_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const insertAdvisory = db.prepare('INSERT INTO advisories (advisory_id, execution_id, sequence) VALUES (?, ?, ?)');
  const tracker = new RestartTracker();
  const now = options.now ?? Date.now();
  const t0 = now - 86_400_000;
  const started = performance.now();
  let last = GENESIS_HASH;
  let sequence = 0;
  let sinceCheckpoint = 0;
  let inTransaction = 0;
  db.exec('BEGIN');
  /** The quoted kind, from, to and event of each shape of record (a handful), for the hashed line. */
  const shapes = new Map<string, string>();
  const shapeOf = (entry: JournalEntry): [kind: string, rest: string] => {
    const key = `${entry.kind}|${entry.from ?? ''}|${entry.to ?? ''}|${entry.event ?? ''}`;
    let rest = shapes.get(key);
    if (rest === undefined) shapes.set(key, (rest = `${q(entry.from)},${q(entry.to)},${q(entry.event)}`));
    return [q(entry.kind), rest];
  };
  /**
   * One record: the line its hash covers put together from quoted pieces (the text
   * `storedRecordHash` hashes: `[sequence,at,kind,executionId,advisoryId,snapshotHash,from,to,event,payload,previousHash]`),
   * inserted, and told to the tracker.
   */
  const write = (entry: JournalEntry, payload: unknown, payloadText: string, idsQ: string): void => {
    sequence++;
    // A millisecond a record, so the history spans the day before the build.
    const at = new Date(t0 + sequence).toISOString();
    const [kindQ, restQ] = shapeOf(entry);
    const hash = sha256Hex(`[${sequence},"${at}",${kindQ},${idsQ},${restQ},${payloadText},"${last}"]`);
    insert.run(sequence, at, entry.kind, entry.executionId, entry.advisoryId, entry.snapshotHash, entry.from ?? null, entry.to ?? null, entry.event ?? null, payloadText, last, hash);
    if (entry.kind === JournalKind.Claim && entry.advisoryId) insertAdvisory.run(entry.advisoryId, entry.executionId ?? '', sequence);
    last = hash;
    if (entry.kind !== JournalKind.Checkpoint) tracker.add({ sequence, kind: entry.kind, executionId: entry.executionId, advisoryId: entry.advisoryId, event: entry.event ?? null, payload, hash } as JournalRecord);
    if (++inTransaction >= ROWS_PER_TRANSACTION) {
      db.exec('COMMIT');
      options.progress?.(sequence, sequence / ((performance.now() - started) / 1000), false);
      db.exec('BEGIN');
      inTransaction = 0;
    }
  };
  const checkpointEntry: JournalEntry = { kind: JournalKind.Checkpoint, executionId: null, advisoryId: null, snapshotHash: null, event: 'checkpoint' };
  const noIds = 'null,null,null';
  for (const entries of benchWorkload(records, options)) {
    const executionId = entries[0]!.executionId;
    const executionIdsQ = `${q(executionId)},${q(entries[0]!.advisoryId)},${q(entries[0]!.snapshotHash)}`;
    let payload: unknown;
    let payloadText = '';
    for (const entry of entries) {
      // Encoded once per distinct payload: the 17 look-ups of an execution share one.
      if (entry.payload !== payload) {
        payload = entry.payload;
        payloadText = JSON.stringify(payload);
      }
      write(entry, payload, payloadText, entry.executionId === executionId ? executionIdsQ : noIds);
      if (++sinceCheckpoint >= checkpointEvery) {
        const checkpoint: CheckpointPayload = { covers: [sequence, last], state: tracker.state() };
        write(checkpointEntry, checkpoint, JSON.stringify(checkpoint), noIds);
        sinceCheckpoint = 0;
      }
    }
  }
  writeHead(db, { sequence, hash: last }); // where the chain ends, as a writer keeps it
  db.exec('COMMIT');
  options.progress?.(sequence, sequence / ((performance.now() - started) / 1000), true);
  for (const i of indexes) db.exec(i.sql);
  db.unsafeMode(false);
  db.pragma('locking_mode = NORMAL');
  if (db.pragma('journal_mode = WAL', { simple: true }) !== 'wal') throw new Error(`${path}: cannot put the built journal back in WAL mode`); // as a writer keeps it
  db.close();
}

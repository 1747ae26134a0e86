/**
 * Group commit: the durable journal writes everything appended in a turn of the event loop in one
 * transaction, and the engine never sends before the send's intent (and the advisory's claim) is on
 * disk, nor hands out a result before it is.
 */
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine, JournalKind, PaperBroker, type OrderReport, type OrderRequest } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { JournalError } from '../../src/journal/types.js';
import { silentLogger } from '../support/fixtures.js';

const fresh = () => join(mkdtempSync(join(tmpdir(), 'warden-group-')), 'j.sqlite');
/** What another process would find on disk now. */
const onDisk = (path: string, sql: string, ...params: unknown[]) => {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all(...params) as Record<string, unknown>[];
  } finally {
    db.close();
  }
};
const entry = (i: number) => ({ kind: JournalKind.Transition, executionId: `e${i}`, advisoryId: null, snapshotHash: null, from: 'a', to: 'b', event: 'X' });

describe('SqliteJournal group commit', () => {
  it('a turn’s records are written together; flush() resolves once they are on disk', async () => {
    const path = fresh();
    const journal = new SqliteJournal(path);
    for (let i = 0; i < 500; i++) journal.append(entry(i));
    expect(onDisk(path, 'SELECT count(*) AS n FROM records')[0]!.n).toBe(0); // still this turn
    await journal.flush();
    expect(onDisk(path, 'SELECT count(*) AS n FROM records')[0]!.n).toBe(500);
    expect((await journal.verify()).ok).toBe(true);
    await journal.close();
  });

  it('reads see what was appended before them; close writes what is left', async () => {
    const path = fresh();
    const journal = new SqliteJournal(path);
    journal.append(entry(1));
    expect(journal.readAll()).toHaveLength(1);
    journal.append(entry(2));
    await journal.close();
    expect(onDisk(path, 'SELECT count(*) AS n FROM records')[0]!.n).toBe(2);
  });

  it('a second claim of one advisory is refused at once, even within one batch', async () => {
    const journal = new SqliteJournal(fresh());
    const claim = { kind: JournalKind.Claim, executionId: 'e1', advisoryId: 'adv-1', snapshotHash: null };
    journal.append(claim);
    expect(() => journal.append({ ...claim, executionId: 'e2' })).toThrow(/already executed/);
    await journal.flush();
    expect(() => journal.append({ ...claim, executionId: 'e3' })).toThrow(/already executed/);
    await journal.close();
  });

  it('a batch that cannot be written rejects flush(), and the journal refuses every later append', async () => {
    const journal = new SqliteJournal(fresh());
    journal.append(entry(1));
    await journal.flush();
    // The disk fills up under the journal.
    (journal as unknown as { insert: { run(): never } }).insert = {
      run() {
        throw new Error('SQLITE_FULL: database or disk is full');
      },
    };
    journal.append(entry(2));
    await expect(journal.flush()).rejects.toThrow(/could not be written: SQLITE_FULL/);
    expect(() => journal.append(entry(3))).toThrow(JournalError);
    await journal.close();
  });
});

describe('the engine and group commit', () => {
  it('the claim and the request are on disk before the order is sent; the result before execute() settles', async () => {
    const path = fresh();
    const seenAtSend: Record<string, unknown>[][] = [];
    class Inspecting extends PaperBroker {
      override submitOrder(req: OrderRequest): Promise<OrderReport> {
        seenAtSend.push(onDisk(path, "SELECT kind, event FROM records WHERE kind IN ('claim', 'broker.request') ORDER BY sequence"));
        return super.submitOrder(req);
      }
    }
    const engine = createEngine({ broker: new Inspecting({ seed: 1, markets: { EURUSD: { price: 1.1, fillAfterMs: 5 } } }), journal: new SqliteJournal(path), logger: silentLogger() });
    const now = Date.now();
    const result = await engine.execute({
      advisoryId: 'gc-1', symbol: 'EURUSD', side: 'buy', positionSize: 1, referencePrice: 1.1, slOffsetPct: -0.01, tpOffsetPct: 0.02,
      createdAt: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 600_000).toISOString(),
      approval: { approvedBy: 'alice', approvedAt: new Date(now - 30_000).toISOString() },
    });
    expect(seenAtSend).toEqual([[{ kind: 'claim', event: null }, { kind: 'broker.request', event: 'submitOrder' }]]);
    expect(result.status).toBe('filled');
    expect(onDisk(path, "SELECT count(*) AS n FROM records WHERE kind = 'result'")[0]!.n).toBe(1);
    await engine.close();
  });
});

describe('a batch that cannot be written, under the engine', () => {
  it('no order is sent, new orders halt engine-wide, and the result says why', async () => {
    const path = fresh();
    const broker = new PaperBroker({ seed: 1, markets: { EURUSD: { price: 1.1, fillAfterMs: 5 } } });
    const journal = new SqliteJournal(path);
    const engine = createEngine({ broker, journal, logger: silentLogger() });
    (journal as unknown as { insert: { run(): never } }).insert = {
      run() {
        throw new Error('SQLITE_FULL: database or disk is full');
      },
    };
    let sent = 0;
    const submit = broker.submitOrder.bind(broker);
    broker.submitOrder = (req) => {
      sent++;
      return submit(req);
    };
    const now = Date.now();
    const result = await engine.execute({
      advisoryId: 'gc-full', symbol: 'EURUSD', side: 'buy', positionSize: 1, referencePrice: 1.1, slOffsetPct: -0.01, tpOffsetPct: 0.02,
      createdAt: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 600_000).toISOString(),
      approval: { approvedBy: 'alice', approvedAt: new Date(now - 30_000).toISOString() },
    });
    expect(sent).toBe(0);
    expect(result.filledQuantity).toBe(0);
    // The failed batch halted new orders engine-wide, so the resend was refused by that switch; the
    // record is incomplete, so a human is asked to look.
    expect(['journal_unavailable', 'kill_switch_active']).toContain(result.error?.code);
    expect(result.requiresManualResolution).toBe(true);
    expect(engine.killSwitch.state()).toBe('warning');
    expect(engine.killSwitch.history().find((c) => c.symbol === null)?.reason).toMatch(/journal unwritable: .*SQLITE_FULL/);
    await engine.close();
  }, 20_000);
});

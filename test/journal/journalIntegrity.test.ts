/**
 * What the hash chain alone does not cover in a SQLite journal (src/journal/sqliteIntegrity.ts):
 * a file emptied to nothing, the advisories index a restart consults, and the newest records,
 * which a chain loses without a break. Each is refused at a writer's open and reported by verify.
 */
import Database from 'better-sqlite3';
import { copyFileSync, existsSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine, JournalError } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { archiveJournal } from '../../src/journal/archive.js';
import { CLAIM_RECORD_QUERY } from '../../src/journal/sqliteIntegrity.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { warden } from '../support/cli.js';
import { tempJournalPath } from '../support/crash.js';
import { iso, silentLogger, snapshot, T0 } from '../support/fixtures.js';

const DAY = 86_400_000;

/** A journal of `count` filled executions (advisories a-0…), a checkpoint every 10 records, closed. */
async function journalOf(count: number, path = tempJournalPath()) {
  const clock = new VirtualClock(T0);
  const broker = new ScriptedBroker({ clock });
  broker.onAccepted((o) => clock.setTimeout(() => broker.fillRemaining(o.clientOrderId, 1.1), 50));
  const engine = createEngine({ broker, journal: new SqliteJournal(path, clock, { checkpointEvery: 10 }), clock, logger: silentLogger() });
  for (let i = 0; i < count; i++) await clock.run(engine.execute(snapshot({ advisoryId: `a-${i}` })));
  await engine.close();
  return path;
}

const openingError = (path: string, options: { readOnly?: boolean } = {}): JournalError | undefined => {
  try {
    void new SqliteJournal(path, undefined, options).close();
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(JournalError);
    return e as JournalError;
  }
};

const edit = (path: string, sql: string, ...params: unknown[]) => {
  const db = new Database(path);
  db.prepare(sql).run(...params);
  db.close();
};

const lastSequence = (path: string) => {
  const db = new Database(path, { readonly: true });
  const last = db.prepare('SELECT MAX(sequence) FROM records').pluck().get() as number;
  db.close();
  return last;
};

const verified = async (path: string, full: boolean) => {
  const journal = new SqliteJournal(path, undefined, { readOnly: true });
  const check = await journal.verify({ full });
  await journal.close();
  return check;
};

describe('a journal file emptied to nothing', () => {
  it('is refused, by a writer and a reader, and left as it is: never taken for a new journal', async () => {
    const path = await journalOf(1);
    edit(path, 'PRAGMA wal_checkpoint(TRUNCATE)');
    truncateSync(path, 0);
    for (const readOnly of [false, true]) {
      const error = openingError(path, { readOnly });
      expect(error?.code).toBe('truncated');
      expect(error?.message).toMatch(/is empty \(0 bytes\): it may be a journal truncated to nothing.*a new journal is created only where no file exists/);
    }
    expect(statSync(path).size).toBe(0);
    const cli = await warden(['journal', 'verify', '--journal', path]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/is empty \(0 bytes\): it may be a journal truncated to nothing/);
  });

  it('a new journal is whole on disk from its creation: its file alone, before any record, is a journal', async () => {
    const path = tempJournalPath();
    writeFileSync(`${path}.creating`, 'left by a creation that crashed');
    const journal = new SqliteJournal(path);
    // As a crash right now would leave it: the main file, without the WAL beside it.
    const copy = tempJournalPath();
    copyFileSync(path, copy);
    expect(statSync(copy).size).toBeGreaterThan(0);
    expect(await verified(copy, true)).toEqual({ ok: true });
    expect(existsSync(`${path}.creating`)).toBe(false);
    journal.append({ kind: 'transition', executionId: 'e', advisoryId: 'a', snapshotHash: null, payload: {} });
    await journal.close();
    expect(await verified(path, true)).toEqual({ ok: true });
  });
});

describe('the advisories index', () => {
  it('a removed row is refused at a writer open: the index holds fewer advisories than the chain has claimed', async () => {
    const path = await journalOf(4);
    edit(path, "DELETE FROM advisories WHERE advisory_id = 'a-0'");
    const error = openingError(path);
    expect(error?.code).toBe('chain_broken');
    expect(error?.message).toMatch(/the chain has claimed 4 advisories up to record \d+, but the advisories index holds 3: rows were removed/);
  });

  it('a row swapped for another (the count kept): the executed advisory is refused all the same, its claim record looked up; nothing sent', async () => {
    const path = await journalOf(4);
    edit(path, "DELETE FROM advisories WHERE advisory_id = 'a-0'");
    edit(path, "INSERT INTO advisories (advisory_id, execution_id, sequence) VALUES ('not-an-advisory', 'e-x', 1)");
    const clock = new VirtualClock(T0);
    const broker = new ScriptedBroker({ clock });
    const engine = createEngine({ broker, journal: new SqliteJournal(path, clock, { checkpointEvery: 10 }), clock, logger: silentLogger() });
    try {
      const again = await clock.run(engine.execute(snapshot({ advisoryId: 'a-0' })));
      expect(again.status).toBe('rejected');
      expect(again.error?.code).toBe('duplicate_advisory');
      expect(broker.callsOf('submitOrder')).toHaveLength(0);
    } finally {
      await engine.close();
    }
    const full = (await verified(path, true)) as { ok: boolean; reason?: string };
    expect(full.ok).toBe(false);
  });

  it('verify --full names the claim missing from the index; a row removed for a claim the open of a writer verifies is caught there too', async () => {
    const path = await journalOf(4);
    const db = new Database(path);
    const [first, last] = db.prepare("SELECT sequence FROM records WHERE kind = 'claim' ORDER BY sequence").pluck().all() as number[];
    db.close();
    const late = await journalOf(4);
    edit(path, "DELETE FROM advisories WHERE advisory_id = 'a-0'");
    expect(await verified(path, true)).toEqual({ ok: false, brokenAt: first, reason: `advisory a-0, claimed at record ${first}, is missing from the advisories index: it was removed, and a restart would execute the advisory again` });
    // A row removed for a claim among the records a writer's open verifies (after the checkpoint before the last) is refused there.
    const writer = new SqliteJournal(late, undefined, { checkpointEvery: 10 });
    const recent = writer.append({ kind: 'claim', executionId: 'e-late', advisoryId: 'a-late', snapshotHash: null, payload: {} });
    await writer.close();
    edit(late, "DELETE FROM advisories WHERE advisory_id = 'a-late'");
    expect(openingError(late)?.message).toMatch(`advisory a-late, claimed at record ${recent.sequence}, is missing from the advisories index`);
    expect(last).toBeGreaterThan(first!);
  });

  it('the claim look-up goes by advisory, not through every claim record (it runs for every new advisory)', async () => {
    const path = await journalOf(1);
    const db = new Database(path, { readonly: true });
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${CLAIM_RECORD_QUERY}`).all('a-0') as { detail: string }[]).map((r) => r.detail).join('; ');
    db.close();
    expect(plan).toMatch(/USING INDEX records_by_advisory \(advisory_id=\?\)/);
  });

  it('verify --full finds an advisory the chain claims twice', async () => {
    const path = await journalOf(2);
    const journal = new SqliteJournal(path);
    edit(path, "DELETE FROM advisories WHERE advisory_id = 'a-0'");
    // This writer refuses the second claim (its claim record still counts)...
    expect(() => journal.append({ kind: 'claim', executionId: 'e-again', advisoryId: 'a-0', snapshotHash: null, payload: {} })).toThrow(/already executed/);
    // ...one that asked only the index (an older writer) would have written it: verify --full finds it.
    Object.assign(journal, { hasClaimed: () => false });
    const again = journal.append({ kind: 'claim', executionId: 'e-again', advisoryId: 'a-0', snapshotHash: null, payload: {} });
    await journal.close();
    const first = (await verified(path, true)) as { ok: boolean; brokenAt: number; reason: string };
    expect(first.ok).toBe(false);
    expect(first.reason).toBe(`advisory a-0 is claimed twice in the chain (records ${first.brokenAt} and ${again.sequence})`);
  });
});

describe('the advisories index, after an archive', () => {
  it("an archived claim's row is the only trace of it in the file: removed, a writer's open refuses the journal", async () => {
    const clock = new VirtualClock(T0);
    const broker = new ScriptedBroker({ clock });
    broker.onAccepted((o) => clock.setTimeout(() => broker.fillRemaining(o.clientOrderId, 1.1), 50));
    const path = tempJournalPath();
    const engine = createEngine({ broker, journal: new SqliteJournal(path, clock, { checkpointEvery: 10 }), clock, logger: silentLogger() });
    for (let i = 0; i < 3; i++) await clock.run(engine.execute(snapshot({ advisoryId: `early-${i}` })));
    await clock.advance(DAY);
    for (let i = 0; i < 3; i++) await clock.run(engine.execute(snapshot({ advisoryId: `late-${i}`, createdAt: iso(clock.now() - 120_000), expiresAt: iso(clock.now() + 3_600_000), approval: { approvedBy: 'alice', approvedAt: iso(clock.now() - 60_000) } })));
    await engine.close();
    const archived = await archiveJournal(path, { before: new Date(T0 + DAY / 2), to: join(dirname(path), 'early.jsonl.gz') });
    expect(archived.archived).toBeGreaterThan(0);
    const ro = new Database(path, { readonly: true });
    expect(ro.prepare("SELECT COUNT(*) FROM records WHERE advisory_id = 'early-0'").pluck().get()).toBe(0);
    ro.close();
    edit(path, "DELETE FROM advisories WHERE advisory_id = 'early-0'");
    expect(openingError(path)?.message).toMatch(/the chain has claimed 6 advisories up to record \d+, but the advisories index holds 5: rows were removed/);
  });
});

describe('the newest records', () => {
  it('removing the last record (an operator halt) is refused at a writer open and reported by verify', async () => {
    const path = await journalOf(2);
    const journal = new SqliteJournal(path);
    journal.append({ kind: 'kill_switch', executionId: null, advisoryId: null, snapshotHash: null, payload: { state: 'warning', reason: 'late', operator: 'ops' } });
    await journal.close();
    const end = lastSequence(path);
    edit(path, 'DELETE FROM records WHERE sequence = ?', end);
    const reason = `the records end at record ${end - 1} but the journal's head is record ${end}: the newest records were removed`;
    expect(openingError(path)?.message).toContain(reason);
    expect(await verified(path, true)).toEqual({ ok: false, brokenAt: end, reason });
    expect(await verified(path, false)).toEqual({ ok: false, brokenAt: end, reason });
  });

  it('removing everything after the last checkpoint is refused too', async () => {
    const path = await journalOf(3);
    const db = new Database(path);
    const checkpoint = db.prepare("SELECT MAX(sequence) FROM records WHERE kind = 'checkpoint'").pluck().get() as number;
    db.close();
    expect(lastSequence(path)).toBeGreaterThan(checkpoint);
    edit(path, 'DELETE FROM records WHERE sequence > ?', checkpoint);
    expect(openingError(path)?.message).toMatch(new RegExp(`fails verification at record ${checkpoint + 1}: the records end at record ${checkpoint} but the journal's head`));
  });

  it('the head follows every batch, and journal verify prints it to be kept elsewhere', async () => {
    const path = tempJournalPath();
    const journal = new SqliteJournal(path);
    expect(journal.head()).toEqual({ sequence: 0, hash: '0'.repeat(64) });
    let last;
    for (let i = 0; i < 50; i++) last = journal.append({ kind: 'transition', executionId: 'e', advisoryId: 'a', snapshotHash: null, payload: { i } });
    await journal.flush();
    expect(journal.head()).toEqual({ sequence: last!.sequence, hash: last!.hash });
    await journal.close();
    const cli = await warden(['journal', 'verify', '--journal', path]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain(`head: record 50, hash ${last!.hash}`);
  });
});

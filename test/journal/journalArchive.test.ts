/**
 * Retention (src/journal/archive.ts): settled history moves out of a SqliteJournal into a gzip
 * JSON Lines archive, linked by hash to what stays; an auditor verifies one chain across archive
 * and journal; an edit on either side is found; open executions and flags are never archived;
 * a crash between writing the archive and changing the journal leaves a state a rerun completes.
 */
import Database from 'better-sqlite3';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createEngine, KillSwitchState, type JournalRecord } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { archiveJournal } from '../../src/journal/archive.js';
import { readArchive, verifyAcrossArchives } from '../../src/journal/archiveAudit.js';
import { JournalError } from '../../src/journal/types.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { warden } from '../support/cli.js';
import { mortal, tempJournalPath } from '../support/crash.js';
import { iso, rawSnapshot, silentLogger, T0 } from '../support/fixtures.js';
import { freezeSnapshot } from '../../src/index.js';

const EVERY = 25;
const DAY = 86_400_000;
const SYMBOLS = ['EURUSD', 'GBPUSD', 'USDCHF', 'AUDUSD', 'NZDUSD', 'USDCAD', 'EURJPY', 'GBPJPY', 'AUDJPY', 'CHFJPY', 'EURAUD', 'EURNZD', 'EURCAD', 'GBPCHF'];

/** A snapshot approved just before `at`, valid for an hour after it. */
const snapshotAt = (at: number, overrides: Record<string, unknown>) =>
  freezeSnapshot(rawSnapshot({ createdAt: iso(at - 120_000), expiresAt: iso(at + 3_600_000), approval: { approvedBy: 'alice', approvedAt: iso(at - 60_000) }, ...overrides }));

function venue(clock: VirtualClock) {
  const broker = new ScriptedBroker({ clock });
  broker.onAccepted((o) => clock.setTimeout(() => broker.fill(o.clientOrderId, o.quantity, 1.1), 100));
  return broker;
}

/** Two days of settled executions (a kill switch change on the first), checkpoints every 25 records. */
async function twoDays() {
  const clock = new VirtualClock(T0);
  const broker = venue(clock);
  const path = tempJournalPath();
  const engine = createEngine({ broker, journal: new SqliteJournal(path, clock, { checkpointEvery: EVERY }), clock, logger: silentLogger() });
  engine.killSwitch.set(KillSwitchState.Warning, { symbol: 'XAUUSD', reason: 'news', operator: 'ops' });
  for (let i = 0; i < 6; i++) await clock.run(engine.execute(snapshotAt(T0, { advisoryId: `day1-${i}`, symbol: SYMBOLS[i], side: i % 2 ? 'sell' : 'buy' })));
  await clock.advance(DAY);
  for (let i = 6; i < 12; i++) await clock.run(engine.execute(snapshotAt(T0 + DAY, { advisoryId: `day2-${i}`, symbol: SYMBOLS[i] })));
  await engine.close();
  return { clock, broker, path, archive: join(dirname(path), 'day1.jsonl.gz') };
}

const readAll = (path: string): JournalRecord[] => {
  const j = new SqliteJournal(path, undefined, { readOnly: true });
  const all = [...j.readAll()];
  void j.close();
  return all;
};
const archived = async (file: string) => {
  const out: JournalRecord[] = [];
  for await (const r of readArchive(file)) out.push(r);
  return out;
};
const editLine = (file: string, index: number, edit: (r: Record<string, unknown>) => void) => {
  const lines = gunzipSync(readFileSync(file)).toString('utf8').split('\n');
  const r = JSON.parse(lines[index]!) as Record<string, unknown>;
  edit(r);
  lines[index] = JSON.stringify(r);
  writeFileSync(file, gzipSync(lines.join('\n')));
};

describe('journal archive', () => {
  it('round trip: settled history moves out, the journal chains to the archive, one chain verifies across both, and a restart still knows what it must', async () => {
    const { clock, broker, path, archive } = await twoDays();
    const before = readAll(path);
    const done = await archiveJournal(path, { before: new Date(T0 + DAY / 2), to: archive });
    expect(done.archived).toBeGreaterThan(EVERY);
    expect(done.from).toBe(1);
    const moved = await archived(archive);
    expect(moved).toEqual(before.slice(0, done.through));
    expect(moved.every((r) => r.at < iso(T0 + DAY / 2))).toBe(true);
    const kept = readAll(path);
    expect(kept).toEqual(before.slice(done.through));
    expect(kept[0]!.previousHash).toBe(moved.at(-1)!.hash);
    // The journal alone verifies from its anchor; the auditor's check covers every record.
    const reader = new SqliteJournal(path, undefined, { readOnly: true });
    expect(await reader.verify()).toEqual({ ok: true, from: done.through + 1, afterArchive: 'day1.jsonl.gz' });
    await reader.close();
    const audit = await verifyAcrossArchives([archive], path);
    expect(audit).toMatchObject({ ok: true, records: before.length });
    // A new engine over the journal: the switch set in archived history still holds, an archived advisory is still refused.
    const engine = createEngine({ broker, journal: new SqliteJournal(path, clock, { checkpointEvery: EVERY }), clock, logger: silentLogger() });
    expect(engine.killSwitch.state('XAUUSD')).toBe(KillSwitchState.Warning);
    const again = await clock.run(engine.execute(snapshotAt(T0 + DAY, { advisoryId: 'day1-0', symbol: 'GBPCHF' })));
    expect(again.error?.code).toBe('duplicate_advisory');
    await engine.close();
    // A second archive continues the first; the auditor reads them in order.
    const second = join(dirname(path), 'day2.jsonl.gz');
    const next = await archiveJournal(path, { before: new Date(T0 + 3 * DAY), to: second });
    expect(next.from).toBe(done.through + 1);
    expect(next.archived).toBeGreaterThan(0);
    expect((await verifyAcrossArchives([archive, second], path)).ok).toBe(true);
    expect((await verifyAcrossArchives([second, archive], path)).ok).toBe(false);
    expect((await verifyAcrossArchives([second], path)).ok).toBe(false);
  });

  it('an edit in the archive is found, at its record', async () => {
    const { path, archive } = await twoDays();
    await archiveJournal(path, { before: new Date(T0 + DAY / 2), to: archive });
    editLine(archive, 9, (r) => {
      r.payload = { ...(r.payload as object), filledQuantity: 999 };
    });
    const audit = await verifyAcrossArchives([archive], path);
    expect(audit).toMatchObject({ ok: false, brokenAt: 10, brokenIn: archive });
  });

  it('an archive cut short by its last record is found, and the message says where the journal continues', async () => {
    const { path, archive } = await twoDays();
    const done = await archiveJournal(path, { before: new Date(T0 + DAY / 2), to: archive });
    const lines = gunzipSync(readFileSync(archive)).toString('utf8').trimEnd().split('\n');
    writeFileSync(archive, gzipSync(`${lines.slice(0, -1).join('\n')}\n`));
    const audit = await verifyAcrossArchives([archive], path);
    expect(audit).toMatchObject({ ok: false, brokenAt: done.through, brokenIn: 'journal' });
    expect(audit.message).toContain(`the journal continues from record ${done.through + 1} (after archive day1.jsonl.gz, which ends at record ${done.through}), the archives given end at record ${done.through - 1}`);
  });

  it('an edit in the journal after the archive is found, at its record', async () => {
    const { path, archive } = await twoDays();
    const done = await archiveJournal(path, { before: new Date(T0 + DAY / 2), to: archive });
    const db = new Database(path);
    db.prepare("UPDATE records SET payload = '{\"edited\":true}' WHERE sequence = ?").run(done.through + 3);
    db.close();
    expect(await verifyAcrossArchives([archive], path)).toMatchObject({ ok: false, brokenAt: done.through + 3, brokenIn: 'journal' });
    // A journal cut short at its start no longer meets its archive.
    const db2 = new Database(path);
    db2.prepare('DELETE FROM records WHERE sequence = ?').run(done.through + 1);
    db2.close();
    expect((await verifyAcrossArchives([archive], path)).ok).toBe(false);
  });

  it('open executions and open flags are never archived, and stay in the journal for a restart', async () => {
    const clock = new VirtualClock(T0);
    const broker = venue(clock);
    const path = tempJournalPath();
    const first = mortal(broker, new SqliteJournal(path, clock, { checkpointEvery: EVERY }));
    const engine = createEngine({ broker: first.broker, journal: first.journal, clock, logger: silentLogger() });
    for (let i = 0; i < 3; i++) await clock.run(engine.execute(snapshotAt(T0, { advisoryId: `done-${i}`, symbol: SYMBOLS[i] })));
    broker.script.protection.push({ kind: 'refuse' });
    const flagged = await clock.run(engine.execute(snapshotAt(T0, { advisoryId: 'flag-open', symbol: 'EURGBP', side: 'sell' })));
    expect(flagged.requiresManualResolution).toBe(true);
    for (let i = 3; i < 6; i++) await clock.run(engine.execute(snapshotAt(T0, { advisoryId: `done-${i}`, symbol: SYMBOLS[i] })));
    broker.script.submit.push({ kind: 'hang', accept: true });
    void engine.execute(snapshotAt(T0, { advisoryId: 'unfinished', symbol: 'EURCHF' }));
    await clock.advance(10);
    first.die();
    const archive = join(dirname(path), 'old.jsonl.gz');
    // Every record is older than the cut-off: only what settled before the flag may go.
    const done = await archiveJournal(path, { before: new Date(T0 + DAY), to: archive });
    expect(done.archived).toBeGreaterThan(0);
    const moved = await archived(archive);
    expect(moved.filter((r) => r.advisoryId === 'flag-open' || r.advisoryId === 'unfinished')).toEqual([]);
    const kept = readAll(path);
    expect(kept.some((r) => r.advisoryId === 'flag-open' && r.kind === 'claim')).toBe(true);
    expect(kept.some((r) => r.advisoryId === 'unfinished' && r.kind === 'claim')).toBe(true);
    // Every execution in the archive is whole there: its result with it.
    const executions = new Set(moved.flatMap((r) => (r.executionId ? [r.executionId] : [])));
    for (const e of executions) expect(moved.some((r) => r.executionId === e && r.kind === 'result')).toBe(true);
    expect(kept.some((r) => r.executionId !== null && executions.has(r.executionId))).toBe(false);
    // A restart after the archive: the flag still halts its symbol, the unfinished execution resumes with its one order.
    const restarted = createEngine({ broker, journal: new SqliteJournal(path, clock, { checkpointEvery: EVERY }), clock, logger: silentLogger() });
    expect(restarted.killSwitch.state('EURGBP')).toBe(KillSwitchState.Warning);
    const [resumed] = await clock.run(restarted.recovery);
    expect(resumed!.advisoryId).toBe('unfinished');
    expect(broker.callsOf('submitOrder').filter((c) => (c.args as { clientOrderId: string }).clientOrderId === resumed!.clientOrderId)).toHaveLength(1);
    await restarted.close();
    expect((await verifyAcrossArchives([archive], path)).ok).toBe(true);
  });

  it('a crash after the archive is written leaves the journal whole; a rerun completes the archive, and a third run changes nothing', async () => {
    const { path, archive } = await twoDays();
    const before = readAll(path);
    await expect(
      archiveJournal(path, {
        before: new Date(T0 + DAY / 2),
        to: archive,
        afterArchiveWritten: () => {
          throw new Error('process died');
        },
      }),
    ).rejects.toThrow('process died');
    expect(existsSync(archive)).toBe(true);
    expect(readAll(path)).toEqual(before); // nothing deleted, no anchor
    expect(SqliteJournal.writerOf(path)).toBeNull(); // the lock was let go
    // A crash while writing leaves only a partial file beside the name, never the archive itself.
    writeFileSync(`${archive}.partial`, 'cut short');
    const rerun = await archiveJournal(path, { before: new Date(T0 + DAY / 2), to: archive });
    expect(rerun.resumed).toBe(true);
    expect(rerun.archived).toBeGreaterThan(0);
    expect(readAll(path)).toEqual(before.slice(rerun.through));
    expect((await verifyAcrossArchives([archive], path)).ok).toBe(true);
    const third = await archiveJournal(path, { before: new Date(T0 + DAY / 2), to: archive });
    expect(third.archived).toBe(0);
    expect(readAll(path)).toEqual(before.slice(rerun.through));
  });

  it('refuses an archive it did not write, a bad date, a bad path, and a journal an engine writes, changing nothing', async () => {
    const { path, archive } = await twoDays();
    const before = readAll(path);
    writeFileSync(archive, gzipSync('{"not":"a record"}\n'));
    await expect(archiveJournal(path, { before: new Date(T0 + DAY / 2), to: archive })).rejects.toThrow(JournalError);
    await expect(archiveJournal(path, { before: new Date(Number.NaN), to: join(dirname(path), 'x.jsonl.gz') })).rejects.toThrow('not a valid date');
    await expect(archiveJournal(path, { before: new Date(T0), to: join(dirname(path), 'x.jsonl') })).rejects.toThrow('.jsonl.gz');
    await expect(archiveJournal(path, { before: new Date(T0), to: join(dirname(path), 'no-such-dir', 'x.jsonl.gz') })).rejects.toThrow('no folder');
    const writer = new SqliteJournal(path);
    await expect(archiveJournal(path, { before: new Date(T0 + DAY / 2), to: join(dirname(path), 'y.jsonl.gz') })).rejects.toMatchObject({ code: 'locked' });
    await writer.close();
    expect(readAll(path)).toEqual(before);
    expect(existsSync(join(dirname(path), 'y.jsonl.gz'))).toBe(false);
  });

  it('warden journal archive and verify --full --archive, with clear errors for bad input', async () => {
    const { path } = await twoDays();
    const file = join(dirname(path), 'cli.jsonl.gz');
    const badDate = await warden(['journal', 'archive', '--before', '2026-02-30', '--to', file, '--journal', path]);
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toContain('--before must be a date');
    const badPath = await warden(['journal', 'archive', '--before', iso(T0 + DAY / 2), '--to', join(dirname(path), 'cli.jsonl'), '--journal', path]);
    expect(badPath.code).toBe(2);
    expect(badPath.stderr).toContain('.jsonl.gz');
    const run = await warden(['journal', 'archive', '--before', iso(T0 + DAY / 2), '--to', file, '--journal', path]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/records 1–\d+ \(\d+\) moved to/);
    const through = Number(/records 1–(\d+)/.exec(run.stdout)![1]);
    // The journal alone verifies from its first record after the archive, which is not a checkpoint.
    const alone = await warden(['journal', 'verify', '--full', '--journal', path]);
    expect(alone.code, alone.stderr).toBe(0);
    expect(alone.stdout).toContain(`verified from record ${through + 1}, the first after the archive cli.jsonl.gz`);
    expect(alone.stdout).not.toContain('checkpoint');
    const audit = await warden(['journal', 'verify', '--full', '--archive', file, '--journal', path]);
    expect(audit.code, audit.stderr).toBe(0);
    expect(audit.stdout).toContain('one hash chain, verified from record 1');
    editLine(file, 3, (r) => {
      r.at = iso(T0 - 1);
    });
    const broken = await warden(['journal', 'verify', '--full', '--archive', file, '--journal', path]);
    expect(broken.code).toBe(3);
    expect(broken.stdout).toContain('BROKEN at record 4');
  }, 90_000);
});

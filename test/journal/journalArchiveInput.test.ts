/**
 * `warden journal archive` and `warden journal verify --full --archive` given a path that does not
 * hold what it should: a missing or unreadable archive, a folder where the archive goes, a
 * `--journal` that is missing or a folder. Each is bad input: one line saying what is wrong, exit
 * 2, nothing changed — never a Node stack trace or a raw SQLite error.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { warden, type CliRun } from '../support/cli.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';

/** A journal of two settled executions, in a folder of its own. */
async function smallJournal() {
  const dir = mkdtempSync(join(tmpdir(), 'warden-archive-input-'));
  const path = join(dir, 'warden.journal.sqlite');
  const clock = new VirtualClock(T0);
  const broker = new ScriptedBroker({ clock });
  broker.onAccepted((o) => clock.setTimeout(() => broker.fill(o.clientOrderId, o.quantity, 1.1), 100));
  const engine = createEngine({ broker, clock, journal: new SqliteJournal(path, clock, { checkpointEvery: 5 }), logger: silentLogger() });
  for (const advisoryId of ['adv-1', 'adv-2']) await clock.run(engine.execute(snapshot({ advisoryId })));
  await engine.close();
  return { dir, path };
}

/** Bad input: exit 2, one line on stderr naming `what`, nothing on stdout. */
function refusedAsBadInput(run: CliRun, what: RegExp) {
  expect(run.code, run.stderr).toBe(2);
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
  expect(run.stderr).toMatch(what);
  expect(run.stdout).toBe('');
}

describe('journal archive and verify --archive: bad paths are bad input', () => {
  it('a missing archive, or a folder given as one, is named in one line (exit 2); the journal is not touched', async () => {
    const { dir, path } = await smallJournal();
    const before = readFileSync(path);
    const missing = join(dir, 'missing.jsonl.gz');
    refusedAsBadInput(await warden(['journal', 'verify', '--full', '--archive', missing, '--journal', path]), /^warden: archive .*missing\.jsonl\.gz: no such file$/m);
    const folder = join(dir, 'folder.jsonl.gz');
    mkdirSync(folder);
    refusedAsBadInput(await warden(['journal', 'verify', '--full', '--archive', folder, '--journal', path]), /folder\.jsonl\.gz: a folder, not an archive file/);
    refusedAsBadInput(await warden(['journal', 'archive', '--before', '2030-01-01', '--to', folder, '--journal', path]), /folder\.jsonl\.gz: a folder, not an archive file/);
    expect(readFileSync(path).equals(before)).toBe(true);
  }, 60_000);

  it.skipIf(!existsSync('/proc/self'))('a folder where no file can be made is named in one line (exit 2); nothing is archived', async () => {
    const { path } = await smallJournal();
    const before = readFileSync(path);
    refusedAsBadInput(await warden(['journal', 'archive', '--before', '2030-01-01', '--to', '/proc/self/a.jsonl.gz', '--journal', path]), /^warden: cannot create the archive \/proc\/self\/a\.jsonl\.gz: ENOENT; nothing archived$/m);
    expect(readFileSync(path).equals(before)).toBe(true);
  }, 60_000);

  it('verify --full --archive with a --journal that is missing or a folder says so in one line (exit 2), as plain verify does, before reading any archive', async () => {
    const { dir, path } = await smallJournal();
    const archive = join(dir, 'all.jsonl.gz');
    expect((await warden(['journal', 'archive', '--before', '2030-01-01', '--to', archive, '--journal', path])).stdout).toMatch(/moved to/);
    const missing = join(dir, 'missing.sqlite');
    refusedAsBadInput(await warden(['journal', 'verify', '--full', '--archive', archive, '--journal', missing]), /^warden: no journal at .*missing\.sqlite/m);
    refusedAsBadInput(await warden(['journal', 'verify', '--full', '--archive', archive, '--journal', dir]), /^warden: cannot read journal .*: EISDIR$/m);
    // The same paths with plain verify: the same refusal.
    refusedAsBadInput(await warden(['journal', 'verify', '--journal', dir]), /^warden: cannot read journal .*: EISDIR$/m);
  }, 60_000);
});

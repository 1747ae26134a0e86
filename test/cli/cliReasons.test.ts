/**
 * The CLI never hides a reason: every non-filled or flagged row says why (field by field for bad
 * input), `warden flags` lists what awaits resolution with its differences, and a journal whose
 * chain is broken can still be read (marked as broken) for the forensics it is needed for.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { warden } from '../support/cli.js';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';


/** A journal with one flagged execution (its protection was refused). */
async function flaggedJournal(): Promise<string> {
  const path = join(mkdtempSync(join(tmpdir(), 'warden-reasons-')), 'j.sqlite');
  const clock = new VirtualClock(T0);
  const broker = new ScriptedBroker({ clock });
  broker.onAccepted((o) => clock.setTimeout(() => broker.fill(o.clientOrderId, o.quantity, 1.1), 100));
  broker.script.protection.push({ kind: 'refuse', reason: 'too many open orders' });
  const engine = createEngine({ broker, journal: new SqliteJournal(path, clock), clock, logger: silentLogger() });
  const result = await clock.run(engine.execute(snapshot({ advisoryId: 'flagged-1' })));
  expect(result.requiresManualResolution).toBe(true);
  await engine.close();
  return path;
}

describe('reasons are shown', () => {
  it('warden run: an invalid snapshot row names the field and what is wrong', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-reasons-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ advisoryId: 'bad-1', symbol: 'EURUSD', side: 'buy', positionSize: -5 }));
    const r = await warden(['run', file, '--journal', join(dir, 'j.sqlite')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/rejected .*invalid_snapshot: .*positionSize/);
  }, 30_000);

  it('warden flags lists what awaits resolution with every difference, and how to resolve it', async () => {
    const path = await flaggedJournal();
    const r = await warden(['flags', '--journal', path]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/flagged-1 · filled/);
    expect(r.stdout).toMatch(/difference protection: .*too many open orders/);
    expect(r.stdout).toContain('warden resolve flagged-1');
    const shown = await warden(['journal', 'show', 'flagged-1', '--journal', path]);
    expect(shown.stdout).toMatch(/difference protection/);
  }, 30_000);

  it('a journal whose chain is broken is still shown and exported, marked as broken; verify fails', async () => {
    const path = await flaggedJournal();
    const db = new Database(path);
    db.prepare("UPDATE records SET payload = '{\"forged\":true}' WHERE sequence = 5").run();
    db.close();
    const shown = await warden(['journal', 'show', 'flagged-1', '--journal', path]);
    expect(shown.code).toBe(3);
    expect(shown.stderr).toMatch(/CHAIN BROKEN at record 5/);
    expect(shown.stdout).toMatch(/flagged-1 · execution/);
    const exported = await warden(['journal', 'export', '--jsonl', '--journal', path]);
    expect(exported.code).toBe(3);
    expect(exported.stdout.trim().split('\n').length).toBeGreaterThan(5);
    const verified = await warden(['journal', 'verify', '--journal', path]);
    expect(verified.code).toBe(3);
    expect(verified.stdout).toMatch(/BROKEN at record 5/);
    const written = await warden(['kill-switch', 'set', 'active', '--reason', 'x', '--operator', 'o', '--journal', path]);
    expect(written.code).toBe(2); // never written to
  }, 30_000);

  it('the reading commands on a broken chain say so first and exit 3: an edited result can hide a flag, never silently', async () => {
    const path = await flaggedJournal();
    const db = new Database(path);
    // The flagged result, edited to say it needs nobody: the flag disappears from the listing, but its halt stays.
    const row = db.prepare("SELECT sequence, payload FROM records WHERE kind = 'result' ORDER BY sequence DESC LIMIT 1").get() as { sequence: number; payload: string };
    db.prepare('UPDATE records SET payload = ? WHERE sequence = ?').run(row.payload.replace('"requiresManualResolution":true', '"requiresManualResolution":false'), row.sequence);
    db.close();
    for (const command of [['flags'], ['kill-switch', 'show'], ['limits', 'show']]) {
      const r = await warden([...command, '--journal', path]);
      expect(r.code, command.join(' ')).toBe(3);
      expect(r.stderr, command.join(' ')).toMatch(new RegExp(`CHAIN BROKEN at record ${row.sequence}: records from there on may have been edited`));
    }
  }, 60_000);
});

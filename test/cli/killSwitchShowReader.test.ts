/**
 * `warden kill-switch show` is a reader: it "opens the file read-only and needs no lock" (README,
 * "One writer per journal"). It must list the holds the journal holds and no others. An engine
 * stopped by `shutdown()` (the first Ctrl-C of `warden run`) leaves a `shutdown` hold that a
 * restart lifts; the reader is not that restart. It tried to lift it, could not write the lift to a
 * read-only file, and showed a `journal` hold ("journal unwritable … open read-only") and a global
 * `warning` that exist nowhere but in that reader.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, PaperBroker } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { silentLogger } from '../support/fixtures.js';
import { warden } from '../support/cli.js';

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

describe('warden kill-switch show after an engine shut down', () => {
  it('lists the operator\'s EURUSD warning and no journal hold; global is not halted by the reader', async () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-show-'));
    const path = join(dir, 'journal.sqlite');
    const engine = createEngine({ broker: new PaperBroker({ markets: { EURUSD: { price: 1.1 } } }), journal: new SqliteJournal(path), logger: silentLogger() });
    engine.killSwitch.set('warning', { symbol: 'EURUSD', reason: 'news at 14:30', operator: 'ana' });
    await engine.shutdown({ reason: 'deploy' });
    await engine.close();

    const shown = await warden(['kill-switch', 'show', '--journal', path]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/EURUSD warning — operator by ana/);
    expect(shown.stdout).not.toMatch(/— journal by|journal unwritable|open read-only/);
    expect(shown.stdout).not.toMatch(/^global: warning$/m);
  }, 60_000);
});

/**
 * The CLI refuses what it does not understand: an unknown or misspelt option, a missing value or a
 * stray argument is one clear line and exit 2, and nothing is opened or written — an operator who
 * typed `--jornal` must never act on the default journal believing it was another.
 */
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { warden } from '../support/cli.js';
import { describe, expect, it } from 'vitest';


const COMMANDS: [string, string[]][] = [
  ['run', ['run', 'snapshots.json']],
  ['recover', ['recover', '--broker', 'http://127.0.0.1:1']],
  ['kill-switch set', ['kill-switch', 'set', 'active', '--reason', 'r', '--operator', 'o']],
  ['kill-switch show', ['kill-switch', 'show']],
  ['resolve', ['resolve', 'adv-1', '--operator', 'o', '--note', 'n']],
  ['journal verify', ['journal', 'verify']],
  ['paper-broker', ['paper-broker', '--port', '0']],
  ['console', ['console', '--port', '0']],
];

describe('the warden command refuses what it does not understand', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-strict-'));
  const intended = join(dir, 'intended.sqlite');
  const defaultJournal = 'data/warden.journal.sqlite';
  const before = existsSync(defaultJournal) ? statSync(defaultJournal).mtimeMs : null;

  for (const [name, base] of COMMANDS) {
    it(`${name}: a misspelt option, an unknown one, a missing value → exit 2, one clear line, nothing written`, async () => {
      const typo = await warden([...base, '--jornal', intended]);
      expect(typo.code).toBe(2);
      expect(typo.stderr).toMatch(/Unknown option '--jornal'/);
      const unknown = await warden([...base, '--frobnicate']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(/Unknown option '--frobnicate'/);
      const missing = await warden([...base, '--journal']);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/--journal|argument missing|Unknown option/);
      for (const r of [typo, unknown, missing]) expect(r.stderr.trim().split('\n')[0]).toMatch(/^warden: /);
      expect(existsSync(intended)).toBe(false);
      expect(existsSync(defaultJournal) ? statSync(defaultJournal).mtimeMs : null).toBe(before);
    }, 60_000);
  }

  it('a stray argument is refused too', async () => {
    const r = await warden(['resolve', 'adv-1', 'adv-2', '--operator', 'o', '--note', 'n', '--journal', intended]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unexpected argument "adv-2"/);
  });

  it('--help per command lists the options the parser accepts', async () => {
    const r = await warden(['kill-switch', '--help']);
    expect(r.code).toBe(0);
    for (const option of ['--journal VALUE', '--symbol VALUE', '--reason VALUE', '--operator VALUE']) expect(r.stdout).toContain(option);
  });
});

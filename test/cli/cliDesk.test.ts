/**
 * Small things a person at the command line meets: a second run on a symbol meets the position
 * the first one filled, `show | head` does not crash, `kill-switch show --symbol` shows that
 * symbol, `trace` speaks like the other commands, and brokers are named by their URL.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { warden } from '../support/cli.js';
import { JournalKind } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';

const raw = (advisoryId: string, side: 'buy' | 'sell' = 'buy') => ({
  advisoryId, symbol: 'EURUSD', side, positionSize: 2, referencePrice: 1.1, slOffsetPct: side === 'buy' ? -0.01 : 0.01, tpOffsetPct: side === 'buy' ? 0.02 : -0.02,
  createdAt: new Date(Date.now() - 60_000).toISOString(), expiresAt: new Date(Date.now() + 600_000).toISOString(),
  approval: { approvedBy: 'alice', approvedAt: new Date(Date.now() - 30_000).toISOString() },
});

describe('the warden command at a desk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-cli-desk-'));
  const journal = join(dir, 'j.sqlite');
  const file = (name: string, value: unknown) => {
    const f = join(dir, name);
    writeFileSync(f, JSON.stringify(value));
    return f;
  };

  it('a second run on the same symbol meets the position the first filled: nothing is flagged', async () => {
    const first = await warden(['run', file('a.json', raw('pos-1')), '--journal', journal]);
    expect(first.stdout).toMatch(/pos-1\s+filled\s+2/);
    expect(existsSync(`${journal}.paper.json`)).toBe(true);
    const second = await warden(['run', file('b.json', raw('pos-2')), '--journal', journal]);
    expect(second.stdout).toMatch(/pos-2\s+filled\s+2 .* no\s*$/m);
    expect(second.code).toBe(0);
  }, 60_000);

  it('kill-switch show --symbol shows that symbol only', async () => {
    await warden(['kill-switch', 'set', 'warning', '--symbol', 'GBPUSD', '--reason', 'cable', '--operator', 'ops', '--journal', journal]);
    await warden(['kill-switch', 'set', 'active', '--symbol', 'USDJPY', '--reason', 'boj', '--operator', 'ops', '--journal', journal]);
    const shown = await warden(['kill-switch', 'show', '--symbol', 'GBPUSD', '--journal', journal]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/GBPUSD: warning/);
    expect(shown.stdout).not.toMatch(/USDJPY/);
    expect(shown.stdout).toMatch(/cable/);
  }, 30_000);

  it('show | head: a reader that closes the pipe early ends the command quietly', async () => {
    // More than a pipe holds, so the writer is still writing when the reader goes away.
    const big = join(dir, 'big.sqlite');
    const filler = new SqliteJournal(big);
    for (let i = 0; i < 3_000; i++) filler.append({ kind: JournalKind.Transition, executionId: `e${i}`, advisoryId: `a${i}`, snapshotHash: null, from: 'a', to: 'b', event: 'x', payload: { pad: 'x'.repeat(200) } });
    await filler.close();
    const child = spawn(process.execPath, ['bin/warden.mjs', 'journal', 'export', '--jsonl', '--journal', big], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => child.stdout.destroy()); // like `head -1`
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(stderr).not.toMatch(/EPIPE|Error|at /);
    expect(code).toBe(0);
  }, 60_000);

  it('trace: the same prefix and exit codes as the other commands; a missing file is one clear line', async () => {
    const missing = await warden(['trace', join(dir, 'none.jsonl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe(`warden: ${join(dir, 'none.jsonl')}: no such file`);
    const bad = await warden(['trace', file('bad.jsonl', 'not json')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^warden: /);
  }, 30_000);
});

describe('the demo', () => {
  it("writes no journal time in the future: its simulated run ends before the wall clock's now", async () => {
    const data = mkdtempSync(join(tmpdir(), 'warden-demo-times-'));
    const { execFile } = await import('node:child_process');
    await new Promise<void>((resolve, reject) => execFile(process.execPath, ['--import', 'tsx', 'src/cli/demo.ts', '--data', data], (e, _out, err) => (e ? reject(new Error(err)) : resolve())));
    const after = Date.now();
    const { readdirSync } = await import('node:fs');
    const path = join(data, readdirSync(data).find((f) => f.endsWith('.journal.sqlite'))!);
    const times = new SqliteJournal(path, undefined, { readOnly: true }).readAll().map((r) => Date.parse(r.at));
    expect(times.length).toBeGreaterThan(100);
    expect(Math.max(...times)).toBeLessThanOrEqual(after);
    expect(Math.max(...times)).toBeGreaterThan(after - 5 * 60_000); // and recent: it reads as a run that just happened
  }, 60_000);
});

describe('help and packaging', () => {
  it('the main help names exactly the commands that take --journal, --store and --broker, as their own help does', async () => {
    const JOURNAL = ['run', 'recover', 'kill-switch', 'flags', 'resolve', 'journal', 'console'];
    const STORE = ['run', 'recover', 'kill-switch', 'flags', 'resolve', 'journal'];
    const BROKER = ['run', 'recover'];
    const help = (await warden(['--help'])).stdout.replace(/\s+/g, ' ');
    expect(help).toContain(`--journal FILE (default data/warden.journal.sqlite): ${JOURNAL.join(', ')}.`);
    expect(help).toContain(`instead of --journal: ${STORE.join(', ')}, on a PostgreSQL store`);
    expect(help).toContain(`--broker URL|paper|ccxt:EXCHANGE [--sandbox]: ${BROKER.join(', ')}.`);
    for (const command of ['run', 'recover', 'kill-switch', 'flags', 'resolve', 'journal', 'console', 'approve', 'trace', 'paper-broker']) {
      const own = (await warden([command, '--help'])).stdout;
      for (const [flag, takers] of [['--journal', JOURNAL], ['--store', STORE], ['--broker', BROKER]] as const) expect(own.includes(`${flag} VALUE`), `${command} ${flag}`).toBe(takers.includes(command));
    }
  }, 120_000);

  it('the tarball ships no source maps pointing at unshipped sources; keys and tarballs are git-ignored', async () => {
    const build = JSON.parse((await import('node:fs')).readFileSync('tsconfig.build.json', 'utf8')) as { compilerOptions: Record<string, unknown> };
    expect(build.compilerOptions.sourceMap).toBe(false);
    expect(build.compilerOptions.declarationMap).toBe(false);
    const files = (JSON.parse((await import('node:fs')).readFileSync('package.json', 'utf8')) as { files: string[] }).files;
    expect(files).not.toContain('src');
    const { execFileSync } = await import('node:child_process');
    expect(execFileSync('git', ['check-ignore', 'keys/approver.key.pem', 'warden-0.1.0.tgz']).toString().trim().split('\n')).toHaveLength(2);
  });
});

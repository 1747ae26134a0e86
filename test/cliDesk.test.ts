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
import { warden } from './support/cli.js';
import { JournalKind } from '../src/index.js';
import { SqliteJournal } from '../src/entries/sqlite.js';

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

import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('npm start (the demo)', () => {
  it('runs all nine scenarios and prints the table with the expected outcomes, and a reason for every row that is not a plain fill', async () => {
    const data = mkdtempSync(join(tmpdir(), 'warden-demo-'));
    const run = () => promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/demo.ts', '--data', data], { timeout: 30_000 });
    const { stdout } = await run();
    expect(stdout.match(/^━━ \d\./gm)).toHaveLength(9);
    const row = (out: string, name: string) => out.split('\n').find((l) => l.startsWith(name)) ?? '';
    expect(row(stdout, 'clean fill (long)')).toMatch(/ filled .* no\s+-$/);
    expect(row(stdout, 'clean fill (short)')).toMatch(/ filled /);
    expect(row(stdout, 'kill switch before')).toMatch(/rejected .*active before\s+no\s+kill_switch_active$/);
    expect(row(stdout, 'kill switch during (cancel)')).toMatch(/cancelled .*active during/);
    expect(row(stdout, 'kill switch after')).toMatch(/filled .*active after/);
    expect(row(stdout, 'no fill')).toMatch(/failed_timeout .* timeout$/);
    expect(row(stdout, 'late fill')).toMatch(/executed_full_late/);
    expect(row(stdout, 'partial fill')).toMatch(/partially_filled\s+4000/);
    expect(row(stdout, 'reconciliation mismatch')).toMatch(/YES\s+mismatch: position\.quantity/);
    expect(stdout).toMatch(/hash chain verified/);
    // Each run writes its own journal, so running it again (and again) gives the same table.
    const shape = (out: string) => out.split('\n').filter((l) => /^(clean|kill|no fill|late|partial|reconciliation)/.test(l)).map((l) => l.split(/\s{2,}/).filter((_, i) => i === 0 || i === 1 || i === 7 || i === 8));
    for (let i = 0; i < 2; i++) {
      const again = await run();
      expect(shape(again.stdout)).toEqual(shape(stdout));
      expect(again.stdout).toMatch(/hash chain verified/);
    }
    expect(readdirSync(data).filter((f) => f.endsWith('.journal.sqlite'))).toHaveLength(3);
  }, 90_000);

  it('refuses to append to an existing journal named with --journal', async () => {
    const journal = join(mkdtempSync(join(tmpdir(), 'warden-demo-')), 'demo.sqlite');
    const run = () => promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/demo.ts', '--journal', journal], { timeout: 30_000 }).then((r) => ({ code: 0, ...r }), (e: { code: number; stderr: string }) => e);
    expect((await run()).code).toBe(0);
    const second = await run();
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/exists; the demo writes a fresh journal each run/);
  }, 60_000);
});

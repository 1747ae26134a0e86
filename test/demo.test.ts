import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('npm start (the demo)', () => {
  it('runs all nine scenarios and prints the table with the expected outcomes', async () => {
    const journal = join(mkdtempSync(join(tmpdir(), 'warden-demo-')), 'demo.sqlite');
    const run = () => promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/demo.ts', '--journal', journal], { timeout: 30_000 });
    const { stdout } = await run();
    expect(stdout.match(/^━━ \d\./gm)).toHaveLength(9);
    const row = (name: string) => stdout.split('\n').find((l) => l.startsWith(name)) ?? '';
    expect(row('clean fill (long)')).toMatch(/ filled /);
    expect(row('clean fill (short)')).toMatch(/ filled /);
    expect(row('kill switch before')).toMatch(/rejected .*active before/);
    expect(row('kill switch during (cancel)')).toMatch(/cancelled .*active during/);
    expect(row('kill switch after')).toMatch(/filled .*active after/);
    expect(row('no fill')).toMatch(/failed_timeout/);
    expect(row('late fill')).toMatch(/executed_full_late/);
    expect(row('partial fill')).toMatch(/partially_filled\s+4000/);
    expect(row('reconciliation mismatch')).toMatch(/YES\s*$/);
    expect(stdout).toMatch(/hash chain verified/);
    // The journal is durable and shared across runs: a second run appends and still verifies.
    const second = await run();
    expect(second.stdout.match(/^━━ \d\./gm)).toHaveLength(9);
    expect(second.stdout).toMatch(/hash chain verified/);
  }, 60_000);
});

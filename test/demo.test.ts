import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('npm start (the demo)', () => {
  it('runs all nine scenarios and prints the table with the expected outcomes', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/demo.ts'], { timeout: 30_000 });
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
  }, 30_000);
});

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = (args: string[]) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', ...args], { timeout: 30_000 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

describe('npm run trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-trace-'));
  const file = join(dir, 'demo.journal.jsonl');

  it('explains an advisory from a journal file: chain verified, fills and states in order', async () => {
    await run(['src/cli/demo.ts', '--journal', join(dir, 'demo.sqlite'), '--jsonl', file]);
    const advisory = (readFileSync(file, 'utf8').match(/"advisoryId":"(demo-[0-9T]+-8)"/) ?? [])[1]!;
    const { code, stdout } = await run(['src/cli/trace.ts', file, advisory]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/hash chain verified/);
    expect(stdout).toContain(`advisory ${advisory}`);
    // The part that filled is protected as it lands, before the deadline stops the rest.
    const order = ['◦ filled 4000', '↳ placeProtection', 'live.trading.working → live.stopping.cancelling', '= partially_filled'].map((l) => stdout.indexOf(l));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  }, 30_000);

  it('says so, with a non-zero exit, when the journal was edited', async () => {
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const edited = JSON.parse(lines[10]!);
    edited.payload = { forged: true };
    lines[10] = JSON.stringify(edited);
    const forged = join(dir, 'forged.jsonl');
    writeFileSync(forged, lines.join('\n'));
    const { code, stdout } = await run(['src/cli/trace.ts', forged]);
    expect(code).toBe(3);
    expect(stdout).toMatch(/hash chain BROKEN at record 11/);
  }, 30_000);

  it('gives one clear line for a missing file, a bad file, or an unknown advisory', async () => {
    const missing = await run(['src/cli/trace.ts', join(dir, 'nope.jsonl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toMatch(/^warden: .*nope\.jsonl: no such file$/);
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"not":"a record"}\n');
    expect((await run(['src/cli/trace.ts', bad])).stderr).toMatch(/line 1: not a journal record/);
    expect((await run(['src/cli/trace.ts', file, 'adv-unknown'])).stderr).toMatch(/no execution of adv-unknown/);
  }, 30_000);
});

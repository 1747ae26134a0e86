import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { warden } from '../support/cli.js';
import { describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/entries/journal.js';
import { parseJsonl } from '../../src/entries/journal.js';


const raw = (advisoryId: string, extra: Record<string, unknown> = {}) => ({
  advisoryId, symbol: 'EURUSD', side: 'buy', positionSize: 2, referencePrice: 1.1, slOffsetPct: -0.01, tpOffsetPct: 0.02,
  createdAt: new Date(Date.now() - 60_000).toISOString(), expiresAt: new Date(Date.now() + 600_000).toISOString(),
  approval: { approvedBy: 'alice', approvedAt: new Date(Date.now() - 30_000).toISOString() }, ...extra,
});

describe('the warden command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-cli-'));
  const journal = join(dir, 'j.sqlite');

  it('runs snapshots with live progress and a table, and keeps the journal', async () => {
    const file = join(dir, 'batch.json');
    writeFileSync(file, JSON.stringify([raw('cli-1'), raw('cli-2', { symbol: 'GBPUSD', referencePrice: 1.27, side: 'sell', slOffsetPct: 0.01, tpOffsetPct: -0.02 })]));
    const r = await warden(['run', file, '--journal', journal], 60_000);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^advisory\s+status/m);
    expect(r.stdout).toMatch(/cli-1\s+filled\s+2/);
    expect(r.stdout).toMatch(/cli-2\s+filled\s+2/);
    expect(r.stderr).toMatch(/cli-1\s+live\.trading\.submitting/);
    const again = await warden(['run', file, '--journal', journal, '--json'], 60_000);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout).map((x: { error: { code: string } }) => x.error.code)).toEqual(['duplicate_advisory', 'duplicate_advisory']);
  }, 60_000);

  it('sets and shows kill switches, verifies, shows and exports the journal', async () => {
    expect((await warden(['kill-switch', 'set', 'active', '--symbol', 'EURUSD', '--reason', 'news', '--operator', 'ops', '--journal', journal], 60_000)).stdout).toMatch(/EURUSD: off → active/);
    expect((await warden(['kill-switch', 'show', '--journal', journal], 60_000)).stdout).toMatch(/EURUSD: active/);
    const refused = await warden(['kill-switch', 'set', 'off', '--symbol', 'EURUSD', '--reason', 'done', '--journal', journal], 60_000);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe('warden: --operator is required');
    expect((await warden(['journal', 'verify', '--journal', journal], 60_000)).stdout).toMatch(/hash chain verified/);
    expect((await warden(['journal', 'show', 'cli-1', '--journal', journal], 60_000)).stdout).toMatch(/= filled/);
    const out = join(dir, 'export.jsonl');
    await warden(['journal', 'export', '--jsonl', '--out', out, '--journal', journal], 60_000);
    expect(verifyChain(parseJsonl(readFileSync(out, 'utf8')))).toEqual({ ok: true });
  }, 60_000);

  it('answers mistakes with one clear line and a non-zero exit', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /^warden: unknown command "frobnicate"/],
      [['journal', 'verify', '--journal', join(dir, 'missing.sqlite')], /^warden: no journal at .*missing\.sqlite/],
      [['run', join(dir, 'nope.json'), '--journal', journal], /^warden: .*nope\.json: no such file$/],
      [['run', join(dir, 'batch.json'), '--broker', 'ftp://x', '--journal', journal], /^warden: --broker must be a URL/],
      [['resolve', 'cli-1', '--operator', 'o', '--note', 'n', '--journal', journal], /^warden: no execution of advisory cli-1 is waiting for resolution$/],
    ];
    for (const [args, message] of cases) {
      const r = await warden(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr.trim(), args.join(' ')).toMatch(message);
    }
    const notAJournal = join(dir, 'notes.txt');
    writeFileSync(notAJournal, 'my notes');
    expect((await warden(['journal', 'verify', '--journal', notAJournal], 60_000)).stderr).toMatch(/is not a Warden journal/);
    expect(readFileSync(notAJournal, 'utf8')).toBe('my notes');
    expect((await warden(['run', '--help'], 60_000)).stdout).toMatch(/^usage: warden run/);
  }, 60_000);

  it('a ccxt venue takes its credentials from the environment only, and names what is wrong', async () => {
    const file = join(dir, 'venue.json');
    writeFileSync(file, JSON.stringify(raw('cli-ccxt')));
    const env = { ...process.env, WARDEN_API_KEY: '', WARDEN_API_SECRET: '' };
    const run = (args: string[], extra: Record<string, string> = {}) =>
      promisify(execFile)(process.execPath, ['bin/warden.mjs', ...args], { timeout: 60_000, env: { ...env, ...extra } }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const noKeys = await run(['run', file, '--journal', join(dir, 'ccxt.sqlite'), '--broker', 'ccxt:binanceusdm', '--sandbox']);
    expect(noKeys).toMatchObject({ code: 2, stderr: expect.stringMatching(/needs WARDEN_API_KEY and WARDEN_API_SECRET in the environment/) });
    const badVenue = await run(['run', file, '--journal', join(dir, 'ccxt.sqlite'), '--broker', 'ccxt:nosuchvenue'], { WARDEN_API_KEY: 'k', WARDEN_API_SECRET: 's' });
    expect(badVenue).toMatchObject({ code: 2, stderr: expect.stringMatching(/ccxt has no exchange called 'nosuchvenue'/) });
  }, 60_000);
});

/**
 * Ctrl-C during `warden run` is never a silent exit: what is in flight is listed with what it will
 * do, executions keep going for a bounded grace period, then a table and the exact `recover`
 * command are printed; a second Ctrl-C exits at once, the journal intact.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteJournal } from '../../src/entries/sqlite.js';

const children: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function start(args: string[]) {
  const child = spawn(process.execPath, ['bin/warden.mjs', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = async (pattern: RegExp, what: () => string, ms = 20_000) => {
    const until = Date.now() + ms;
    while (!pattern.test(what())) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${pattern}; got:\n${what()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, exited, out: () => stdout, err: () => stderr, waitFor };
}

describe('Ctrl-C during warden run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-signal-'));
  const markets = join(dir, 'markets.json');
  writeFileSync(markets, JSON.stringify({ EURUSD: { price: 1.1, fillAfterMs: 600_000 } }));
  const snapshotFile = (advisoryId: string) => {
    const now = Date.now();
    const file = join(dir, `${advisoryId}.json`);
    writeFileSync(file, JSON.stringify({
      advisoryId, symbol: 'EURUSD', side: 'buy', positionSize: 1, referencePrice: 1.1, slOffsetPct: -0.01, tpOffsetPct: 0.02,
      createdAt: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 600_000).toISOString(),
      approval: { approvedBy: 'alice', approvedAt: new Date(now - 30_000).toISOString() },
    }));
    return file;
  };

  /** Starts `warden paper-broker` on a free loopback port whose orders never fill; resolves with its URL. */
  const paperService = async () => {
    const paper = start(['paper-broker', '--port', '0', '--markets', markets]);
    await paper.waitFor(/listening on (http:\/\/\S+)/, paper.out);
    return /listening on (http:\/\/\S+)/.exec(paper.out())![1]!;
  };

  it('first Ctrl-C: new snapshots refused, the working order cancelled at the venue, the execution settles, the table printed', async () => {
    const url = await paperService();
    const journal = join(dir, 'a.sqlite');
    const run = start(['run', snapshotFile('sig-1'), '--broker', url, '--journal', journal, '--grace', '20']);
    await run.waitFor(/sig-1\s+live\.trading\.working/, run.err);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expect(run.err()).toMatch(/SIGINT: taking no new snapshots; cancelling the working orders of 1 execution\(s\) in flight/);
    expect(run.err()).toMatch(/sig-1\s+live\.trading\.working/);
    expect(run.out()).toMatch(/sig-1.*cancelled/);
    expect(run.err()).not.toMatch(/grace period ended/);
    // The journal is intact: the shutdown hold, the cancel sent to the venue, the result.
    const records = new SqliteJournal(journal, undefined, { readOnly: true }).readAll();
    expect(records.some((r) => r.kind === 'kill_switch' && (r.payload as { hold?: { kind: string } }).hold?.kind === 'shutdown')).toBe(true);
    expect(records.some((r) => r.kind === 'broker.request' && /^cancelOrder/.test(r.event ?? ''))).toBe(true);
    expect(records.find((r) => r.kind === 'result')?.payload).toMatchObject({ status: 'cancelled' });
  }, 60_000);

  it('a second Ctrl-C exits at once, journal intact', async () => {
    const url = await paperService();
    const journal = join(dir, 'b.sqlite');
    const run = start(['run', snapshotFile('sig-2'), '--broker', url, '--journal', journal, '--grace', '300']);
    await run.waitFor(/sig-2\s+live\.trading\.working/, run.err);
    run.child.kill('SIGINT');
    await run.waitFor(/Press Ctrl-C again/, run.err);
    const t = Date.now();
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expect(Date.now() - t).toBeLessThan(5_000);
    expect(run.err()).toMatch(/SIGINT again: stopped at once \(journal intact\)/);
    // Every order still live at the venue is named with the command that resumes it.
    expect(run.err()).toMatch(new RegExp(`clientOrderId wd-\\S+[\\s\\S]*warden recover --broker ${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} --journal|No order of this run is live`));
    expect((await new SqliteJournal(journal, undefined, { readOnly: true }).verify()).ok).toBe(true);
  }, 60_000);
});

/**
 * One writer per journal file, enforced; and an operator's kill switch reaches the engine that
 * holds the journal (through the journal's command inbox), instead of being written beside it and
 * never heard.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, JournalError, PaperBroker } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { silentLogger } from '../support/fixtures.js';

const tempPath = () => join(mkdtempSync(join(tmpdir(), 'warden-writer-')), 'j.sqlite');
const children: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** Starts a process that holds `path` for writing; resolves with its pid once it does. */
function holder(path: string): Promise<{ pid: number; kill: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/holdJournal.ts', path], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the holder process did not start in 20 s')), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      const m = /ready (\d+)/.exec(d.toString());
      if (!m) return;
      clearTimeout(timer);
      resolve({ pid: Number(m[1]), kill: () => new Promise((r) => (child.once('exit', () => r()), child.kill('SIGKILL'))) });
    });
  });
}

const openError = (path: string): unknown => {
  try {
    new SqliteJournal(path);
    return null;
  } catch (e) {
    return e;
  }
};

describe('one writer per journal file', () => {
  it('a second writer in the same process is refused with a clear JournalError; a reader is not', async () => {
    const path = tempPath();
    const first = new SqliteJournal(path);
    const e = openError(path);
    expect(e).toBeInstanceOf(JournalError);
    expect((e as JournalError).code).toBe('locked');
    expect((e as Error).message).toContain(`pid ${process.pid}`);
    const reader = new SqliteJournal(path, undefined, { readOnly: true });
    expect(reader.readAll()).toEqual([]);
    expect(() => reader.append({ kind: 'kill_switch', executionId: null, advisoryId: null, snapshotHash: null })).toThrow(/read-only/);
    await reader.close();
    await first.close();
    const again = new SqliteJournal(path); // released on close
    await again.close();
  });

  it('another process holds it: refused, naming that process; once it is SIGKILLed, its stale lock is taken over', async () => {
    const path = tempPath();
    const other = await holder(path);
    const e = openError(path);
    expect((e as JournalError).code).toBe('locked');
    expect((e as Error).message).toContain(`pid ${other.pid}`);
    expect(SqliteJournal.writerOf(path)?.pid).toBe(other.pid);
    await other.kill();
    expect(SqliteJournal.writerOf(path)).toBeNull();
    const mine = new SqliteJournal(path);
    await mine.close();
  }, 30_000);
});

describe('an operator’s kill switch reaches the running engine', () => {
  it('`warden kill-switch set active` while an engine holds the journal: applied by that engine, its working order cancelled', async () => {
    const path = tempPath();
    const broker = new PaperBroker({ seed: 1, markets: { EURUSD: { price: 1.1, fillAfterMs: 600_000 } } });
    const engine = createEngine({ broker, journal: new SqliteJournal(path), logger: silentLogger(), pollIntervalMs: 100 });
    const now = Date.now();
    const running = engine.execute({
      advisoryId: 'ops-1', symbol: 'EURUSD', side: 'buy', positionSize: 1, referencePrice: 1.1, slOffsetPct: -0.01, tpOffsetPct: 0.02,
      createdAt: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 600_000).toISOString(),
      approval: { approvedBy: 'alice', approvedAt: new Date(now - 30_000).toISOString() },
    });
    const cli = await promisify(execFile)(process.execPath, ['bin/warden.mjs', 'kill-switch', 'set', 'active', '--symbol', 'EURUSD', '--reason', 'news', '--operator', 'ops', '--journal', path], { timeout: 30_000 });
    expect(cli.stdout).toContain('EURUSD: off → active');
    expect(cli.stdout).toContain(`pid ${process.pid}`);
    const result = await running;
    expect(result.status).toBe('cancelled');
    expect(result.killSwitch).toEqual({ state: 'active', phase: 'during' });
    expect(engine.killSwitch.state('EURUSD')).toBe('active');
    const records = await engine.journal.records();
    expect(records.some((r) => r.kind === 'kill_switch' && (r.payload as { operator?: string }).operator === 'ops')).toBe(true);
    await engine.close();
  }, 40_000);

  it('a command to a journal nobody writes is refused, so the caller opens it directly', async () => {
    const path = tempPath();
    await new SqliteJournal(path).close();
    await expect(SqliteJournal.submitCommand(path, { kind: 'kill_switch', state: 'active', reason: 'x', operator: 'ops' })).rejects.toMatchObject({ code: 'no_answer' });
  });
});

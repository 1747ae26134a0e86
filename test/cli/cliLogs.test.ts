/**
 * The operational log: broker failures are logged with the execution and the clientOrderId, and
 * the CLI writes the log to its own file, never mixed into the human progress on stderr.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { capturingLogger, harness, snapshot } from '../support/fixtures.js';

describe('operational logs', () => {
  it('every broker failure is logged with executionId, advisoryId and clientOrderId', async () => {
    const { logger, lines } = capturingLogger();
    const h = harness({ engine: { logger } });
    h.broker.script.submit.push({ kind: 'acceptThenFail' });
    h.broker.script.getOrder.push({ kind: 'fail' });
    h.fillOnAccept(500, 1.1);
    const result = await h.finish(snapshot());
    const failures = lines.filter((l) => /^broker (submitOrder|getOrder) failed$/.test(l.msg));
    expect(failures.map((l) => l.msg)).toEqual(['broker submitOrder failed', 'broker getOrder failed']);
    for (const f of failures) expect(f).toMatchObject({ executionId: result.executionId, advisoryId: 'adv-1', clientOrderId: result.clientOrderId });
    expect(lines.some((l) => l.msg === 'order sent' && l.clientOrderId === result.clientOrderId)).toBe(true);
  });

  it('warden run writes its log to its own file (--log-file); stderr carries only progress', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-logs-'));
    const now = Date.now();
    const file = join(dir, 's.json');
    writeFileSync(file, JSON.stringify({
      advisoryId: 'log-1', symbol: 'EURUSD', side: 'buy', positionSize: 1, referencePrice: 1.1, slOffsetPct: -0.01, tpOffsetPct: 0.02,
      createdAt: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 600_000).toISOString(),
      approval: { approvedBy: 'alice', approvedAt: new Date(now - 30_000).toISOString() },
    }));
    const log = join(dir, 'run.log');
    const r = await promisify(execFile)(process.execPath, ['bin/warden.mjs', 'run', file, '--journal', join(dir, 'j.sqlite'), '--log-file', log], { timeout: 60_000 });
    expect(r.stdout).toMatch(/log-1\s+filled/);
    expect(existsSync(log)).toBe(true);
    const entries = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.some((l) => l.msg === 'order sent' && l.advisoryId === 'log-1')).toBe(true);
    for (const line of r.stderr.split('\n')) expect(line.trim().startsWith('{')).toBe(false); // no JSON on stderr
    expect(r.stderr).toContain(`logs: ${log}`);
    // Progress: one line per change of state, never the same state twice in a row, with timings.
    const states = r.stderr.split('\n').filter((l) => l.includes('log-1')).map((l) => l.trim().split(/\s+/)[1]);
    expect(states.length).toBeGreaterThan(3);
    for (let i = 1; i < states.length; i++) expect(states[i], `line ${i}`).not.toBe(states[i - 1]);
    expect(r.stderr).toMatch(/log-1\s+live\.trading\.working\s+\+\d+\.\d s\s+\d+\.\d s to deadline/);
  }, 60_000);
});

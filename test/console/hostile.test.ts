/**
 * The console reads journals it did not write and must not trust them: malformed records are shown
 * as unreadable, never crash a page, and anything a record holds is escaped, never markup.
 */
import { describe, expect, it } from 'vitest';
import { createConsoleApp, ConsoleView, WardenMetrics } from '../../src/entries/console.js';
import { MemoryJournal } from '../../src/journal/memoryJournal.js';
import { JournalKind } from '../../src/index.js';

const XSS = '<img src=x onerror=alert(1)>';

function consoleOver(journal: MemoryJournal) {
  const view = new ConsoleView(journal);
  const metrics = new WardenMetrics(view);
  const app = createConsoleApp({
    view,
    metrics,
    store: 'hostile.sqlite',
    token: null,
    now: () => 0,
    sessionMs: 60_000,
    act: () => Promise.reject(new Error('read-only')),
    readAdvisory: async (id) => {
      const records = (await journal.records({ advisoryId: id })).concat(await journal.records({ executionId: id }));
      return records.length === 0 ? null : { records, chain: await journal.verify(), recordHashes: new Map() };
    },
    subscribe: () => () => undefined,
  });
  return { view, app };
}

describe('the console over a hostile journal', () => {
  const journal = new MemoryJournal();
  const base = { snapshotHash: null } as const;
  journal.append({ ...base, kind: JournalKind.Transition, executionId: 'e1', advisoryId: XSS, from: 'validating', to: XSS, event: 'x', payload: { event: { input: { snapshot: { symbol: XSS } } } } });
  journal.append({ ...base, kind: JournalKind.Claim, executionId: 'e1', advisoryId: XSS, payload: null });
  journal.append({ ...base, kind: JournalKind.Result, executionId: 'e2', advisoryId: 'a2', payload: 'not a result' });
  journal.append({ ...base, kind: JournalKind.Result, executionId: 'e3', advisoryId: 'a3', payload: { status: 'filled', filledQuantity: 1, requiresManualResolution: true, reconciliation: { mismatches: [null] } } });
  journal.append({ ...base, kind: JournalKind.Result, executionId: 'e4', advisoryId: 'a4', payload: { status: XSS, filledQuantity: 1, fillPrice: null, requiresManualResolution: true, error: null, reconciliation: { status: 'mismatch', mismatches: [{ field: XSS, expected: XSS, actual: 1, message: XSS }] } } });
  journal.append({ ...base, kind: JournalKind.KillSwitch, executionId: null, advisoryId: null, payload: { to: 'explode', from: 'off', symbol: 'X', at: 'now' } });
  journal.append({ ...base, kind: JournalKind.KillSwitch, executionId: null, advisoryId: null, payload: { to: 'active', from: 'off', symbol: XSS, at: 'now', type: 'symbol_level', reason: XSS, operator: XSS } });
  journal.append({ ...base, kind: JournalKind.Resolution, executionId: 'e9', advisoryId: null, payload: 42 });
  const { view, app } = consoleOver(journal);

  it('takes every record without throwing, and keeps only what it can read', () => {
    expect(view.refresh()).toBe(8);
    const s = view.snapshot();
    expect(s.inFlight.map((e) => e.state)).toEqual(expect.arrayContaining([XSS, 'result record unreadable']));
    expect(s.flagsOpen.map((e) => e.advisoryId)).toEqual(['a4']);
    expect(s.killSwitch.symbols).toEqual([{ symbol: XSS, state: 'active' }]);
  });

  it('every page answers, and what the journal holds is text, never markup', async () => {
    for (const path of ['/', '/kill-switch', '/flags', `/advisory?id=${encodeURIComponent(XSS)}`, '/advisory/a4', '/metrics', '/api/state']) {
      const r = await app.request(path);
      expect(r.status, path).toBe(200);
      const body = await r.text();
      if (!path.startsWith('/api') && !path.startsWith('/metrics')) expect(body, path).not.toContain('<img');
    }
    expect(await (await app.request('/flags')).text()).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('metrics keep their labels bounded whatever the journal says', async () => {
    const text = await (await app.request('/metrics')).text();
    expect(text).toMatch(/warden_executions_total\{status="unreadable"\} 2/);
    expect(text).toMatch(/warden_reconciliation_mismatches_total\{field="other"\} 1/);
    expect(text).not.toContain('<img');
  });
});

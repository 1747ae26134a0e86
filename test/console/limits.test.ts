/**
 * The Positions page shows the limits in force (the engine's start record with the operators'
 * tightenings laid over it, `*` filling what a symbol does not set) beside their use: the net
 * position and the orders sent in the minute before the page's `now`. A use at or over 80 % of its
 * limit is marked; a journal without limits says so; a limits record it cannot read is
 * "unreadable", never a 500.
 */
import { describe, expect, it } from 'vitest';
import { createConsoleApp, ConsoleView, WardenMetrics } from '../../src/entries/console.js';
import { MemoryJournal } from '../../src/journal/memoryJournal.js';
import { JournalKind } from '../../src/index.js';
import type { Clock } from '../../src/domain/clock.js';
import { createEngine } from '../../src/index.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { silentLogger, snapshot, T0 as ENGINE_T0 } from '../support/fixtures.js';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const NOW = T0 + 90_000;
const none = { executionId: null, advisoryId: null, snapshotHash: null } as const;

/** A clock the test sets: the journal stamps each record with it; nothing here waits on a timer. */
function handClock(start: number): Clock & { advance(ms: number): void } {
  let t = start;
  return { now: () => t, setTimeout: () => 0, clearTimeout: () => undefined, advance: (ms) => void (t += ms) };
}

function consoleOver(journal: MemoryJournal) {
  const view = new ConsoleView(journal);
  const app = createConsoleApp({
    view,
    metrics: new WardenMetrics(view),
    store: 'limits.sqlite',
    token: null,
    now: () => NOW,
    sessionMs: 60_000,
    act: () => Promise.reject(new Error('read-only')),
    readAdvisory: async () => null,
    subscribe: () => () => undefined,
  });
  return { view, app };
}

/** A finished execution that filled `quantity` on `symbol`. */
function fill(journal: MemoryJournal, id: string, symbol: string, side: 'buy' | 'sell', quantity: number, price: number) {
  const ids = { executionId: id, advisoryId: id, snapshotHash: null };
  journal.append({ ...ids, kind: JournalKind.Claim, payload: { snapshot: { symbol, side, positionSize: quantity, referencePrice: price }, clientOrderId: `wd-${id}` } });
  journal.append({ ...ids, kind: JournalKind.BrokerRequest, event: 'submitOrder', payload: { clientOrderId: `wd-${id}`, symbol, side, quantity, type: 'market' } });
  journal.append({ ...ids, kind: JournalKind.Result, payload: { status: 'filled', filledQuantity: quantity, fillPrice: price, requiresManualResolution: false } });
}
const submit = (journal: MemoryJournal, id: string, symbol: string) =>
  journal.append({ executionId: id, advisoryId: id, snapshotHash: null, kind: JournalKind.BrokerRequest, event: 'submitOrder', payload: { clientOrderId: `wd-${id}`, symbol, side: 'buy', quantity: 1, type: 'market' } });

const START = { symbols: { '*': { maxPosition: 1_000, maxOrdersPerMinute: 5, maxQuantity: 500 }, EURUSD: { maxPosition: 10_000, maxNotional: 50_000, priceCollarPct: 0.005 } }, maxOrdersPerMinute: 10 };
const TIGHTER = { symbols: { ...START.symbols, EURUSD: { ...START.symbols.EURUSD, maxOrdersPerMinute: 3 } }, maxOrdersPerMinute: 10 };

/** The cells of one symbol's row in the limits table, by the limit they show. */
function row(page: string, symbol: string): Record<string, { text: string; near: boolean; over: boolean }> {
  const table = /<table id="limits">([\s\S]*?)<\/table>/.exec(page)?.[1] ?? '';
  const tr = new RegExp(`<tr data-symbol="${symbol.replace(/[*()]/g, '\\$&')}"[^>]*>([\\s\\S]*?)</tr>`).exec(table)?.[1] ?? '';
  const cells: Record<string, { text: string; near: boolean; over: boolean }> = {};
  for (const m of tr.matchAll(/<td class="([^"]*)" data-limit="(\w+)">([\s\S]*?)<\/td>/g)) {
    cells[m[2]!] = { text: m[3]!.replace(/<[^>]+>/g, '').trim(), near: /\bnear\b/.test(m[1]!), over: /\bover\b/.test(m[1]!) };
  }
  return cells;
}

describe('the Positions page shows each limit beside its use', () => {
  const clock = handClock(T0);
  const journal = new MemoryJournal(clock);
  journal.append({ ...none, kind: JournalKind.Limits, event: 'start', payload: { limits: START } });
  fill(journal, 'old', 'EURUSD', 'buy', 2_000, 1.1); // at T0: older than a minute at NOW, still in the position
  const advance = (ms: number) => clock.advance(ms);
  advance(20_000);
  journal.append({ ...none, kind: JournalKind.Limits, event: 'tighten', payload: { at: new Date(T0 + 20_000).toISOString(), operator: 'ana', reason: 'NFP at 14:30', change: { symbols: { EURUSD: { maxOrdersPerMinute: 3 } } }, from: structuredClone(START), to: structuredClone(TIGHTER) } });
  advance(10_000);
  submit(journal, 'edge', 'EURUSD'); // exactly a minute before NOW: outside the window, as the engine counts
  advance(10_000);
  fill(journal, 'e1', 'EURUSD', 'buy', 7_000, 1.1); // with the next sell: 2 000 + 7 000 - 1 000 = 8 000 net
  advance(10_000);
  fill(journal, 'e2', 'EURUSD', 'sell', 1_000, 1.1);
  advance(10_000);
  submit(journal, 'e3', 'EURUSD');
  advance(10_000);
  fill(journal, 'x1', 'XAUUSD', 'buy', 799, 2650);
  const { view, app } = consoleOver(journal);
  view.refresh();

  it('the snapshot holds the limits in force after the tightening, `*` applied, and the last minute counted from NOW', () => {
    const l = view.snapshot(NOW).limits;
    expect(l.inForce.kind).toBe('set');
    if (l.inForce.kind !== 'set') return;
    expect(l.inForce.limits).toEqual(TIGHTER);
    expect(l.inForce.tightenings).toEqual([{ at: new Date(T0 + 20_000).toISOString(), operator: 'ana', reason: 'NFP at 14:30' }]);
    expect(l.ordersLastMinute).toBe(4);
    const eurusd = l.symbols.find((u) => u.symbol === 'EURUSD')!;
    expect(eurusd).toMatchObject({ position: 8_000, ordersLastMinute: 3, limits: { maxPosition: 10_000, maxOrdersPerMinute: 3, maxQuantity: 500, maxNotional: 50_000, priceCollarPct: 0.005 } });
    expect(l.symbols.find((u) => u.symbol === 'XAUUSD')).toMatchObject({ position: 799, ordersLastMinute: 1, limits: { maxPosition: 1_000, maxOrdersPerMinute: 5, maxQuantity: 500 } });
    // A minute later every send has aged out.
    expect(view.snapshot(NOW + 60_000).limits.ordersLastMinute).toBe(0);
  });

  it('the page shows each figure beside its limit and marks a use at or over 80 %', async () => {
    const r = await app.request('/positions');
    expect(r.status).toBe(200);
    const page = await r.text();
    expect(page).toContain('tightened 1 time');
    expect(page).toContain('NFP at 14:30');
    const eurusd = row(page, 'EURUSD');
    expect(eurusd.maxPosition).toEqual({ text: '8,000 / 10,000', near: true, over: false }); // exactly 80 %
    expect(eurusd.maxOrdersPerMinute).toEqual({ text: '3 / 3', near: true, over: true });
    expect(eurusd.maxQuantity?.text).toBe('500');
    expect(eurusd.maxNotional?.text).toBe('50,000');
    expect(eurusd.priceCollarPct?.text).toBe('0.5 %');
    const xauusd = row(page, 'XAUUSD');
    expect(xauusd.maxPosition).toEqual({ text: '799 / 1,000', near: false, over: false }); // 79.9 %
    expect(xauusd.maxOrdersPerMinute).toEqual({ text: '1 / 5', near: false, over: false });
    expect(row(page, '(all)').maxOrdersPerMinute).toEqual({ text: '4 / 10', near: false, over: false });
    expect(page).not.toMatch(/style="/);
  });
});

describe('a journal with no limits, or limits it cannot read', () => {
  it('says no limits are configured', async () => {
    const journal = new MemoryJournal(handClock(T0));
    fill(journal, 'e1', 'EURUSD', 'buy', 1_000, 1.1);
    const { view, app } = consoleOver(journal);
    view.refresh();
    const page = await (await app.request('/positions')).text();
    expect(page).toContain('No limits configured');
    expect(page).not.toContain('<table id="limits">');
  });

  it.each([
    ['a field of the wrong type', { limits: { symbols: { '*': { maxPosition: 'lots' } } } }],
    ['no limits at all', null],
    ['an unknown field', { limits: { symbols: {}, maxOrders: 3 } }],
  ])('a start record with %s is unreadable, and every page still answers', async (_, payload) => {
    const journal = new MemoryJournal(handClock(T0));
    journal.append({ ...none, kind: JournalKind.Limits, event: 'start', payload });
    fill(journal, 'e1', 'EURUSD', 'buy', 1_000, 1.1);
    const { view, app } = consoleOver(journal);
    view.refresh();
    expect(view.snapshot(NOW).limits.inForce.kind).toBe('unreadable');
    for (const path of ['/positions', '/', '/api/state']) expect((await app.request(path)).status, path).toBe(200);
    const page = await (await app.request('/positions')).text();
    expect(page).toMatch(/Limits unreadable/);
  });

  it('a tightening with a wrong type makes the limits unreadable; a later good record reads again', async () => {
    const journal = new MemoryJournal(handClock(T0));
    journal.append({ ...none, kind: JournalKind.Limits, event: 'start', payload: { limits: START } });
    journal.append({ ...none, kind: JournalKind.Limits, event: 'tighten', payload: { operator: 7, reason: [], to: { symbols: { EURUSD: { maxQuantity: -1 } } } } });
    const { view, app } = consoleOver(journal);
    view.refresh();
    expect((await app.request('/positions')).status).toBe(200);
    expect(await (await app.request('/positions')).text()).toMatch(/Limits unreadable[\s\S]*maxQuantity/);
    journal.append({ ...none, kind: JournalKind.Limits, event: 'tighten', payload: { operator: 7, reason: [], to: TIGHTER } });
    view.refresh();
    const inForce = view.snapshot(NOW).limits.inForce;
    expect(inForce).toMatchObject({ kind: 'set', limits: TIGHTER, tightenings: [{ operator: '(unreadable)', reason: '(unreadable)' }] });
  });
});

describe('the records a running engine writes', () => {
  it('are read as the engine holds them: its start, an operator tightening and its submits', async () => {
    const clock = new VirtualClock(ENGINE_T0);
    const broker = new ScriptedBroker({ clock, latencyMs: 10, push: true });
    broker.onAccepted((o) => clock.setTimeout(() => broker.fill(o.clientOrderId, o.quantity, 1.1), 20));
    const journal = new MemoryJournal(clock);
    const engine = createEngine({ broker, clock, journal, logger: silentLogger(), pollIntervalMs: 500, limits: { symbols: { '*': { maxPosition: 100 } }, maxOrdersPerMinute: 10 } });
    expect((await clock.run(engine.execute(snapshot({ advisoryId: 'real-1', positionSize: 60 })))).status).toBe('filled');
    engine.limits.set({ symbols: { EURUSD: { maxPosition: 75 } } }, { operator: 'ana', reason: 'thin market' });
    const view = new ConsoleView(journal);
    view.refresh();
    const l = view.snapshot(clock.now()).limits;
    expect(l.inForce).toMatchObject({ kind: 'set', limits: engine.limits.current(), tightenings: [{ operator: 'ana', reason: 'thin market' }] });
    expect(l.ordersLastMinute).toBe(1);
    expect(l.symbols).toEqual([{ symbol: 'EURUSD', limits: { maxPosition: 75 }, position: 60, ordersLastMinute: 1 }]);
    await engine.close();
  });
});

/**
 * The console as a desk uses it: it answers only at its own address, one client cannot lock another
 * out of signing in, named operators are who the journal records, "stop everything" asks first and
 * then stops everything, positions and the finished list say what a trader needs, and no record a
 * journal can hold turns a page into a 500 or stops the console from starting.
 */
import Database from 'better-sqlite3';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleApp, ConsoleView, startConsole, WardenMetrics } from '../../src/entries/console.js';
import { JournalKind, type ExecutionResult } from '../../src/index.js';
import { MemoryJournal } from '../../src/journal/memoryJournal.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { addOperator, readOperators, tokenDigest } from '../../src/console/operators.js';
import { openDesk, type Desk } from '../support/desk.js';
import { join } from 'node:path';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';

/** A GET with a Host header of our choosing (fetch does not let one set it). */
function getWithHost(url: string, host: string | null): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, ...(host === null ? { setHost: false } : { headers: { host } }) }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const ANA = 'ana-token-0123456789abcdef';
const BEN = 'ben-token-0123456789abcdef';

/** A console app over an in-memory journal, with named operators; requests can come from any client address. */
function appOver(journal: MemoryJournal, acted: unknown[] = []) {
  const view = new ConsoleView(journal);
  const app = createConsoleApp({
    view,
    metrics: new WardenMetrics(view),
    store: 'desk.sqlite',
    token: null,
    operators: [
      { name: 'ana', tokenSha256: tokenDigest(ANA) },
      { name: 'ben', tokenSha256: tokenDigest(BEN) },
    ],
    now: () => Date.parse('2026-03-02T10:00:00.000Z'),
    sessionMs: 60_000,
    act: async (command) => (acted.push(command), { ok: true, message: 'applied', appliedBy: 'direct' }),
    readAdvisory: async (id) => {
      const records = await journal.records({ advisoryId: id });
      return records.length === 0 ? null : { records, chain: await journal.verify(), recordHashes: new Map() };
    },
    subscribe: () => () => undefined,
  });
  const from = (address: string) => ({ incoming: { socket: { remoteAddress: address }, headers: { host: 'localhost:7080' } } });
  const post = (path: string, form: Record<string, string>, headers: Record<string, string> = {}, address = '10.0.0.1') =>
    app.request(path, { method: 'POST', body: new URLSearchParams(form), headers: { origin: 'http://localhost', 'content-type': 'application/x-www-form-urlencoded', ...headers } }, from(address));
  const get = (path: string, cookie = '') => app.request(path, { headers: cookie ? { cookie } : {} }, from('10.0.0.1'));
  const signIn = async (token: string) => {
    const r = await post('/login', { token });
    expect(r.status).toBe(303);
    const cookie = r.headers.get('set-cookie')!.split(';')[0]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(await (await get('/kill-switch', cookie)).text())![1]!;
    return { cookie, csrf };
  };
  return { app, view, post, get, signIn };
}

const at = (s: number) => new Date(Date.parse('2026-03-02T09:00:00.000Z') + s * 1000).toISOString();
function result(over: Partial<ExecutionResult> & { advisoryId: string }): ExecutionResult {
  return {
    executionId: `x-${over.advisoryId}`, snapshotHash: 'h', status: 'filled', clientOrderId: `wd-${over.advisoryId}`, brokerOrderId: 'P-1', fillPrice: 1.1, filledQuantity: 1,
    stopLoss: 1.089, takeProfit: 1.122, slippagePct: 0.01, killSwitch: { state: 'off', phase: null }, attempts: [], reconciliation: null, requiresManualResolution: false, error: null,
    startedAt: at(0), finishedAt: at(1), durationMs: 1000, ...over,
  } as ExecutionResult;
}
/** A claim and a result, as an engine journals them. */
function finished(journal: MemoryJournal, advisoryId: string, symbol: string, side: 'buy' | 'sell', over: Partial<ExecutionResult> = {}, approvedBy = 'alice') {
  const r = result({ ...over, advisoryId });
  journal.append({ kind: JournalKind.Claim, executionId: `x-${advisoryId}`, advisoryId, snapshotHash: 'h', payload: { snapshot: { advisoryId, symbol, side, positionSize: r.filledQuantity || 1, referencePrice: 1.1, approval: { approvedBy, approvedAt: at(-60) } }, clientOrderId: r.clientOrderId, deadlineAt: Date.parse(at(30)) } });
  journal.append({ kind: JournalKind.Result, executionId: `x-${advisoryId}`, advisoryId, snapshotHash: 'h', payload: r });
}

describe('who may talk to the console', () => {
  let desk: Desk;
  beforeAll(async () => {
    desk = await openDesk({ EURUSD: { price: 1.1, fillAfterMs: 5 } });
  });
  afterAll(() => desk.close());

  it('answers at its loopback names only: a rebound name is refused before anything is read', async () => {
    const port = new URL(desk.console.url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'LOCALHOST']) expect((await getWithHost(desk.console.url, host)).status, host).toBe(200);
    for (const host of [`attacker.example:${port}`, 'attacker.example', `127.0.0.1.nip.io:${port}`, null]) {
      const r = await getWithHost(new URL('/api/state', desk.console.url).toString(), host);
      expect(r.status, `Host ${host}`).toBe(host === null ? 400 : 421); // no Host at all: Node refuses it first
      expect(r.body).not.toContain('inFlight');
    }
  });

  it('sign-in attempts are limited per client: one client using up its attempts does not lock another out', async () => {
    const { post } = appOver(new MemoryJournal());
    for (let i = 0; i < 10; i++) expect((await post('/login', { token: `guess-${i}-xxxxxxxxxxxxxxxx` }, {}, '10.9.9.9')).status).toBe(401);
    expect((await post('/login', { token: ANA }, {}, '10.9.9.9')).status).toBe(429);
    expect((await post('/login', { token: ANA }, {}, '10.0.0.2')).status).toBe(303);
  });
});

describe('named operators', () => {
  it('add-operator writes an owner-only file holding digests only; a duplicate name and a bad name are refused', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'warden-operators-')), 'ops.json');
    const token = addOperator(file, 'ana');
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readOperators(file)).toEqual([{ name: 'ana', tokenSha256: tokenDigest(token) }]);
    expect(JSON.stringify(readOperators(file))).not.toContain(token);
    expect(() => addOperator(file, 'ana')).toThrow(/already exists/);
    expect(() => addOperator(file, 'a b<script>')).toThrow(/operator name/);
    expect(readOperators(file)).toHaveLength(1);
  });

  it("the journal records the signed-in operator's name, whatever a form says", async () => {
    const acted: { operator?: string }[] = [];
    const { post, get, signIn } = appOver(new MemoryJournal(), acted);
    const { cookie, csrf } = await signIn(ANA);
    const page = await (await get('/kill-switch', cookie)).text();
    expect(page).toContain('signed in as <b id="operator-name">ana</b>');
    expect(page).not.toContain('name="operator"');
    expect((await post('/kill-switch', { state: 'warning', reason: 'news', operator: 'mallory', csrf }, { cookie })).status).toBe(303);
    expect((await post('/flags/resolve', { advisoryId: 'a-1', note: 'checked', operator: 'mallory', csrf }, { cookie })).status).toBe(303);
    expect(acted.map((c) => c.operator)).toEqual(['ana', 'ana']);
    const other = await signIn(BEN);
    await post('/kill-switch', { state: 'off', reason: 'clear', csrf: other.csrf }, { cookie: other.cookie });
    expect(acted.at(-1)?.operator).toBe('ben');
  });
});

describe('stop everything', () => {
  it('asks first and changes nothing; confirmed, it sets the global switch active through the command path', async () => {
    const acted: unknown[] = [];
    const { post, get, signIn } = appOver(new MemoryJournal(), acted);
    expect(await (await get('/')).text()).not.toContain('id="stop-everything"');
    const { cookie, csrf } = await signIn(ANA);
    expect(await (await get('/', cookie)).text()).toContain('id="stop-everything"');
    const ask = await post('/stop-everything', { csrf }, { cookie });
    expect(ask.status).toBe(200);
    expect(await ask.text()).toContain('This sets the global kill switch to active');
    expect(acted).toEqual([]);
    expect((await post('/stop-everything', { csrf: `${csrf}x`, confirmed: 'yes' }, { cookie })).status).toBe(403);
    expect(acted).toEqual([]);
    const done = await post('/stop-everything', { csrf, confirmed: 'yes', reason: 'flash crash' }, { cookie });
    expect(done.status).toBe(303);
    expect(acted).toEqual([{ kind: 'kill_switch', state: 'active', reason: 'flash crash', operator: 'ana' }]);
  });

  it('with a real engine: every working order gets its cancel, and the batch cancel is in warden_broker_call_seconds', async () => {
    const desk = await openDesk({ GBPUSD: { price: 1.27, noLiquidity: true }, EURUSD: { price: 1.1, noLiquidity: true } });
    try {
      const running = [desk.engine.execute(desk.snapshot('stop-1', 'GBPUSD')), desk.engine.execute(desk.snapshot('stop-2', 'EURUSD', 'sell'))];
      for (let i = 0; i < 200 && desk.broker.venue.snapshot().orders.filter((o) => o.status === 'pending').length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      const base = desk.console.url.replace(/\/$/, '');
      const login = await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ token: 'desk-token-0123456789abcdef' }), headers: { origin: base }, redirect: 'manual' });
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
      const csrf = /name="csrf" value="([^"]+)"/.exec(await (await fetch(`${base}/kill-switch`, { headers: { cookie } })).text())![1]!;
      const confirmed = await fetch(`${base}/stop-everything`, { method: 'POST', body: new URLSearchParams({ csrf, confirmed: 'yes', operator: 'ana' }), headers: { origin: base, cookie }, redirect: 'manual' });
      expect(confirmed.status).toBe(303);
      const results = await Promise.all(running);
      expect(results.map((r) => r.status)).toEqual(['cancelled', 'cancelled']);
      expect(desk.engine.killSwitch.state()).toBe('active');
      expect(desk.broker.venue.snapshot().orders.map((o) => o.status)).toEqual(['cancelled', 'cancelled']);
      await new Promise((r) => setTimeout(r, 120));
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/warden_broker_call_seconds_count\{method="cancelOrders",outcome="answered"\} 2/);
      const status = await (await fetch(`${base}/`)).text();
      expect(status).toMatch(/data-scope="global" data-state="active"/);
    } finally {
      await desk.close();
    }
  }, 20_000);
});

describe('what a desk reads', () => {
  const journal = new MemoryJournal();
  finished(journal, 'f-buy', 'EURUSD', 'buy', { filledQuantity: 3, fillPrice: 1.10012, slippagePct: 0.0109 }, 'alice');
  finished(journal, 'f-sell', 'EURUSD', 'sell', { filledQuantity: 1, fillPrice: 1.2, stopLoss: 1.212, takeProfit: 1.176 }, 'bob');
  finished(journal, 'f-gold', 'XAUUSD', 'sell', { filledQuantity: 2, fillPrice: 2650.123456, stopLoss: 2676.6, takeProfit: 2597.1 }, 'carol');
  finished(journal, 'f-late', 'XAUUSD', 'sell', { status: 'failed_timeout', filledQuantity: 0, fillPrice: null, stopLoss: null, takeProfit: null, slippagePct: null, error: { code: 'timeout', message: 'nothing filled within the 30 s window' } }, 'carol');
  for (let i = 0; i < 70; i++) finished(journal, `bulk-${String(i).padStart(2, '0')}`, 'GBPUSD', 'buy', { filledQuantity: 0, status: 'rejected', fillPrice: null, error: { code: 'kill_switch_active', message: 'halted' } });
  journal.append({ kind: JournalKind.BrokerResponse, executionId: 'x-f-gold', advisoryId: 'f-gold', snapshotHash: 'h', event: 'getPosition', payload: { symbol: 'XAUUSD', quantity: -3, averagePrice: 2650, stopLoss: 2676.6, takeProfit: 2597.1 } });
  journal.append({ kind: JournalKind.KillSwitch, executionId: null, advisoryId: null, snapshotHash: null, event: 'set', payload: { at: at(3), symbol: 'EURUSD', from: 'off', to: 'warning', type: 'manual', reason: 'ECB', operator: 'ops' } });
  journal.append({ kind: JournalKind.KillSwitch, executionId: null, advisoryId: null, snapshotHash: null, event: 'set', payload: { at: at(4), symbol: 'EURUSD', from: 'warning', to: 'off', type: 'manual', reason: 'ECB done', operator: 'ops' } });
  journal.append({ kind: JournalKind.KillSwitch, executionId: null, advisoryId: null, snapshotHash: null, event: 'set', payload: { at: at(4), symbol: 'XAUUSD', from: 'off', to: 'active', type: 'manual', reason: 'gold halt', operator: 'kim' } });
  journal.append({ kind: JournalKind.KillSwitch, executionId: null, advisoryId: null, snapshotHash: null, event: 'set', payload: { at: at(5), symbol: null, from: 'off', to: 'warning', type: 'manual', reason: 'NFP', operator: 'ops' } });
  const { get } = appOver(journal);

  it("Positions: Warden's net per symbol, exposure at the last fill price, protective levels, and a venue that differs", async () => {
    const page = await (await get('/positions')).text();
    const row = (symbol: string) => new RegExp(`<tr data-symbol="${symbol}"[^>]*>(.*?)</tr>`, 's').exec(page)![1]!;
    expect(row('EURUSD')).toMatch(/class="num net">2</);
    expect(row('EURUSD')).toMatch(/class="num exposure">2\.4</); // |2| × 1.2, the last fill
    expect(row('EURUSD')).toContain('SL 1.089'); // the buy's levels: the sell reduced, did not flip
    expect(row('XAUUSD')).toMatch(/class="num net">-2</);
    expect(row('XAUUSD')).toMatch(/class="num exposure">5,300\.25</);
    expect(row('XAUUSD')).toContain("differs from Warden's ledger");
    expect(page).toMatch(/<tr data-symbol="XAUUSD" class="differs">/);
  });

  it('Finished: slippage, notional, approver, rounded prices; search, status and symbol filters; pages', async () => {
    const all = await (await get('/finished')).text();
    expect(all).toContain('74 of 74');
    expect(all).toContain('page 1 of 2');
    const one = await (await get('/finished?q=f-buy')).text();
    const row = /<tr data-advisory="f-buy">(.*?)<\/tr>/s.exec(one)![1]!;
    expect(row).toContain('1.10012');
    expect(row).toMatch(/class="num slippage">\+0\.011 %/);
    expect(row).toMatch(/class="num notional">3\.3/);
    expect(row).toMatch(/class="approver">alice</);
    expect(await (await get('/finished?q=carol')).text()).toContain('2 of 74'); // the approver is searchable
    const gold = await (await get('/finished?q=f-gold')).text();
    expect(gold).toContain('2,650.12');
    expect(gold).not.toContain('2650.123456');
    const timeouts = await (await get('/finished?status=failed_timeout')).text();
    expect(timeouts).toContain('1 of 74');
    expect(timeouts).toContain('data-advisory="f-late"');
    expect(await (await get('/finished?symbol=EURUSD')).text()).toContain('2 of 74');
    const second = await (await get('/finished?status=rejected&page=2')).text();
    expect(second).toContain('page 2 of 2');
    expect((second.match(/<tr data-advisory="bulk-/g) ?? []).length).toBe(20);
    expect(second).toContain('id="prev"');
    expect((await get('/finished?page=-3')).status).toBe(400);
  });

  it('times show UTC with a tick-able age; the status bar shows the effective state of every halted scope with what holds it', async () => {
    const page = await (await get('/')).text();
    expect(page).toMatch(/<time datetime="2026-03-02T09:00:01.000Z">2026-03-02 09:00:01Z<\/time>/);
    expect(page).toMatch(/data-since="2026-03-02T09:00:01.000Z">59 min ago</);
    expect(page).toContain('<script src="/clock.js">');
    expect(page).toMatch(/data-scope="global" data-state="warning"/);
    expect(page).toContain('global warning — operator by ops: NFP');
    expect(page).toMatch(/id="status-flags"[^>]*>0 open flags/);
    // A symbol held on its own is listed with its own hold; one that only the global switch holds is not repeated.
    expect(page).toMatch(/data-scope="XAUUSD" data-state="active">XAUUSD <span class="pill active">active<\/span><span class="holds"><span class="hold" data-hold="operator">XAUUSD active — operator by kim: gold halt \(lifted by [^)]*\)<\/span><\/span>/);
    expect(page).not.toMatch(/data-scope="EURUSD"/);
    const switches = await (await get('/kill-switch')).text();
    const row = (scope: string) => new RegExp(`<tr data-scope="${scope}">(.*?)</tr>`, 's').exec(switches)![1]!;
    expect(row('EURUSD')).toMatch(/<td><span class="pill off">off<\/span><\/td><td class="effective"><span class="pill warning">warning<\/span>/);
    expect(row('XAUUSD')).toMatch(/<td><span class="pill active">active<\/span><\/td><td class="effective"><span class="pill active">active<\/span>/);
    const clock = await (await get('/clock.js')).text();
    expect(clock).toContain("' local'");
  });
});

describe('no record a journal can hold breaks a page', () => {
  const journal = new MemoryJournal();
  const odd: unknown[] = [{ toString: 1 }, { valueOf: 'x', toString: 'y' }, 7, true, ['x'], 'str', null, { a: { b: 1 } }];
  odd.forEach((w, n) => {
    const base = { snapshotHash: null, advisoryId: `odd-${n}` };
    journal.append({ ...base, kind: JournalKind.Claim, executionId: `c${n}`, payload: { snapshot: { symbol: w, side: w, positionSize: w, referencePrice: w, approval: { approvedBy: w } }, clientOrderId: w, deadlineAt: w } });
    journal.append({ ...base, kind: JournalKind.Transition, executionId: `c${n}`, from: 'a', to: 'live.trading.working', event: 'x', payload: w });
    journal.append({ ...base, kind: JournalKind.Result, executionId: `r${n}`, payload: { status: 'filled', filledQuantity: 1, requiresManualResolution: true, fillPrice: w, finishedAt: w, error: { code: w, message: w }, reconciliation: { status: w, mismatches: [{ field: w, expected: w, actual: w, message: w }] }, attempts: w } });
    journal.append({ ...base, kind: JournalKind.Result, executionId: `ok${n}`, payload: { status: 'filled', filledQuantity: 1, requiresManualResolution: true, fillPrice: 1.1, error: null, reconciliation: { status: 'mismatch', mismatches: [{ field: 'position.quantity', expected: w, actual: w, message: 'differs' }] } } });
    journal.append({ ...base, kind: JournalKind.KillSwitch, executionId: null, payload: { to: 'warning', from: 'off', symbol: 'EURUSD', at: at(n), type: w, reason: w, operator: w } });
    journal.append({ ...base, kind: JournalKind.Resolution, executionId: `ok${n}`, payload: { operator: w, note: w } });
    journal.append({ ...base, kind: JournalKind.BrokerResponse, executionId: `c${n}`, event: 'getPosition', payload: { symbol: w, quantity: w } });
  });
  const { get, view } = appOver(journal);

  it('every page answers 200, and what cannot be read is said to be unreadable', async () => {
    view.refresh();
    for (const path of ['/', '/positions', '/finished', '/kill-switch', '/flags', '/advisory/odd-0', '/advisory/odd-1', '/advisory/odd-7', '/metrics', '/api/state', '/login']) {
      const r = await get(path);
      expect(r.status, `${path}: ${r.status === 200 ? '' : await r.text()}`).toBe(200);
    }
    const states = view.snapshot().inFlight.map((e) => e.state);
    expect(states.filter((s) => s === 'result record unreadable')).toHaveLength(odd.length);
    expect(await (await get('/kill-switch')).text()).toContain('(unreadable)');
    expect(await (await get('/flags')).text()).toContain('(unreadable)');
  });

  it('a payload stored as text that is not JSON neither stops the console from starting nor hides the rest', async () => {
    const desk = await openDesk({ EURUSD: { price: 1.1, fillAfterMs: 5 } });
    const path = desk.path;
    expect((await desk.engine.execute(desk.snapshot('kept-1', 'EURUSD'))).status).toBe('filled');
    await desk.close();
    const db = new Database(path);
    db.prepare("UPDATE records SET payload = '{not json' WHERE sequence = (SELECT MIN(sequence) FROM records WHERE kind = 'result')").run();
    db.prepare("UPDATE records SET payload = 'also not json' WHERE sequence = (SELECT MIN(sequence) FROM records WHERE kind = 'claim')").run();
    db.close();
    const running = await startConsole({ journal: path, port: 0, token: null });
    try {
      const now = await (await fetch(running.url)).text();
      expect(now).toContain('kept-1');
      expect(now).toContain('result record unreadable');
      const advisory = await (await fetch(new URL('/advisory/kept-1', running.url))).text();
      expect(advisory).toContain('unreadable: the stored payload is not JSON');
      expect(new SqliteJournal(path, undefined, { readOnly: true }).readAll().length).toBeGreaterThan(5);
    } finally {
      await running.close();
    }
  });
});

/**
 * The console's routes and its security, over a real journal with a real engine writing it:
 * reading needs nothing, acting needs the operator token's session and the form's CSRF token;
 * bad input is a 4xx with a clear message and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsole } from '../../src/entries/console.js';
import { openDesk, OPERATOR_TOKEN, type Desk } from '../support/desk.js';

let desk: Desk;
let base: string;

const killSwitchRecords = async () => (await desk.engine.journal.records()).filter((r) => r.kind === 'kill_switch').length;
const get = (path: string, cookie?: string) => fetch(new URL(path, base), { headers: cookie ? { cookie } : {}, redirect: 'manual' });
const post = (path: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(new URL(path, base), { method: 'POST', body: new URLSearchParams(form), headers: { origin: base.replace(/\/$/, ''), ...headers }, redirect: 'manual' });

async function signIn(): Promise<{ cookie: string; csrf: string }> {
  const r = await post('/login', { token: OPERATOR_TOKEN });
  expect(r.status).toBe(303);
  const setCookie = r.headers.get('set-cookie')!;
  expect(setCookie).toMatch(/HttpOnly/);
  expect(setCookie).toMatch(/SameSite=Strict/);
  const cookie = setCookie.split(';')[0]!;
  const page = await (await get('/kill-switch', cookie)).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
  return { cookie, csrf };
}

beforeAll(async () => {
  desk = await openDesk({ EURUSD: { price: 1.1, fillAfterMs: 5 }, XAUUSD: { price: 2650, fillAfterMs: 5 } });
  base = desk.console.url;
  desk.broker.elsewhere.set('XAUUSD', 2);
  expect((await desk.engine.execute(desk.snapshot('route-1', 'EURUSD'))).status).toBe('filled');
  const flagged = await desk.engine.execute(desk.snapshot('route-flag', 'XAUUSD'));
  expect(flagged.requiresManualResolution).toBe(true);
  await new Promise((r) => setTimeout(r, 120)); // the console reads every 50 ms
}, 30_000);
afterAll(() => desk.close());

describe('reading', () => {
  it('every page answers without signing in, and says it is read-only', async () => {
    for (const path of ['/', '/kill-switch', '/flags', '/advisory', '/advisory/route-1', '/console.css', '/live.js']) {
      const r = await get(path);
      expect(r.status, path).toBe(200);
    }
    const now = await (await get('/')).text();
    expect(now).toContain('route-1');
    expect(now).toContain('sign in to act');
    const flags = await (await get('/flags')).text();
    expect(flags).toContain('route-flag');
    expect(flags).toContain('position.quantity');
    expect(flags).toContain('Sign in with the operator token to resolve');
  });

  it('pages forbid framing and foreign scripts', async () => {
    const r = await get('/');
    expect(r.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(r.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('the advisory page shows the timeline and the chain check; an unknown id says so', async () => {
    const page = await (await get('/advisory?id=route-1')).text();
    expect(page).toContain('hash chain verified');
    expect(page).toMatch(/live\.trading\.submitting/);
    expect(await (await get('/advisory?id=nobody')).text()).toContain('No record of nobody');
    expect((await get(`/advisory?id=${'x'.repeat(129)}`)).status).toBe(400);
  });

  it('/metrics speaks Prometheus: statuses, flags, switches, broker latency', async () => {
    const r = await get('/metrics');
    expect(r.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await r.text();
    expect(text).toMatch(/warden_executions_total\{status="filled"\} 2/);
    expect(text).toMatch(/warden_flags_open 1/);
    expect(text).toMatch(/warden_kill_switch_state\{scope="XAUUSD"\} 1/);
    expect(text).toMatch(/warden_broker_call_seconds_count\{method="submitOrder",outcome="answered"\} 2/);
    expect(text).toMatch(/warden_reconciliation_mismatches_total\{field="position.quantity"\} 1/);
    expect(text).toMatch(/warden_executions_in_flight 0/);
  });
});

describe('acting', () => {
  it('without a session: 401, nothing written', async () => {
    const before = await killSwitchRecords();
    const r = await post('/kill-switch', { state: 'active', reason: 'x', operator: 'eve', confirmed: 'yes', csrf: 'guess' });
    expect(r.status).toBe(401);
    expect(await r.text()).toMatch(/sign in with the operator token/);
    expect(await killSwitchRecords()).toBe(before);
  });

  it('a wrong token is refused; the right one opens a session; the token never appears in a page', async () => {
    const wrong = await post('/login', { token: 'not-the-token-at-all' });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('not the operator token');
    const { cookie } = await signIn();
    for (const path of ['/', '/kill-switch', '/flags', '/advisory/route-1', '/metrics']) expect(await (await get(path, cookie)).text()).not.toContain(OPERATOR_TOKEN);
  });

  it('a form without its CSRF token, or from another site, is refused and changes nothing', async () => {
    const { cookie, csrf } = await signIn();
    const before = await killSwitchRecords();
    const noToken = await post('/kill-switch', { state: 'warning', reason: 'x', operator: 'ops' }, { cookie });
    expect(noToken.status).toBe(403);
    const forged = await post('/kill-switch', { state: 'warning', reason: 'x', operator: 'ops', csrf: `${csrf}x` }, { cookie });
    expect(forged.status).toBe(403);
    const crossSite = await post('/kill-switch', { state: 'warning', reason: 'x', operator: 'ops', csrf }, { cookie, origin: 'http://evil.example' });
    expect(crossSite.status).toBe(403);
    expect(await killSwitchRecords()).toBe(before);
  });

  it('bad input is a 400 naming what is wrong; an oversized body a 413; nothing changes', async () => {
    const { cookie, csrf } = await signIn();
    const before = await killSwitchRecords();
    const cases: [Record<string, string>, RegExp][] = [
      [{ state: 'explode', reason: 'x', operator: 'ops', csrf }, /state/],
      [{ state: 'warning', reason: '', operator: 'ops', csrf }, /a reason is required/],
      [{ state: 'warning', reason: 'x', operator: '  ', csrf }, /an operator name is required/],
      [{ state: 'warning', symbol: 'EUR USD<script>', reason: 'x', operator: 'ops', csrf }, /symbol/],
    ];
    for (const [form, message] of cases) {
      const r = await post('/kill-switch', form, { cookie });
      expect(r.status, JSON.stringify(form)).toBe(400);
      const text = await r.text();
      expect(text).toMatch(/nothing changed/);
      expect(text).toMatch(message);
      expect(text).not.toContain('<script>');
    }
    const big = await post('/kill-switch', { state: 'warning', reason: 'x'.repeat(20_000), operator: 'ops', csrf }, { cookie });
    expect(big.status).toBe(413);
    // A body that cannot be read as a form at all (a truncated multipart) is a 400 too, never a 500.
    const truncated = await fetch(new URL('/kill-switch', base), {
      method: 'POST',
      body: '--zzz\r\nContent-Disposition: form-data; name="state"\r\n\r\nwarn',
      headers: { origin: base.replace(/\/$/, ''), cookie, 'content-type': 'multipart/form-data; boundary=zzz' },
      redirect: 'manual',
    });
    expect(truncated.status).toBe(400);
    expect(await truncated.text()).toMatch(/nothing changed: the form could not be read/);
    expect(await killSwitchRecords()).toBe(before);
  });

  it('activating asks for confirmation first, then applies and shows the effect', async () => {
    const { cookie, csrf } = await signIn();
    const before = await killSwitchRecords();
    const ask = await post('/kill-switch', { state: 'active', symbol: 'EURUSD', reason: 'news', operator: 'ana', csrf }, { cookie });
    expect(ask.status).toBe(200);
    expect(await ask.text()).toContain('Activate the kill switch for EURUSD?');
    expect(await killSwitchRecords()).toBe(before);
    const done = await post('/kill-switch', { state: 'active', symbol: 'EURUSD', reason: 'news', operator: 'ana', confirmed: 'yes', csrf }, { cookie });
    expect(done.status).toBe(303);
    expect(desk.engine.killSwitch.state('EURUSD')).toBe('active');
    const page = await (await get('/kill-switch', cookie)).text();
    expect(page).toMatch(/EURUSD: off → active/);
    expect(page).toMatch(/applied by the running engine \(pid \d+\)/);
    expect(page).toContain('ana');
    const off = await post('/kill-switch', { state: 'off', symbol: 'EURUSD', reason: 'all clear', operator: 'ana', csrf }, { cookie });
    expect(off.status).toBe(303);
    expect(desk.engine.killSwitch.state('EURUSD')).toBe('off');
  });

  it('resolving an unknown advisory is refused; resolving the flag lifts the symbol halt', async () => {
    const { cookie, csrf } = await signIn();
    await post('/flags/resolve', { advisoryId: 'nobody', operator: 'carol', note: 'n', csrf }, { cookie });
    expect(await (await get('/flags', cookie)).text()).toMatch(/refused: no execution of advisory nobody/);
    expect(desk.engine.killSwitch.state('XAUUSD')).toBe('warning');
    const r = await post('/flags/resolve', { advisoryId: 'route-flag', operator: 'carol', note: 'desk position, checked', csrf }, { cookie });
    expect(r.status).toBe(303);
    expect(desk.engine.awaitingResolution()).toEqual([]);
    expect(desk.engine.killSwitch.state('XAUUSD')).toBe('off');
    await new Promise((res) => setTimeout(res, 120));
    const flags = await (await get('/flags', cookie)).text();
    expect(flags).toContain('No execution awaits resolution');
    expect(flags).toContain('desk position, checked');
  });

  it('sign-in attempts are limited, so the token cannot be found by trying', async () => {
    let last = 0;
    for (let i = 0; i < 12; i++) last = (await post('/login', { token: `guess-${i}-xxxxxxxxxxxx` })).status;
    expect(last).toBe(429);
  });
});

describe('starting', () => {
  it('binding beyond loopback needs allowRemote; a short token is refused', async () => {
    await expect(startConsole({ journal: desk.path, host: '0.0.0.0', port: 0 })).rejects.toThrow(/loopback only unless allowed/);
    await expect(startConsole({ journal: desk.path, token: 'short', port: 0 })).rejects.toThrow(/at least 16 characters/);
  });

  it('without a token the console is read-only: signing in is refused', async () => {
    const ro = await startConsole({ journal: desk.path, port: 0, token: null });
    try {
      const page = await (await fetch(ro.url)).text();
      expect(page).toContain('read-only (no operator token configured)');
      const r = await fetch(new URL('/login', ro.url), { method: 'POST', body: new URLSearchParams({ token: OPERATOR_TOKEN }), headers: { origin: ro.url.replace(/\/$/, '') }, redirect: 'manual' });
      expect(r.status).toBe(403);
    } finally {
      await ro.close();
    }
  });
});

/**
 * The console in a real headless browser (Chromium from @sparticuz/chromium, driven by
 * puppeteer-core), used as an operator would: watch an execution go through its states, stop a
 * symbol and see its working order cancelled at the broker, resolve a flag and see the symbol trade
 * again. Screenshots of each page go to $WARDEN_CONSOLE_SCREENSHOTS (`npm run screenshots` writes
 * docs/console/), or to a temporary folder.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'puppeteer-core';
import type { ExecutionResult } from '../../src/index.js';
import { openDesk, OPERATOR_TOKEN, type Desk } from '../support/desk.js';
import { tokenDigest } from '../../src/console/operators.js';

/** A named operator's own token. */
const DANA = 'dana-token-0123456789abcdef';

const shots = process.env.WARDEN_CONSOLE_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'warden-shots-'));
mkdirSync(shots, { recursive: true });

let desk: Desk;
let browser: Browser;
let page: Page;

/**
 * The packaged Chromium's arguments without those that weaken the web's security model (it is built
 * for serverless functions): same-origin policy, process and site isolation stay on, as in an
 * operator's browser. Only the sandbox flags stay (the test may run as root in a container).
 */
const WEAKENING = new Set(['--disable-web-security', '--single-process', '--allow-running-insecure-content', '--disable-site-isolation-trials']);
const browserArgs = (args: readonly string[]): string[] =>
  args.filter((a) => !WEAKENING.has(a)).map((a) => (a.startsWith('--disable-features=') ? a.replace(/,?\b(IsolateOrigins|site-per-process)\b/g, '').replace('=,', '=') : a)).filter((a) => a !== '--disable-features=');

/** Launches the packaged Chromium, unpacked into a git-ignored folder of the project (never a stale one in /tmp). */
async function launch(): Promise<Browser> {
  process.env.TMPDIR = resolve('.cache/browser');
  mkdirSync(process.env.TMPDIR, { recursive: true });
  const chromium = (await import('@sparticuz/chromium')).default;
  const puppeteer = (await import('puppeteer-core')).default;
  return puppeteer.launch({ args: browserArgs(chromium.args), executablePath: await chromium.executablePath(), headless: true, defaultViewport: { width: 1280, height: 860 } });
}

const url = (path: string) => new URL(path, desk.console.url).toString();
const shoot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
/** The text of a finished row's status cell, once the live page shows it. */
const finishedStatus = (advisoryId: string) =>
  page.waitForFunction(`document.querySelector('#finished tr[data-advisory="${advisoryId}"] .status')?.textContent ?? false`, { timeout: 10_000 }).then((h) => h.jsonValue());

beforeAll(async () => {
  desk = await openDesk({
    EURUSD: { price: 1.1, fillAfterMs: 1_500 },
    GBPUSD: { price: 1.27, noLiquidity: true },
    XAUUSD: { price: 2650, fillAfterMs: 20 },
    USDJPY: { price: 150.2, noLiquidity: true },
    AUDUSD: { price: 0.66, noLiquidity: true },
  }, { operators: [{ name: 'dana', tokenSha256: tokenDigest(DANA) }] });
  browser = await launch();
  page = await browser.newPage();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await desk?.close();
});

describe('the console in a browser', () => {
  it('shows an execution moving through the statechart, live, until it is filled', async () => {
    await page.goto(url('/'));
    expect(await page.$eval('#in-flight-count', (e) => e.textContent)).toBe('0');
    const running = desk.engine.execute(desk.snapshot('desk-a', 'EURUSD'));
    // The page is not reloaded: server-sent events bring each change.
    await page.waitForSelector('#chart .st.here[data-state="live.trading.working"] .who', { timeout: 10_000 });
    expect(await page.$eval('#chart .st.here[data-state="live.trading.working"]', (e) => e.textContent)).toContain('desk-a');
    expect(await page.$eval('#in-flight tr[data-advisory="desk-a"] .state', (e) => e.textContent)).toBe('live.trading.working');
    await shoot('now');
    expect((await running).status).toBe('filled');
    expect(await finishedStatus('desk-a')).toBe('filled');
    expect(await page.$eval('#in-flight-count', (e) => e.textContent)).toBe('0');
  }, 30_000);

  it('an operator signs in, stops a symbol with confirmation, and its working order is cancelled at the broker', async () => {
    await page.goto(url('/login'));
    await page.type('#token', OPERATOR_TOKEN);
    await Promise.all([page.waitForNavigation(), page.click('#sign-in')]);
    expect(await page.$eval('#notice', (e) => e.textContent)).toContain('signed in');

    const running = desk.engine.execute(desk.snapshot('desk-b', 'GBPUSD', 'sell'));
    await page.waitForSelector('#in-flight tr[data-advisory="desk-b"]', { timeout: 10_000 });
    await page.waitForFunction(`document.querySelector('#in-flight tr[data-advisory="desk-b"] .state')?.textContent === 'live.trading.working'`, { timeout: 10_000 });

    await page.goto(url('/kill-switch'));
    await page.select('#state', 'active');
    await page.type('#symbol', 'GBPUSD');
    await page.type('#reason', 'GBP headline');
    await page.type('#operator', 'ana');
    await Promise.all([page.waitForNavigation(), page.click('#set')]);
    expect(await page.$eval('#confirm-form', (e) => e.textContent)).toContain('Activate the kill switch for GBPUSD?');
    expect(desk.engine.killSwitch.state('GBPUSD')).toBe('off'); // nothing yet: it asks first
    await shoot('kill-switch-confirm');
    await Promise.all([page.waitForNavigation(), page.click('#confirm')]);
    const notice = await page.$eval('#notice', (e) => e.textContent);
    expect(notice).toContain('GBPUSD: off → active');
    expect(notice).toContain('1 execution in flight: their working orders get their cancel requested');
    expect(await page.$eval('#switches tr[data-scope="GBPUSD"]', (e) => e.textContent)).toContain('active');
    await shoot('kill-switch');

    const result: ExecutionResult = await running;
    expect(result.status).toBe('cancelled');
    expect(result.killSwitch).toEqual({ state: 'active', phase: 'during' });
    expect((await desk.broker.getOrder({ clientOrderId: result.clientOrderId!, symbol: 'GBPUSD' }))?.status).toBe('cancelled');
    await page.goto(url('/'));
    expect(await finishedStatus('desk-b')).toBe('cancelled');
  }, 30_000);

  it('a flag halts its symbol; resolving it in the console lets the symbol trade again', async () => {
    desk.broker.elsewhere.set('XAUUSD', 2); // a position opened by hand: reconciliation will not match
    const flagged = await desk.engine.execute(desk.snapshot('desk-c', 'XAUUSD'));
    expect(flagged.requiresManualResolution).toBe(true);
    const halted = await desk.engine.execute(desk.snapshot('desk-d', 'XAUUSD'));
    expect(halted.status).toBe('rejected');
    expect(halted.error?.code).toBe('kill_switch_active');

    await page.goto(url('/flags'));
    await page.waitForSelector('section.flag[data-advisory="desk-c"]', { timeout: 10_000 });
    expect(await page.$eval('section.flag[data-advisory="desk-c"] .mismatches', (e) => e.textContent)).toContain('position.quantity');
    await shoot('flags');
    // The stray position is the desk's own and stays: resolving adopts the venue's figure into Warden's book.
    await page.type('section.flag[data-advisory="desk-c"] input[name="operator"]', 'carol');
    await page.type('section.flag[data-advisory="desk-c"] input[name="note"]', "stray 2 oz is the desk's own, kept");
    await Promise.all([page.waitForNavigation(), page.click('section.flag[data-advisory="desk-c"] button')]);
    expect(await page.$eval('#notice', (e) => e.textContent)).toMatch(/resolved desk-c; XAUUSD takes new orders again \(by carol\)/);
    expect(desk.engine.killSwitch.state('XAUUSD')).toBe('off');

    expect((await desk.engine.execute(desk.snapshot('desk-e', 'XAUUSD'))).status).toBe('filled');
    await page.goto(url('/'));
    expect(await finishedStatus('desk-e')).toBe('filled');
    expect(await finishedStatus('desk-d')).toBe('rejected');
  }, 30_000);

  it("shows one advisory's timeline with its hash-chain check", async () => {
    await page.goto(url('/advisory'));
    await page.type('input[name="id"]', 'desk-a');
    await Promise.all([page.waitForNavigation(), page.click('#show')]);
    expect(await page.$eval('#chain', (e) => e.textContent)).toContain('hash chain verified');
    const kinds = await page.$$eval('#timeline tr td:nth-child(3)', (cells) => cells.map((c) => c.textContent));
    expect(kinds).toEqual(expect.arrayContaining(['claim', 'broker.request', 'transition', 'result']));
    await shoot('advisory');
  }, 30_000);

  it('runs with web security on: a page cannot read another origin', async () => {
    const args = browserArgs((await import('@sparticuz/chromium')).default.args);
    expect(args).not.toContain('--disable-web-security');
    expect(args).not.toContain('--single-process');
    const other = await browser.newPage();
    try {
      await other.setBypassCSP(true); // only the same-origin policy is left to say no
      await other.goto(url('/'));
      const crossOrigin = desk.console.url.replace('127.0.0.1', 'localhost');
      const read = await other.evaluate(async (target: string) => {
        try {
          return (await (await fetch(target)).text()).slice(0, 20);
        } catch (e) {
          return `refused: ${(e as Error).name}`;
        }
      }, `${crossOrigin}api/state`);
      expect(read).toBe('refused: TypeError');
    } finally {
      await other.close();
    }
  }, 30_000);

  it('the status bar shows each halted scope with what holds it, and ages that tick; Positions shows the ledger and the venue', async () => {
    await page.goto(url('/'));
    expect(await page.$eval('#status .scope[data-scope="GBPUSD"]', (e) => e.textContent)).toMatch(/GBPUSD\s*active.*operator by ana: GBP headline/s);
    expect(await page.$eval('#status-flags', (e) => e.textContent)).toBe('0 open flags');
    expect(await page.$eval('#status-journal', (e) => e.textContent)).toMatch(/chain verified/);
    // The viewer's local time beside UTC, and an age the page keeps up to date by itself.
    expect(await (await page.waitForSelector('#finished time + .local', { timeout: 5_000 }))!.evaluate((e) => e.textContent)).toMatch(/^ · \d{4}-\d\d-\d\d \d\d:\d\d:\d\d local$/);
    const age = await page.$eval('#status-journal .age', (e) => e.textContent);
    await page.waitForFunction(`document.querySelector('#status-journal .age')?.textContent !== ${JSON.stringify(age)}`, { timeout: 5_000 });
    await shoot('now-status');

    await page.goto(url('/positions'));
    const xau = await page.$eval('#positions tr[data-symbol="XAUUSD"]', (e) => e.textContent ?? '');
    expect(await page.$eval('#positions tr[data-symbol="XAUUSD"] .net', (e) => e.textContent)).toBe('2'); // desk-c and desk-e, 1 oz each
    expect(xau).toMatch(/SL [\d,.]+ · TP [\d,.]+/);
    expect(await page.$eval('#positions tr[data-symbol="EURUSD"] .net', (e) => e.textContent)).toBe('1');
    expect(Number((await page.$eval('#positions tr[data-symbol="EURUSD"] .exposure', (e) => e.textContent))!)).toBeCloseTo(1.1, 2);
    await shoot('positions');
  }, 30_000);

  it('a named operator stops everything: asked first, then every working order is cancelled at the venue, under their name', async () => {
    await page.goto(url('/logout'));
    await page.goto(url('/login'));
    await page.type('#token', DANA);
    await Promise.all([page.waitForNavigation(), page.click('#sign-in')]);
    expect(await page.$eval('#operator-name', (e) => e.textContent)).toBe('dana');

    const running = [desk.engine.execute(desk.snapshot('desk-f', 'USDJPY')), desk.engine.execute(desk.snapshot('desk-g', 'AUDUSD', 'sell'))];
    await page.waitForFunction(`[...document.querySelectorAll('#in-flight .state')].filter((e) => e.textContent === 'live.trading.working').length === 2`, { timeout: 10_000 });
    await Promise.all([page.waitForNavigation(), page.click('#stop-everything')]);
    expect(await page.$eval('#stop-confirm-form', (e) => e.textContent)).toMatch(/This sets the global kill switch to active.*2 executions in flight/s);
    expect(await page.$('#stop-operator')).toBeNull(); // a named operator is not asked for a name
    expect(desk.engine.killSwitch.state()).toBe('off'); // nothing yet: it asks first
    await shoot('stop-everything-confirm');

    const clicked = performance.now();
    await page.click('#stop-confirm');
    // The venue's book: desk-b's order was cancelled earlier; desk-f's and desk-g's are the ones to watch.
    const cancelled = () => desk.broker.venue.snapshot().orders.filter((o) => o.status === 'cancelled').length;
    while (cancelled() < 3 && performance.now() - clicked < 10_000) await new Promise((r) => setTimeout(r, 5));
    const elapsedMs = performance.now() - clicked;
    expect(cancelled()).toBe(3);
    console.log(`stop everything: ${elapsedMs.toFixed(0)} ms from the confirming click to the last cancel at the paper venue`);
    await page.waitForSelector('#notice');
    expect(await page.$eval('#notice', (e) => e.textContent)).toMatch(/stopped everything: global: off → active/);
    const results = await Promise.all(running);
    expect(results.map((r) => r.status)).toEqual(['cancelled', 'cancelled']);
    const change = (await desk.engine.journal.records()).findLast((r) => r.kind === 'kill_switch')?.payload as { operator: string; symbol: string | null; to: string };
    expect(change).toMatchObject({ operator: 'dana', symbol: null, to: 'active' });
    await page.waitForFunction(`document.querySelector('#status .scope[data-scope="global"]')?.dataset.state === 'active'`, { timeout: 5_000 });
    await shoot('stop-everything');
  }, 30_000);
});

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

const shots = process.env.WARDEN_CONSOLE_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'warden-shots-'));
mkdirSync(shots, { recursive: true });

let desk: Desk;
let browser: Browser;
let page: Page;

/** Launches the packaged Chromium, unpacked into a git-ignored folder of the project (never a stale one in /tmp). */
async function launch(): Promise<Browser> {
  process.env.TMPDIR = resolve('.cache/browser');
  mkdirSync(process.env.TMPDIR, { recursive: true });
  const chromium = (await import('@sparticuz/chromium')).default;
  const puppeteer = (await import('puppeteer-core')).default;
  return puppeteer.launch({ args: chromium.args, executablePath: await chromium.executablePath(), headless: true, defaultViewport: { width: 1280, height: 860 } });
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
  });
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
    desk.broker.elsewhere.delete('XAUUSD'); // the desk closed the stray position
    await page.type('section.flag[data-advisory="desk-c"] input[name="operator"]', 'carol');
    await page.type('section.flag[data-advisory="desk-c"] input[name="note"]', 'stray 2 oz closed by the desk');
    await Promise.all([page.waitForNavigation(), page.click('section.flag[data-advisory="desk-c"] button')]);
    expect(await page.$eval('#notice', (e) => e.textContent)).toContain('resolved desk-c by carol');
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
});

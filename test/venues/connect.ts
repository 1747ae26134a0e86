/** A real ccxt `binanceusdm` instance whose every API base URL points at a fake venue, and an engine on it. */
import ccxt from 'ccxt';
import { afterEach, expect } from 'vitest';
import { createEngine, MemoryJournal, type ExecutionResult, type FrozenSnapshot } from '../../src/index.js';
import { CcxtBroker } from '../../src/entries/adapters.js';
import { VirtualClock } from '../../src/testing/index.js';
import { capturingLogger, T0 } from '../support/fixtures.js';
import { checkInvariants } from '../support/invariants.js';
import { drive, trackCalls } from './drive.js';
import { FakeBinanceUsdm } from './fakeBinanceUsdm.js';

export const API_KEY = 'vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A';
export const API_SECRET = 'NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j';

/**
 * A ccxt binanceusdm exactly as production builds it — production URLs, so ccxt applies the error
 * mapping it uses against the real venue — with only its HTTP layer (`fetchImplementation`)
 * replaced: every request goes to the fake venue on loopback instead of the venue's host.
 */
export function binanceUsdmAt(url: string, credentials = { apiKey: API_KEY, secret: API_SECRET }, { pro = false }: { pro?: boolean } = {}): InstanceType<typeof ccxt.binanceusdm> {
  // As CcxtBroker.create builds it, except rate limiting: a real-time sleep between requests,
  // which against loopback only slows the tests.
  const config = { ...credentials, enableRateLimit: false, options: { fetchCurrencies: false } };
  // The pro class is the REST class plus websockets (ccxt.pro.binanceusdm extends ccxt.binanceusdm).
  const exchange = pro ? (new ccxt.pro.binanceusdm(config) as unknown as InstanceType<typeof ccxt.binanceusdm>) : new ccxt.binanceusdm(config);
  const api = exchange.urls['api'] as Record<string, unknown>;
  const hosts = new Set(Object.values(api).filter((u): u is string => typeof u === 'string').map((u) => new URL(u).host));
  // The private stream (wss://fstream.binance.com/ws → …/private/ws?listenKey=…) goes to the fake too.
  if (pro) (api.ws as Record<string, unknown>).future = `${url.replace(/^http/, 'ws')}/ws`;
  (exchange as unknown as { fetchImplementation: typeof fetch }).fetchImplementation = (target: string | URL | Request, init?: RequestInit) => {
    const u = new URL(String(target));
    if (!hosts.has(u.host)) return Promise.reject(new TypeError(`the test venue does not serve ${u.host}`));
    return fetch(`${url}${u.pathname}${u.search}`, init);
  };
  return exchange;
}

/** As {@link binanceUsdmAt}, with ccxt pro's websockets; the fake's stream is plain ws:// on loopback, which ccxt reaches through an http agent it loads first. */
export async function proBinanceUsdmAt(url: string): Promise<InstanceType<typeof ccxt.binanceusdm>> {
  const exchange = binanceUsdmAt(url, undefined, { pro: true });
  await (exchange as unknown as { loadHttpProxyAgent(): Promise<unknown> }).loadHttpProxyAgent();
  return exchange;
}

/** A started fake venue and a CcxtBroker talking to it through ccxt; `now`: the clock its look-up grace is measured on. */
export async function connectedVenue(now?: () => number): Promise<{ fake: FakeBinanceUsdm; exchange: ReturnType<typeof binanceUsdmAt>; broker: CcxtBroker; close: () => Promise<void> }> {
  const fake = await new FakeBinanceUsdm(API_KEY, API_SECRET).start();
  const exchange = binanceUsdmAt(fake.url);
  const broker = new CcxtBroker({ exchange, ...(now ? { now } : {}) });
  return { fake, exchange, broker, close: () => fake.close() };
}

/**
 * For a test file: `venue()` starts a fake venue and a CcxtBroker (as {@link connectedVenue}); every
 * one started in a test is closed after it.
 */
export function venuesClosedAfterEach(): () => ReturnType<typeof connectedVenue> {
  let closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers) await close();
    closers = [];
  });
  return async () => {
    const v = await connectedVenue();
    closers.push(v.close);
    return v;
  };
}

/**
 * An engine on a VirtualClock trading through ccxt with the fake venue. `run` drives virtual
 * time; `check` applies the journal invariants and the venue's own: at most one order for the
 * snapshot's client id, never above the approved size. `close` stops the engine, then the venue.
 */
export async function venueEngine() {
  const clock = new VirtualClock(T0);
  // The adapter's look-up grace on the engine's clock: virtual seconds are not real ones.
  const venue = await connectedVenue(() => clock.now());
  const { broker, quiet } = trackCalls(venue.broker);
  const journal = new MemoryJournal(clock); // on the engine's clock, as createEngine's default journal is
  const { logger, lines } = capturingLogger();
  const engine = createEngine({ broker, clock, journal, logger, pollIntervalMs: 500 });
  const run = <T>(p: Promise<T>) => drive(clock, quiet, p);
  const check = async (result: ExecutionResult, s: FrozenSnapshot) => {
    checkInvariants({ result, snapshot: s, journal: await journal.records() });
    const orders = venue.fake.ordersFor(result.clientOrderId ?? '');
    expect(orders.length).toBeLessThanOrEqual(1);
    for (const o of orders) expect(o.origQty).toBeLessThanOrEqual(s.positionSize);
  };
  const close = async () => {
    await engine.close();
    await venue.close();
  };
  return { ...venue, clock, engine, journal, lines, run, check, close };
}

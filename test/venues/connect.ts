/** A real ccxt `binanceusdm` instance whose every API base URL points at a fake venue. */
import ccxt from 'ccxt';
import { CcxtBroker } from '../../src/index.js';
import { FakeBinanceUsdm } from './fakeBinanceUsdm.js';

export const API_KEY = 'vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A';
export const API_SECRET = 'NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j';

export function binanceUsdmAt(url: string, credentials = { apiKey: API_KEY, secret: API_SECRET }): InstanceType<typeof ccxt.binanceusdm> {
  // As CcxtBroker.create builds it, except rate limiting: a real-time sleep between requests,
  // which against loopback only slows the tests.
  const exchange = new ccxt.binanceusdm({ ...credentials, enableRateLimit: false, options: { fetchCurrencies: false } });
  const api = exchange.urls['api'] as Record<string, string>;
  for (const key of Object.keys(api)) api[key] = api[key]!.replace(/^https:\/\/[^/]+/, url);
  return exchange;
}

/** A started fake venue and a CcxtBroker talking to it through ccxt. */
export async function connectedVenue(): Promise<{ fake: FakeBinanceUsdm; exchange: ReturnType<typeof binanceUsdmAt>; broker: CcxtBroker; close: () => Promise<void> }> {
  const fake = await new FakeBinanceUsdm(API_KEY, API_SECRET).start();
  const exchange = binanceUsdmAt(fake.url);
  const broker = new CcxtBroker({ exchange });
  return { fake, exchange, broker, close: () => fake.close() };
}

/** The --broker a command trades on: a URL, the in-process paper venue, ccxt or OANDA. */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PaperBroker, type BrokerAdapter, type PaperBrokerState, type PaperMarket } from '../index.js';
import { CcxtBroker, HttpBroker, OandaBroker } from '../entries/adapters.js';
import { opt, UsageError, type Args } from './args.js';
import { journalPath, storeUrl } from './sources.js';

/** The paper venue's default markets (also used by `--broker paper`). */
export const DEFAULT_MARKETS: Record<string, PaperMarket> = {
  EURUSD: { price: 1.1, fillAfterMs: 300 },
  GBPUSD: { price: 1.27, fillAfterMs: 300 },
  USDJPY: { price: 150.2, fillAfterMs: 300 },
  XAUUSD: { price: 2650, fillAfterMs: 500 },
  'BTC/USDT': { price: 97_000, fillAfterMs: 200 },
};

/** The broker --broker names (default: the in-process paper venue). */
export async function brokerFrom(a: Args): Promise<BrokerAdapter> {
  const target = opt(a, '--broker') ?? 'paper';
  if (target === 'paper') return paperBroker(a);
  if (target.startsWith('ccxt:')) {
    // Never from flags: those end up in shell history and process listings.
    const apiKey = process.env.WARDEN_API_KEY;
    const secret = process.env.WARDEN_API_SECRET;
    if (!apiKey || !secret) throw new UsageError(`--broker ${target} needs WARDEN_API_KEY and WARDEN_API_SECRET in the environment`);
    return CcxtBroker.create({ exchange: target.slice('ccxt:'.length), apiKey, secret, sandbox: a.flags.has('--sandbox') });
  }
  if (target === 'oanda:practice' || target === 'oanda:live') {
    // Never from flags (shell history, process listings). OANDA_URL points at a loopback test venue.
    const token = process.env.OANDA_TOKEN;
    const accountId = process.env.OANDA_ACCOUNT;
    if (!token || !accountId) throw new UsageError(`--broker ${target} needs OANDA_TOKEN and OANDA_ACCOUNT in the environment`);
    return new OandaBroker({ environment: target === 'oanda:live' ? 'live' : 'practice', token, accountId, ...(process.env.OANDA_URL ? { restUrl: process.env.OANDA_URL } : {}) });
  }
  if (!/^https?:\/\//.test(target)) throw new UsageError(`--broker must be a URL (http://…), "paper", "ccxt:EXCHANGE" or "oanda:practice|live", got ${target}`);
  return new HttpBroker({ baseUrl: target });
}

/**
 * The in-process paper venue. Beside a journal file its book (positions, protective orders) is kept
 * in JOURNAL.paper.json, so a second run on the same symbol meets the position the journal says the
 * first one filled, instead of a venue that forgot it and a reconciliation flag.
 */
export function paperBroker(a: Args): PaperBroker {
  const broker = new PaperBroker({ seed: Date.now() % 2 ** 31, markets: DEFAULT_MARKETS });
  if (storeUrl(a) !== null) return broker;
  const file = `${journalPath(a, { mustExist: false })}.paper.json`;
  if (existsSync(file)) {
    let state: PaperBrokerState;
    try {
      state = JSON.parse(readFileSync(file, 'utf8')) as PaperBrokerState;
      if (!state || !state.venue || !Array.isArray(state.venue.orders) || !Array.isArray(state.pendingFills)) throw new Error('unexpected shape');
    } catch (e) {
      throw new UsageError(`the paper venue's book ${file} is not readable (${(e as Error).message}); move it away to start from an empty book`);
    }
    broker.restore(state);
  }
  broker.onChange = () => {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.tmp`, JSON.stringify(broker.state()));
    renameSync(`${file}.tmp`, file);
  };
  return broker;
}

/** Raised when the broker does not answer at all: nothing was sent and nothing claimed. */
export class UnreachableError extends Error {}

/** The --broker, once it is known to answer (an HTTP broker is asked for /health first). */
export async function reachableBroker(a: Args): Promise<BrokerAdapter> {
  const broker = await brokerFrom(a);
  if (broker instanceof HttpBroker) {
    try {
      await broker.checkReachable();
    } catch (e) {
      throw new UnreachableError(`${(e as Error).message}; nothing was sent and no advisory was used (start the broker, then run again)`);
    }
  }
  return broker;
}

/** A broker identity as a person gives it with --broker: an HTTP broker's identity `http:URL` is its URL. */
export function brokerLabel(text: string): string {
  return text.replace(/\bhttp:(?=https?:\/\/)/g, '');
}

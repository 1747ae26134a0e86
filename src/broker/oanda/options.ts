/** How to reach an OANDA account, and what the dry run reads from it. */

/**
 * OANDA's two environments, each with its own hosts and its own tokens.
 *
 * @example
 * OANDA_HOSTS.practice.rest; // 'https://api-fxpractice.oanda.com'
 */
export const OANDA_HOSTS = {
  practice: { rest: 'https://api-fxpractice.oanda.com', stream: 'https://stream-fxpractice.oanda.com' },
  live: { rest: 'https://api-fxtrade.oanda.com', stream: 'https://stream-fxtrade.oanda.com' },
} as const;

/**
 * How to reach an OANDA account.
 *
 * @example
 * const options: OandaBrokerOptions = { environment: 'practice', token: process.env.OANDA_TOKEN!, accountId: process.env.OANDA_ACCOUNT!, instruments: { US500: 'SPX500_USD' } };
 */
export interface OandaBrokerOptions {
  /** A personal access token for the environment (practice tokens do not work live, and the reverse). */
  readonly token: string;
  /** The v20 account id, e.g. `101-004-1234567-001`. */
  readonly accountId: string;
  /** `practice` (default) or `live`: picks the hosts in {@link OANDA_HOSTS}. */
  readonly environment?: 'practice' | 'live';
  /** Overrides the REST host (a loopback test venue). */
  readonly restUrl?: string;
  /** Overrides the streaming host; defaults to `restUrl` when that is given. */
  readonly streamUrl?: string;
  /** Warden symbol → OANDA instrument, for names the six-letter rule (`EURUSD` → `EUR_USD`) does not cover. */
  readonly instruments?: Readonly<Record<string, string>>;
  /** Time limit of each HTTP request, in ms. Default 4,000 (inside Warden's own per-call limits). */
  readonly requestLimitMs?: number;
  /**
   * How long after this process sent an order a `NO_SUCH_ORDER` look-up is read as OANDA's lag
   * (an unknown outcome) rather than "the venue does not know it". Default 2,000 ms.
   */
  readonly lookupGraceMs?: number;
  /**
   * A price collar: the entry order carries `priceBound` this fraction worse than the snapshot's
   * reference price (e.g. 0.002), so OANDA cancels it (`BOUNDS_VIOLATION`) rather than fill beyond.
   * Off by default.
   */
  readonly priceBoundPct?: number;
  /**
   * The entry's `timeInForce`, one of the two v20 allows for a `MarketOrderRequest`: `FOK` (default)
   * fills all or nothing; `IOC` fills what liquidity allows and cancels the rest in the same batch
   * (`ORDER_FILL` for part of the units, then `ORDER_CANCEL`), a partial fill Warden protects as any.
   */
  readonly timeInForce?: 'FOK' | 'IOC';
  /** The stream is reconnected when nothing (not even a heartbeat) arrived for this long. Default 15,000 ms. */
  readonly heartbeatTimeoutMs?: number;
  /** Pause before the stream reconnects, doubling up to 30 s. Default 500 ms. */
  readonly reconnectMs?: number;
  /** Wall clock for the look-up grace. Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * What the dry run reads: the account and the instruments it may trade.
 *
 * @example
 * const check: OandaAccountCheck = await broker.checkAccount(['EURUSD']);
 * console.log(check.balance, check.currency, check.instruments[0]?.instrument); // '100000.0000' 'USD' 'EUR_USD'
 */
export interface OandaAccountCheck {
  readonly accountId: string;
  readonly currency: string;
  readonly balance: string;
  readonly hedgingEnabled: boolean;
  readonly openTradeCount: number;
  readonly pendingOrderCount: number;
  readonly instruments: readonly { readonly symbol: string; readonly instrument: string; readonly displayPrecision: number; readonly minimumTradeSize: string }[];
}

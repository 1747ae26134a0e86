/** The parts of ccxt's objects Warden reads, and the options of a `CcxtBroker`. */

/**
 * The part of a ccxt order Warden reads.
 *
 * @example
 * const order: CcxtOrder = await exchange.fetchOrder('8389765', 'BTC/USDT:USDT');
 * console.log(order.status, order.filled, order.average);
 */
export interface CcxtOrder {
  readonly id?: string | undefined;
  readonly clientOrderId?: string | undefined;
  readonly status?: string | undefined;
  readonly amount?: number | undefined;
  readonly filled?: number | undefined;
  readonly average?: number | undefined;
  readonly cost?: number | undefined;
  readonly reduceOnly?: boolean | undefined;
  readonly side?: string | undefined;
  readonly triggerPrice?: number | undefined;
  readonly stopLossPrice?: number | undefined;
  readonly takeProfitPrice?: number | undefined;
  readonly timestamp?: number | undefined;
  readonly info?: unknown;
}

/**
 * The part of a ccxt position Warden reads.
 *
 * @example
 * const [position]: CcxtPosition[] = await exchange.fetchPositions(['BTC/USDT:USDT']);
 * console.log(position?.side, position?.contracts, position?.entryPrice);
 */
export interface CcxtPosition {
  readonly symbol?: string | undefined;
  readonly contracts?: number | undefined;
  readonly side?: string | undefined;
  readonly entryPrice?: number | undefined;
  /** ccxt's flag for a hedge-mode (dual-side) position row. */
  readonly hedged?: boolean | undefined;
  readonly info?: unknown;
}

/**
 * The part of a ccxt market Warden reads.
 *
 * @example
 * const market: CcxtMarket = exchange.market('BTC/USDT:USDT');
 * console.log(market.precision?.amount, market.limits?.amount?.min);
 */
export interface CcxtMarket {
  readonly symbol?: string;
  /** ccxt's market kind: Warden trades contract (futures, swap) markets only. */
  readonly spot?: boolean;
  readonly contract?: boolean;
  readonly contractSize?: number | undefined;
  readonly precision?: { readonly amount?: number | undefined; readonly price?: number | undefined };
  readonly limits?: { readonly amount?: { readonly min?: number | undefined }; readonly market?: { readonly min?: number | undefined } };
}

/**
 * The ccxt `Exchange` methods the adapter uses. Any ccxt exchange instance satisfies it; so can
 * a test double.
 *
 * @example
 * const exchange: CcxtExchange = new ccxt.pro.binanceusdm({ apiKey, secret });
 * const broker = new CcxtBroker({ exchange });
 */
export interface CcxtExchange {
  readonly id: string;
  apiKey?: string;
  secret?: string;
  precisionMode?: number;
  loadMarkets(): Promise<unknown>;
  market(symbol: string): CcxtMarket;
  amountToPrecision(symbol: string, amount: number): string | undefined;
  priceToPrecision(symbol: string, price: number): string | undefined;
  createOrder(symbol: string, type: string, side: 'buy' | 'sell', amount: number, price?: number, params?: Record<string, unknown>): Promise<CcxtOrder>;
  fetchOrder(id: string | undefined, symbol?: string, params?: Record<string, unknown>): Promise<CcxtOrder>;
  cancelOrder(id: string | undefined, symbol?: string, params?: Record<string, unknown>): Promise<CcxtOrder>;
  fetchOpenOrders(symbol?: string, since?: number, limit?: number, params?: Record<string, unknown>): Promise<CcxtOrder[]>;
  fetchPositions(symbols?: string[], params?: Record<string, unknown>): Promise<CcxtPosition[]>;
  /** ccxt pro: the next batch of order updates from the venue's private stream. */
  watchOrders?(symbol?: string, since?: number, limit?: number, params?: Record<string, unknown>): Promise<CcxtOrder[]>;
  readonly has?: Readonly<Record<string, unknown>>;
  /** ccxt pro: closes the exchange's websockets. */
  close?(): Promise<unknown>;
}

/**
 * Options of `new CcxtBroker`: an exchange instance the host built, and a name for logs.
 *
 * @example
 * const broker = new CcxtBroker({ exchange: new ccxt.pro.binanceusdm({ apiKey, secret }), name: 'binance-main' });
 */
export interface CcxtBrokerOptions {
  /** A ccxt exchange instance, configured by the host (credentials, sandbox, proxies). */
  readonly exchange: CcxtExchange;
  /** Name used in logs and the journal; defaults to `ccxt:<exchange id>`. */
  readonly name?: string;
  /**
   * How long after this process sent an order, or last saw the venue acknowledge it, a look-up
   * that says "no such order" (Binance `-2013`) is read as the venue's lag (an unknown outcome,
   * `lookup_lag`) rather than "the venue does not know it". Default 2,000 ms.
   */
  readonly lookupGraceMs?: number;
  /** The clock the grace is measured on (ms since the epoch). Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Options of {@link CcxtBroker.create}: an exchange id and credentials; Warden builds the exchange.
 *
 * @example
 * const options: CcxtConnectOptions = { exchange: 'binanceusdm', apiKey, secret, sandbox: true };
 * const broker = await CcxtBroker.create(options);
 */
export interface CcxtConnectOptions {
  /** A ccxt exchange id, e.g. `'binanceusdm'`. */
  readonly exchange: string;
  readonly apiKey: string;
  readonly secret: string;
  /**
   * Use the venue's test environment. For Binance futures that is Demo Trading (ccxt's
   * `enableDemoTrading`), because ccxt refuses the retired futures testnet; elsewhere ccxt's
   * `setSandboxMode(true)`.
   */
  readonly sandbox?: boolean;
  /**
   * Extra ccxt constructor options, merged over Warden's defaults: `enableRateLimit: true` and
   * `options.fetchCurrencies: false`.
   */
  readonly ccxtOptions?: Record<string, unknown>;
}

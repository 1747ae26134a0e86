/**
 * ccxt, loaded only when asked for: nothing here imports it until {@link connectExchange} (or
 * `CcxtBroker.create`) runs.
 */
import { WardenUsageError } from '../../domain/errors.js';
import type { CcxtConnectOptions, CcxtExchange } from './types.js';

/**
 * Loads ccxt on demand. Throws a clear error when it is not installed: it is an optional peer
 * dependency, so the core never needs its 60 MB.
 *
 * @example
 * const ccxt = await loadCcxt(); // throws WardenUsageError('missing_dependency') when ccxt is not installed
 * console.log(ccxt.version);
 */
export async function loadCcxt(): Promise<Record<string, unknown>> {
  try {
    const specifier = 'ccxt';
    const mod = (await import(specifier)) as { default?: Record<string, unknown> } & Record<string, unknown>;
    return mod.default ?? mod;
  } catch (e) {
    const missing = (e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' || /Cannot find (package|module) 'ccxt'/.test(String(e));
    if (!missing) throw e;
    throw new WardenUsageError('missing_dependency', "CcxtBroker needs the optional peer dependency 'ccxt', which is not installed. Install it next to Warden: npm install ccxt@4.5.84");
  }
}

/**
 * Builds a ccxt exchange from an id and credentials (loading ccxt lazily): the pro class when there
 * is one (order updates are pushed), and the venue's test environment with `sandbox`.
 *
 * @example
 * const exchange = await connectExchange({ exchange: 'binanceusdm', apiKey, secret, sandbox: true });
 * const broker = new CcxtBroker({ exchange });
 */
export async function connectExchange(options: CcxtConnectOptions): Promise<CcxtExchange> {
  const ccxt = await loadCcxt();
  // The pro class (same package) is the REST class plus websockets: order updates are pushed.
  const pro = ccxt.pro as Record<string, unknown> | undefined;
  const Exchange = pro?.[options.exchange] ?? ccxt[options.exchange];
  if (typeof Exchange !== 'function') throw new WardenUsageError('unknown_exchange', `ccxt has no exchange called '${options.exchange}'`);
  const exchange = new (Exchange as new (config: Record<string, unknown>) => CcxtExchange & {
    setSandboxMode?(on: boolean): void;
    enableDemoTrading?(on: boolean): void;
  })({
    enableRateLimit: true,
    ...options.ccxtOptions,
    // Warden needs markets, not the wallet's currency list (a spot endpoint futures keys may not reach).
    options: { fetchCurrencies: false, ...(options.ccxtOptions?.options as Record<string, unknown> | undefined) },
    apiKey: options.apiKey,
    secret: options.secret,
  });
  if (options.sandbox) {
    if (typeof exchange.enableDemoTrading === 'function') exchange.enableDemoTrading(true);
    else exchange.setSandboxMode?.(true);
  }
  return exchange;
}

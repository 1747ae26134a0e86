/**
 * ccxt's error hierarchy, read as Warden's two outcomes. ccxt is loaded lazily and may exist
 * in more than one copy (ESM and CJS builds), so errors are recognised by the class names on
 * their prototype chain rather than by `instanceof`.
 */
import { BrokerError } from '../errors.js';

/**
 * How a failed ccxt call is treated.
 *
 * @example
 * const kind: CcxtFailureKind = classifyCcxtError(thrown).kind;
 * if (kind === 'duplicate') console.log('the order exists: look it up, never resend');
 */
export type CcxtFailureKind =
  /** The venue refused; the order does not exist. */
  | 'rejected'
  /** The venue says the client id is taken: the order exists. Look it up, never resend. */
  | 'duplicate'
  /** The venue does not know the order (on cancel: it may have filled). */
  | 'not_found'
  /**
   * The request provably never left this process: the connection was refused or the host name
   * did not resolve, so no byte of it was written. Resending the same id is safe on any venue.
   */
  | 'not_sent'
  /** Anything else: the order may or may not exist. */
  | 'unknown';

/**
 * A ccxt failure, classified: how to treat it, ccxt's class name (and the venue's code), and a scrubbed message.
 *
 * @example
 * const failure: CcxtFailure = classifyCcxtError(thrown, [exchange.apiKey, exchange.secret]);
 * console.log(failure.kind, failure.code, failure.message);
 */
export interface CcxtFailure {
  readonly kind: CcxtFailureKind;
  /** ccxt's class name, plus the venue's own code when the message carries one. */
  readonly code: string;
  readonly message: string;
}

/** ccxt classes that mean "refused, nothing was done" (subclasses included). */
const DEFINITIVE_CLASSES = [
  'AuthenticationError', // includes PermissionDenied, AccountNotEnabled, AccountSuspended
  'InsufficientFunds',
  'InvalidOrder',
  'BadSymbol',
  'BadRequest',
  'ArgumentsRequired',
  'NotSupported',
  'OperationRejected',
];

/**
 * Binance codes that ccxt reports as a plain `ExchangeError` for USDⓈ-M futures although the
 * venue refused the request outright (ccxt's `binanceusdm` overrides its common mapping).
 */
const BINANCE_DEFINITIVE_CODES = new Set([
  '-1021', // timestamp outside recvWindow
  '-1022', // invalid signature
  '-1100', '-1102', '-1111', '-1116', '-1117', '-1121', // malformed parameter, precision, type, side, symbol
  '-2010', // new order rejected
  '-2014', '-2015', // API key format, permissions
  '-2019', // margin is insufficient
  '-2022', // reduce-only order rejected
  '-4003', '-4005', // quantity below zero / minimum
  '-4131', // PERCENT_PRICE filter
  '-4164', // below minimum notional
]);

/** Binance: -4116 "ClientOrderId is duplicated." (futures); -2010 "Duplicate order sent." (spot). */
const DUPLICATE = /-4116|duplicat/i;

function classNames(thrown: unknown): string[] {
  const names: string[] = [];
  for (let p = thrown === null || typeof thrown !== 'object' ? null : Object.getPrototypeOf(thrown); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const name = (p as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof name === 'string') names.push(name);
  }
  return names;
}

/** Removes credentials and request signatures from a message before it goes anywhere. */
export function scrub(message: string, secrets: readonly (string | undefined)[]): string {
  let out = message.replace(/(signature|apiKey|api_key|secret|X-MBX-APIKEY)(["']?\s*[=:]\s*["']?)[^&\s"',}]+/gi, '$1$2[redacted]');
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  return out.slice(0, 500);
}

/** Socket errors raised before a connection exists: nothing of the request was written. */
const NEVER_CONNECTED = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN)\b/;

/** The system error code of a thrown value's cause, if it carries one (fetch wraps it). */
function causeCode(thrown: unknown): string {
  try {
    let c: unknown = (thrown as { cause?: unknown } | null)?.cause;
    for (let i = 0; i < 3 && c !== null && typeof c === 'object'; i++) {
      const code = (c as { code?: unknown }).code;
      if (typeof code === 'string') return code;
      c = (c as { cause?: unknown }).cause;
    }
  } catch {
    // unreadable: nothing proven
  }
  return '';
}

/**
 * Classifies anything a ccxt call threw.
 *
 * @example
 * classifyCcxtError(new ccxt.InsufficientFunds('binanceusdm {"code":-2019,...}')).kind // 'rejected'
 */
export function classifyCcxtError(thrown: unknown, secrets: readonly (string | undefined)[] = []): CcxtFailure {
  const names = classNames(thrown);
  const raw = thrown instanceof Error ? thrown.message : String(thrown);
  const venueCode = /"code"\s*:\s*"?(-?\d+)/.exec(raw)?.[1];
  const cls = names.find((n) => n !== 'Error') ?? 'Error';
  const code = venueCode ? `${cls} ${venueCode}` : cls;
  const message = scrub(`${cls}: ${raw}`, secrets);
  const is = (name: string) => names.includes(name);
  // A connection that was never made proves nothing was sent; any other network failure proves nothing.
  // -1021 (timestamp outside recvWindow): Binance checks the timestamp before the request reaches the
  // matching engine, so nothing was accepted. ccxt raises it as InvalidNonce, a NetworkError subclass.
  if (is('InvalidNonce') || venueCode === '-1021') return { kind: 'rejected', code, message };
  if (is('NetworkError') && NEVER_CONNECTED.test(`${raw} ${causeCode(thrown)}`)) return { kind: 'not_sent', code: `${code} not_sent`, message };
  if (is('NetworkError') || is('OperationFailed') || is('OrderNotCached') || !is('BaseError')) return { kind: 'unknown', code, message };
  if (is('OrderNotFound')) return { kind: 'not_found', code, message };
  if (is('DuplicateOrderId') || (is('ExchangeError') && DUPLICATE.test(raw))) return { kind: 'duplicate', code, message };
  if (DEFINITIVE_CLASSES.some(is)) return { kind: 'rejected', code, message };
  if (venueCode !== undefined && BINANCE_DEFINITIVE_CODES.has(venueCode)) return { kind: 'rejected', code, message };
  return { kind: 'unknown', code, message };
}

/**
 * Binance refuses a request over its rate limits with HTTP 429 (418 once the IP is banned) before
 * processing it: "the order was not processed". ccxt raises those as `RateLimitExceeded` or
 * `DDoSProtection`. Only a 5xx leaves the execution status unknown, and `-1008` (server busy)
 * can come as one, so it stays unknown.
 */
const RATE_REFUSALS = ['RateLimitExceeded', 'DDoSProtection'];
const SERVER_BUSY = '-1008';

/**
 * Classifies a failed order submit: as {@link classifyCcxtError}, except that a rate-limit refusal
 * proves the order was not placed, so it is `not_sent` (the same id may be sent again).
 *
 * @example
 * classifySubmitError(new ccxt.DDoSProtection('binanceusdm 429 Too Many Requests {"code":-1003}')).kind // 'not_sent'
 */
export function classifySubmitError(thrown: unknown, secrets: readonly (string | undefined)[] = []): CcxtFailure {
  const failure = classifyCcxtError(thrown, secrets);
  const names = classNames(thrown);
  const refusedForRate = RATE_REFUSALS.some((n) => names.includes(n)) && !failure.code.endsWith(` ${SERVER_BUSY}`);
  if (failure.kind === 'unknown' && refusedForRate) return { kind: 'not_sent', code: `${failure.code} not_sent`, message: failure.message };
  return failure;
}

/** The `BrokerError` Warden's statechart branches on. */
export function toBrokerError(failure: CcxtFailure): BrokerError {
  if (failure.kind === 'not_sent') return new BrokerError(failure.message, { retryable: true, code: 'not_sent' });
  return new BrokerError(failure.message, { retryable: failure.kind === 'unknown' || failure.kind === 'duplicate', code: failure.code });
}

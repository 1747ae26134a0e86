/** Failures at the broker boundary, classified once so the statechart branches on data. */

/**
 * Codes Warden itself gives a failure at the boundary. Adapters may use their own codes too
 * (e.g. `insufficient_funds`); these are the ones the engine reasons about.
 * - `timeout`: no answer within the call's time limit — unknown outcome.
 * - `not_sent`: the request provably never left this process (e.g. connection refused before a
 *   byte was written). A submit that failed this way may be resent on any venue.
 * - `thrown`: the adapter threw something that is not a `BrokerError` — unknown outcome.
 * - `unreadable_answer`: the answer did not have the contract's shape — unknown outcome.
 * - `wrong_order`: the answer is about another order or symbol than the one asked for.
 *
 * @example
 * const code: BrokerErrorCode = 'not_sent'; // the request provably never left: safe to resend
 * throw new BrokerError('connect ECONNREFUSED 127.0.0.1:7070', { retryable: true, code });
 */
export type BrokerErrorCode = 'timeout' | 'not_sent' | 'thrown' | 'unreadable_answer' | 'wrong_order' | 'journal_unavailable';

/**
 * Thrown by adapters. `retryable: false` is a definitive answer (the order does not exist:
 * rejected, insufficient funds). `retryable: true` means the outcome is unknown.
 *
 * @example
 * throw new BrokerError('insufficient margin', { retryable: false, code: 'insufficient_funds' });
 */
export class BrokerError extends Error {
  override readonly name = 'BrokerError';
  readonly retryable: boolean;
  readonly code: BrokerErrorCode | (string & {}) | undefined;
  constructor(message: string, options: { retryable: boolean; code?: BrokerErrorCode | (string & {}); cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable;
    this.code = options.code;
  }
}

/**
 * How a failed broker call is treated.
 *
 * @example
 * const failure: BrokerFailure = classifyBrokerFailure(thrown);
 * if (failure.kind === 'unknown') console.log('the order may exist:', failure.message);
 */
export type BrokerFailure =
  | { readonly kind: 'rejected'; readonly message: string; readonly code: string | undefined }
  | { readonly kind: 'unknown'; readonly message: string; readonly code: string | undefined };

/**
 * Anything an adapter throws, normalised: only a `BrokerError` with `retryable: false` is
 * definitive; every other value (including non-Error throws) is an unknown outcome.
 *
 * Total: it never throws, whatever it is given — a revoked Proxy, an object whose `retryable`
 * getter throws, a value whose `instanceof` check throws are all unknown outcomes.
 *
 * @example
 * classifyBrokerFailure(new BrokerError('margin', { retryable: false })).kind; // 'rejected'
 * classifyBrokerFailure(new Error('socket hang up')).kind;                     // 'unknown'
 */
export function classifyBrokerFailure(thrown: unknown): BrokerFailure {
  try {
    if (thrown instanceof BrokerError) {
      // Read each field once; only a literal `false` is definitive.
      const retryable = thrown.retryable;
      const code = thrown.code;
      const message = thrown.message;
      return {
        kind: retryable === false ? 'rejected' : 'unknown',
        message: typeof message === 'string' ? message.slice(0, 500) : describeThrown(thrown),
        code: typeof code === 'string' ? code.slice(0, 64) : undefined,
      };
    }
  } catch {
    return { kind: 'unknown', message: 'unreadable failure from the broker adapter', code: 'thrown' };
  }
  return { kind: 'unknown', message: describeThrown(thrown), code: 'thrown' };
}

/**
 * Turns anything thrown at the boundary into a `BrokerError` that Warden owns: plain fields, the
 * original kept as `cause`. Never throws.
 *
 * @example
 * toBrokerError(new Error('socket hang up')).retryable; // true: the outcome is unknown
 */
export function toBrokerError(thrown: unknown): BrokerError {
  const failure = classifyBrokerFailure(thrown);
  return new BrokerError(failure.message, { retryable: failure.kind !== 'rejected', ...(failure.code === undefined ? {} : { code: failure.code }), cause: thrown });
}

/** A short, safe description of any thrown value. Never throws. */
export function describeThrown(thrown: unknown): string {
  try {
    if (thrown instanceof Error) return `${thrown.name}: ${thrown.message}`.slice(0, 500);
    if (typeof thrown === 'string') return thrown.slice(0, 500);
    return `non-Error thrown: ${String(JSON.stringify(thrown) ?? typeof thrown).slice(0, 200)}`;
  } catch {
    return 'unprintable thrown value';
  }
}

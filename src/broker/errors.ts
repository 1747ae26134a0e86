/** Failures at the broker boundary, classified once so the statechart branches on data. */

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
  readonly code: string | undefined;
  constructor(message: string, options: { retryable: boolean; code?: string; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable;
    this.code = options.code;
  }
}

/** How a failed broker call is treated. */
export type BrokerFailure =
  | { readonly kind: 'rejected'; readonly message: string; readonly code: string | undefined }
  | { readonly kind: 'unknown'; readonly message: string; readonly code: string | undefined };

/**
 * Anything an adapter throws, normalised: only a `BrokerError` with `retryable: false` is
 * definitive; every other value (including non-Error throws) is an unknown outcome.
 */
export function classifyBrokerFailure(thrown: unknown): BrokerFailure {
  if (thrown instanceof BrokerError) {
    return { kind: thrown.retryable ? 'unknown' : 'rejected', message: thrown.message, code: thrown.code };
  }
  return { kind: 'unknown', message: describeThrown(thrown), code: undefined };
}

/** A short, safe description of any thrown value. */
export function describeThrown(thrown: unknown): string {
  try {
    if (thrown instanceof Error) return `${thrown.name}: ${thrown.message}`.slice(0, 500);
    if (typeof thrown === 'string') return thrown.slice(0, 500);
    return `non-Error thrown: ${String(JSON.stringify(thrown) ?? typeof thrown).slice(0, 200)}`;
  } catch {
    return 'unprintable thrown value';
  }
}

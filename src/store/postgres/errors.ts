/**
 * Refusals of the PostgreSQL store that are not journal failures: bad options, a lease that is not
 * this caller's to renew or take, a store used after close.
 *
 * @example
 * try { await store.takeOver(executionId, 'engine-b', 10_000) } catch (e) {
 *   if (e instanceof PostgresStoreError && e.code === 'lease_live') console.log('its owner is still alive');
 * }
 */
export class PostgresStoreError extends Error {
  override readonly name = 'PostgresStoreError';
  constructor(
    readonly code: 'invalid_option' | 'lease_held' | 'lease_live' | 'lease_lost' | 'no_lease' | 'closed',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

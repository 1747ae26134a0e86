/**
 * Thrown by the engine's synchronous operator APIs (kill switch, resolve), and by adapter
 * set-up (`CcxtBroker.create`), for a request that cannot be honoured. Nothing changes when it
 * is thrown.
 *
 * @example
 * try { engine.killSwitch.set('off', { reason: 'done' }) } catch (e) { if (e instanceof WardenUsageError) console.error(e.code) }
 */
export class WardenUsageError extends Error {
  override readonly name = 'WardenUsageError';
  constructor(
    readonly code: 'operator_required' | 'reason_required' | 'invalid_state' | 'invalid_symbol' | 'invalid_type' | 'not_awaiting_resolution' | 'engine_closed' | 'missing_dependency' | 'unknown_exchange' | 'broker_mismatch' | 'broker_required' | 'invalid_option' | 'invalid_limits' | 'limits_loosened',
    message: string,
  ) {
    super(message);
  }
}

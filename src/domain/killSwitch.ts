/** What an operator's kill switch change says: a data shape the engine, the journal contract and the stores share. */
import type { KillSwitchType } from './constants.js';

/**
 * What a kill switch change applies to and why; without `symbol` it sets the global switch.
 *
 * @example
 * const options: KillSwitchSetOptions = { symbol: 'EURUSD', reason: 'news at 14:30', operator: 'ana' };
 * engine.killSwitch.set('warning', options);
 */
export interface KillSwitchSetOptions {
  readonly symbol?: string;
  readonly type?: KillSwitchType;
  readonly reason: string;
  /** Who made the change. Required to turn a switch off. */
  readonly operator?: string;
}

/** The answer to an operator's change that is in force but could not be recorded. */
import { JournalError } from '../journal/types.js';

/**
 * A change in force on this engine that the journal could not record: not a refusal. The command
 * inbox answers it as applied, with `unrecorded: true`, so nobody reads a halt in force as refused.
 *
 * @example
 * try { controls.set('active', options) } catch (e) { if (e instanceof UnrecordedChange) console.warn(e.message) }
 */
export class UnrecordedChange extends JournalError {
  constructor(message: string) {
    super('unavailable', message);
  }
}

/** A journal that decides advisory claims the way a shared store does, answered by the path being replayed. */
import { MemoryJournal } from '../../src/index.js';
import type { StoreClaim } from '../../src/journal/types.js';

export class ClaimingJournal extends MemoryJournal {
  private readonly pending: ((outcome: 'claimed' | 'duplicate') => void)[] = [];

  claim(_claim: StoreClaim): Promise<'claimed' | 'duplicate'> {
    return new Promise((resolve) => this.pending.push(resolve));
  }

  /** Answers the oldest claim waiting. */
  answerClaim(outcome: 'claimed' | 'duplicate'): void {
    const next = this.pending.shift();
    if (!next) throw new Error('the path answers a claim nobody made');
    next(outcome);
  }
}

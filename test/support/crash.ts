/**
 * Simulated process death: the dead engine's broker calls never complete and its journal writes
 * stop, exactly as if its process were gone; the venue (a separate service) and the journal
 * file survive, and a new engine is started over the same file.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrokerAdapter, Journal, JournalEntry, JournalRecord } from '../../src/index.js';

type Method = 'submitOrder' | 'cancelOrder' | 'getOrder' | 'getPosition' | 'placeProtection';

export interface Mortal {
  readonly broker: BrokerAdapter;
  readonly journal: Journal;
  die(): void;
  readonly dead: () => boolean;
}

/**
 * Wraps a broker and a journal for one process. `crashOn(method, phase)` may kill the process
 * when a call is about to reach the broker ('before') or when its answer comes back ('after').
 */
export function mortal(broker: BrokerAdapter, journal: Journal, crashOn?: (method: Method, phase: 'before' | 'after') => boolean): Mortal {
  let dead = false;
  // A process that dies lets go of its files: the journal's handle and its writer lock.
  const kill = () => {
    if (dead) return;
    dead = true;
    void journal.close();
  };
  const never = <T>() => new Promise<T>(() => undefined);
  const wrap =
    <A extends unknown[], T>(method: Method, fn: (...a: A) => Promise<T>) =>
    async (...args: A): Promise<T> => {
      if (dead) return never();
      if (crashOn?.(method, 'before')) {
        kill();
        return never();
      }
      const answer = await fn(...args);
      if (dead) return never();
      if (crashOn?.(method, 'after')) {
        kill();
        return never();
      }
      return answer;
    };
  return {
    broker: {
      name: broker.name,
      ...(broker.clientOrderIdDurability ? { clientOrderIdDurability: broker.clientOrderIdDurability } : {}),
      submitOrder: wrap('submitOrder', (r) => broker.submitOrder(r)),
      cancelOrder: wrap('cancelOrder', (r) => broker.cancelOrder(r)),
      getOrder: wrap('getOrder', (r) => broker.getOrder(r)),
      getPosition: wrap('getPosition', (s) => broker.getPosition(s)),
      placeProtection: wrap('placeProtection', (r) => broker.placeProtection(r)),
      subscribe: (listener) => broker.subscribe!((report) => (dead ? undefined : listener(report))),
    },
    journal: {
      append: (entry: JournalEntry): JournalRecord => (dead ? ({ ...entry, sequence: -1 } as unknown as JournalRecord) : journal.append(entry)),
      readAll: () => journal.readAll(),
      records: (f) => journal.records(f),
      verify: () => journal.verify(),
      close: () => journal.close(),
    },
    die: kill,
    dead: () => dead,
  };
}

export const tempJournalPath = () => join(mkdtempSync(join(tmpdir(), 'warden-journal-')), 'warden.journal.sqlite');

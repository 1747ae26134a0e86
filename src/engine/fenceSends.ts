/**
 * Fencing at the broker boundary: nothing that changes the venue goes out for an execution this
 * engine may no longer send for (its lease lost, or not confirmed lately), and after a takeover, on
 * a venue that forgets client ids, nothing the previous owner already requested goes out again.
 */
import type { BrokerObserver } from '../broker/checkedBroker.js';
import { BrokerError } from '../broker/errors.js';
import type { BrokerAdapter } from '../broker/types.js';
import type { Journal } from '../journal/types.js';
import type { FleetLeases } from './fleetLeases.js';

/** Longest a send waits for its lease's next renewal answer before it is refused (ms). */
const CONFIRMATION_WAIT_MS = 2_000;
/** Broker calls that change something at the venue: refused for an execution whose lease is not confirmed. */
const SENDS: ReadonlySet<string> = new Set(['submitOrder', 'placeProtection', 'cancelOrder']);

/** A store that knows, execution by execution, whether this engine may still send (its lease confirmed). */
interface FencingStore {
  fencedFor(executionId: string): string | null;
  /** Resolves at the execution's next renewal outcome. */
  confirmation?(executionId: string): Promise<void>;
}

/**
 * Wraps the engine's broker-call observer so that nothing that changes the venue (a submit, a
 * protection, a cancel) goes out for an execution the store says this engine may not send for:
 * its lease lost, or not confirmed for most of its length (self-fencing, before anyone may take
 * the execution over). Checked when the request is made and again once its record is durable.
 * Reads still go out. And after a takeover, on a venue that does not keep client order ids for
 * good, an entry order or a protection the previous owner had already requested is never sent
 * again: a look-up there cannot prove it absent, and a second one could be a second order (the
 * execution ends flagged instead). On a store without leases the observer is returned as it is.
 *
 * @example
 * const onBrokerCall = fenceSends(store, journalBrokerCalls({ journal, logger, idsOf }), { leases, broker });
 */
export function fenceSends(store: Journal, observe: BrokerObserver, context: { readonly leases?: Pick<FleetLeases, 'inherited'> | null; readonly broker?: BrokerAdapter } = {}): BrokerObserver {
  const fencing = store as Journal & Partial<FencingStore>;
  if (typeof fencing.fencedFor !== 'function') return observe;
  const fencedFor = fencing.fencedFor.bind(store);
  const durable = durabilityOf(context.broker) === 'durable';
  const confirmation = fencing.confirmation?.bind(store);
  const refuse = (method: string, why: string) => new BrokerError(`${method} not sent: ${why}`, { retryable: false, code: 'fenced' });
  const check = (executionId: string, method: string) => {
    const before = durable || (method !== 'submitOrder' && method !== 'placeProtection') ? undefined : context.leases?.inherited(executionId);
    if (before?.[method as 'submitOrder' | 'placeProtection']) {
      throw refuse(
        method,
        `${before.from}, which this execution was taken over from, had already requested it, and this venue does not keep client order ids for good: a second request could be a second ${method === 'submitOrder' ? 'order' : 'protective order'}. Check the venue and resolve`,
      );
    }
    return fencedFor(executionId);
  };
  /** A lease not confirmed lately: the send waits for the next renewal's answer (bounded by the lease) and looks again. */
  const gate = async (executionId: string, method: string): Promise<void> => {
    if (check(executionId, method) === null) return;
    if (confirmation) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([confirmation(executionId), new Promise<void>((resolve) => (timer = setTimeout(resolve, CONFIRMATION_WAIT_MS)))]);
      clearTimeout(timer);
    }
    const why = check(executionId, method);
    if (why !== null) throw refuse(method, why);
  };
  return (c) => {
    if (c.phase !== 'request' || c.executionId === null || !SENDS.has(c.method)) return observe(c);
    const executionId = c.executionId;
    const first = check(executionId, c.method);
    // The wait for the record may be long (a slow database): the lease is looked at again after it.
    if (first === null) {
      const recorded = observe(c);
      return recorded && typeof recorded.then === 'function' ? recorded.then(() => gate(executionId, c.method)) : recorded;
    }
    return gate(executionId, c.method).then(() => observe(c) ?? undefined);
  };
}

/** The adapter's declared client-id durability, read defensively (undeclared: `openOrdersOnly`). */
export function durabilityOf(broker: BrokerAdapter | undefined): string {
  try {
    return broker?.clientOrderIdDurability ?? 'openOrdersOnly';
  } catch {
    return 'openOrdersOnly';
  }
}


/** One execution per advisory: the engine's side of the claim the chart makes in `claiming`. */
import type { AdvisoryRegistry } from '../../machines/execution.machine.js';
import { BrokerError, describeThrown } from '../broker/errors.js';
import type { BrokerAdapter } from '../broker/types.js';
import { decidesClaims, keepsRestartIndex } from '../journal/capabilities.js';
import { JournalKind, type Journal } from '../journal/types.js';
import type { EngineJournal } from './engineJournal.js';
import type { FleetLeases } from './fleetLeases.js';
import type { FleetLedger } from './fleetLedger.js';

/** The identity an adapter declares (`identity`, else `name`), read defensively. */
export function identityOf(broker: BrokerAdapter): string {
  try {
    const declared = broker.identity ?? broker.name;
    return typeof declared === 'string' && declared.length > 0 ? declared.slice(0, 200) : 'unnamed';
  } catch {
    return 'unnamed';
  }
}

/**
 * Claims advisories for this engine. In one process the engine decides; a store shared by several
 * engines (`Journal.claim`) decides fleet-wide, before anything is journaled. The claim record
 * (the frozen snapshot, clientOrderId, absolute deadline and broker) is what a restart resumes
 * from; it is on disk before the first send, which waits for its batch. No claim on record, no send.
 */
export function createClaims(deps: {
  readonly claimed: Iterable<string>;
  readonly journal: EngineJournal;
  readonly store: Journal;
  readonly brokerIdentity: string;
  /** On a leasing store: the execution's lease, taken with its claim (one round trip where the store can) or before it; no send without one. */
  readonly leases?: Pick<FleetLeases, 'claim'> | null;
  /** On a store with the fleet's ledger: the claimed execution joins it before anything is sent. */
  readonly ledger?: Pick<FleetLedger, 'record'> | null;
}): AdvisoryRegistry {
  const { journal, store, brokerIdentity, leases, ledger } = deps;
  const claimed = new Set(deps.claimed);
  // Claims settled before the store's last checkpoint are in its index, not in memory.
  const index = keepsRestartIndex(store) ? store : null;
  const isClaimed = (advisoryId: string) => claimed.has(advisoryId) || index?.hasClaimed?.(advisoryId) === true;
  return {
    has: isClaimed,
    claim: (c) => {
      if (isClaimed(c.advisoryId)) throw new BrokerError('claimed by another execution', { retryable: false, code: 'duplicate_advisory' });
      // An engine that cannot record claims nothing: no store claim, no lease another engine could take over.
      if (journal.failure !== null) throw new BrokerError(`journal unavailable: ${journal.failure}`, { retryable: false, code: 'journal_unavailable' });
      claimed.add(c.advisoryId);
      const payload = { snapshot: c.snapshot, clientOrderId: c.clientOrderId, deadlineAt: c.deadlineAt, broker: brokerIdentity };
      const record = () => {
        if (journal.append({ kind: JournalKind.Claim, executionId: c.executionId, advisoryId: c.advisoryId, snapshotHash: c.snapshot.hash, payload }) === null) {
          throw new BrokerError(`journal unavailable: ${journal.failure}`, { retryable: false, code: 'journal_unavailable' });
        }
      };
      if (!decidesClaims(store)) return record();
      const claim = store.claim.bind(store);
      const request = { ...c, broker: brokerIdentity };
      return (leases ? leases.claim(request, claim) : claim(request)).then((outcome) => {
        if (outcome === 'duplicate') throw new BrokerError('claimed by another engine', { retryable: false, code: 'duplicate_advisory' });
        record();
        // An execution the other engines could not count would be a position they did not open: nothing is sent without it.
        return ledger?.record(c.executionId, c.snapshot).catch((e: unknown) => {
          throw new BrokerError(`not recorded in the fleet's ledger, nothing sent: ${describeThrown(e)}`, { retryable: false, code: 'journal_unavailable' });
        });
      });
    },
  };
}

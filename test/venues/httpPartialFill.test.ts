/**
 * HttpBroker over the paper service on loopback, in virtual time: a partial fill at 1 s is
 * protected in the step that learns it, within one protection round trip, not at the deadline.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, MemoryJournal, type Clock, type JournalRecord } from '../../src/index.js';
import { HttpBroker, startPaperService } from '../../src/entries/adapters.js';
import { protectiveLevels } from '../../src/rules/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';
import { checkInvariants, checkProtectionKeepsUp } from '../support/invariants.js';
import { drive, trackCalls } from './drive.js';

/** The venue's clock: virtual for its fills, while its zero-latency "network" answers at once. */
const venueClock = (clock: VirtualClock): Clock => ({
  now: () => clock.now(),
  setTimeout: (fn, ms) => (ms <= 0 ? setImmediate(fn) : clock.setTimeout(fn, ms)),
  clearTimeout: (handle) => (typeof handle === 'object' && handle !== null && 'hasRef' in handle ? clearImmediate(handle as NodeJS.Immediate) : clock.clearTimeout(handle)),
});

const at = (r: JournalRecord) => Date.parse(r.at);

describe('HttpBroker (paper service, loopback, virtual time)', () => {
  it('500 of 1,000 filled at 1 s: protection for 500 from that fill is asked for the moment it is known and placed before the deadline', async () => {
    const clock = new VirtualClock(T0);
    const service = await startPaperService({ port: 0, clock: venueClock(clock), latencyMs: [0, 0], markets: { EURUSD: { price: 1.1, fillSteps: [{ afterMs: 1_000, fraction: 0.5 }], slippageBps: 0 } } });
    const { broker, quiet } = trackCalls(new HttpBroker({ baseUrl: service.url }));
    const journal = new MemoryJournal(clock);
    const engine = createEngine({ broker, clock, journal, logger: silentLogger(), pollIntervalMs: 500 });
    try {
      const s = snapshot({ positionSize: 1_000 });
      const result = await drive(clock, quiet, engine.execute(s));
      const records = await journal.records();
      expect(result).toMatchObject({ status: 'partially_filled', filledQuantity: 500, fillPrice: 1.1, protectionPlaced: true, requiresManualResolution: false });
      expect(result.reconciliation?.status).toBe('matched');
      const known = records.find((r) => r.kind === 'transition' && (r.payload as { filledQuantity: number }).filledQuantity > 0)!;
      const requests = records.filter((r) => r.kind === 'broker.request' && r.event === 'placeProtection');
      const answered = records.find((r) => r.kind === 'broker.response' && r.event === 'placeProtection')!;
      expect(at(known) - T0).toBeGreaterThanOrEqual(1_000);
      expect(at(known) - T0).toBeLessThanOrEqual(1_000 + 500); // seen at the next poll
      expect(at(requests[0]!)).toBe(at(known));
      expect(requests[0]!.payload).toMatchObject({ quantity: 500, ...protectiveLevels('buy', 1.1, s.slOffsetPct, s.tpOffsetPct) });
      expect(answered.payload).toMatchObject({ status: 'placed', quantity: 500 });
      expect(at(answered)).toBe(at(known)); // one round trip, not the 30 s deadline
      // The venue holds it: one protective order for the 500 filled.
      expect(service.broker.venue.position('EURUSD')).toMatchObject({ quantity: 500, stopLoss: result.stopLoss, takeProfit: result.takeProfit });
      checkProtectionKeepsUp({ journal: records });
      checkInvariants({ result, snapshot: s, journal: records, venue: service.broker.venue });
    } finally {
      await engine.close();
      await service.close();
    }
  });
});

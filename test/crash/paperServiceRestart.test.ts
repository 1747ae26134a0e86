/**
 * The paper service keeps every order it accepted across its own restart, including one on a market
 * where nothing will ever fill it: an engine that died with that order working and is recovered
 * after the service came back finds the order by its clientOrderId and never sends it again.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine, type BrokerAdapter, type OrderRequest } from '../../src/index.js';
import { HttpBroker, startPaperService } from '../../src/entries/adapters.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { mortal } from '../support/crash.js';
import { silentLogger } from '../support/fixtures.js';

const markets = { GBPUSD: { price: 1.27, noLiquidity: true } };

/** An HttpBroker that counts the orders it sends. */
function counting(url: string) {
  const http = new HttpBroker({ baseUrl: url, timeoutMs: 2_000 });
  const sent: OrderRequest[] = [];
  const broker: BrokerAdapter & { identity: string } = {
    name: http.name,
    identity: http.identity,
    clientOrderIdDurability: http.clientOrderIdDurability,
    submitOrder: (r) => (sent.push(r), http.submitOrder(r)),
    cancelOrder: (r) => http.cancelOrder(r),
    getOrder: (r) => http.getOrder(r),
    getPosition: (s) => http.getPosition(s),
    placeProtection: (r) => http.placeProtection(r),
  };
  return { broker, sent };
}

const until = async (what: () => boolean, ms = 10_000) => {
  for (const end = Date.now() + ms; !what(); ) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('paper service restart', () => {
  it('an order accepted on a market without liquidity survives the restart; recovery adopts it and sends nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-paper-restart-'));
    const stateFile = join(dir, 'paper.json');
    const path = join(dir, 'warden.journal.sqlite');
    const first = await startPaperService({ port: 0, latencyMs: [1, 1], markets, stateFile });
    const port = Number(new URL(first.url).port);

    // The engine dies at its first look-up after the venue accepted the order.
    const before = counting(first.url);
    const dying = mortal(before.broker, new SqliteJournal(path), (m, phase) => m === 'getOrder' && phase === 'before');
    const engine = createEngine({ broker: { ...dying.broker, identity: before.broker.identity } as BrokerAdapter, journal: dying.journal, logger: silentLogger() });
    const now = Date.now();
    void engine.execute({
      advisoryId: 'restart-1', symbol: 'GBPUSD', side: 'buy', positionSize: 1, referencePrice: 1.27, slOffsetPct: -0.01, tpOffsetPct: 0.02,
      createdAt: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 600_000).toISOString(),
      approval: { approvedBy: 'alice', approvedAt: new Date(now - 30_000).toISOString() },
    });
    await until(dying.dead);
    expect(before.sent).toHaveLength(1);
    const clientOrderId = before.sent[0]!.clientOrderId;
    // What the state file holds is what a restarted venue knows.
    expect(JSON.stringify(JSON.parse(readFileSync(stateFile, 'utf8')))).toContain(clientOrderId);
    await first.close();
    await new Promise((r) => setTimeout(r, 50)); // pooled connections hear that the old service is gone

    const second = await startPaperService({ port, latencyMs: [1, 1], markets, stateFile });
    try {
      expect((await new HttpBroker({ baseUrl: second.url }).getOrder({ clientOrderId }))?.status).toBe('pending');
      const after = counting(second.url);
      const journal = new SqliteJournal(path);
      const recovering = createEngine({ broker: after.broker, journal, logger: silentLogger() });
      // Found at the venue and working again: the kill switch ends it without waiting for the deadline.
      await until(() => journal.readAll().some((r) => r.kind === 'transition' && r.to === 'live.trading.working' && r.sequence > 0 && journal.readAll().some((x) => x.kind === 'recovery' && x.sequence < r.sequence)));
      recovering.killSwitch.set('active', { symbol: 'GBPUSD', reason: 'end the test', operator: 'test' });
      const [result] = await recovering.recovery;
      await recovering.close();
      expect(after.sent).toHaveLength(0);
      expect(result?.status).toBe('cancelled');
      expect((await second.broker.getOrder({ clientOrderId }))?.status).toBe('cancelled');
      expect(second.broker.state().venue.orders).toHaveLength(1);
    } finally {
      await second.close();
    }
  }, 30_000);
});

import { describe, expect, it } from 'vitest';
import { MemoryJournal, type OrderRequest } from '../../src/index.js';
import { harness, snapshot } from '../support/fixtures.js';

describe('failure 7: crash between send and record (here: the intent is journaled before the send)', () => {
  it('every broker request is in the journal before the broker sees it', async () => {
    const journal = new MemoryJournal();
    const h = harness({ engine: { journal } });
    const s = snapshot();
    const seenAtSend: string[] = [];
    for (const method of ['submitOrder', 'cancelOrder', 'getOrder', 'getPosition', 'placeProtection'] as const) {
      const original = (h.broker[method] as (...a: unknown[]) => Promise<unknown>).bind(h.broker);
      (h.broker as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        const last = journal.unsafeRecords().at(-1)!;
        seenAtSend.push(`${method}:${last.kind}:${last.event}`);
        return original(...args);
      };
    }
    h.broker.script.submit.push({ kind: 'acceptThenFail' });
    h.broker.script.cancel.push({ kind: 'tooLate', price: 1.1 });
    await h.finish(s);
    expect(seenAtSend.length).toBeGreaterThan(5);
    // getOrder and getPosition of the reconciliation go out together: the request journaled last is one of the pair.
    for (const entry of seenAtSend) expect(entry).toMatch(/^(\w+):broker\.request:(\w+)$/);
    for (const entry of seenAtSend.filter((e) => !e.startsWith('get'))) {
      const [method, , event] = entry.split(':');
      expect(event).toBe(method);
    }
  });

  it('the intent records what would be needed to recover: clientOrderId, quantity, side, symbol', async () => {
    const h = harness();
    h.broker.script.submit.push({ kind: 'hang' });
    void h.engine.execute(snapshot());
    await h.clock.advance(1);
    const intent = (await h.engine.journal.records()).find((r) => r.kind === 'broker.request' && r.event === 'submitOrder')!;
    expect(intent.payload as OrderRequest).toEqual({ clientOrderId: `wd-${snapshot().hash.slice(0, 24)}`, symbol: 'EURUSD', side: 'buy', quantity: 10, type: 'market' });
  });
});

/**
 * The engine's share of the event loop (src/engine/loopBudget.ts): beyond a slice, starts and
 * answers wait, answers first, in arrival order, one per turn of the loop, and a pushed report
 * waits in the same line as answers, so an engine under load takes in what the venue said in the
 * order the venue said it.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createEngine, MemoryJournal, PaperBroker, type BrokerAdapter, type OrderReport, type OrderRequest } from '../../src/index.js';
import { createLoopBudget, pacedBacklog } from '../../src/engine/loopBudget.js';
import { createKillSwitchFanOut } from '../../src/engine/killSwitchFanOut.js';
import { createMailbox } from '../../src/engine/mailbox.js';
import { rawSnapshot } from '../support/fixtures.js';

const turn = () => new Promise<void>((r) => setImmediate(r));

describe('loop budget', () => {
  it('runs work at once while the slice lasts and nothing waits', async () => {
    const loop = createLoopBudget(1_000);
    expect(loop.pace()).toBeUndefined();
    let started = false;
    await loop.admit(async () => void (started = true));
    expect(started).toBe(true);
    expect(pacedBacklog()).toBe(0);
  });

  it('beyond the slice, answers wait in arrival order and go before executions waiting to start; kill switch tells go first', async () => {
    const loop = createLoopBudget(0); // every slice is spent at once
    const order: string[] = [];
    const first = loop.admit(async () => void order.push('start 1'));
    const a = loop.pace()!.then(() => order.push('answer 1'));
    const b = loop.pace()!.then(() => order.push('answer 2'));
    const second = loop.admit(async () => void order.push('start 2'));
    loop.soon(() => order.push('kill switch told')); // urgent: ahead of everything waiting
    expect(pacedBacklog()).toBe(5);
    await Promise.all([first, a, b, second]);
    expect(order).toEqual(['kill switch told', 'answer 1', 'answer 2', 'start 1', 'start 2']);
    expect(pacedBacklog()).toBe(0);
  });

  it('lets one waiting item in at a time, after the promise jobs of the one before, with timers between turns', async () => {
    const loop = createLoopBudget(0);
    const log: string[] = [];
    const items = Array.from({ length: 3 }, (_, i) =>
      loop.pace()!.then(async () => {
        log.push(`in ${i}`);
        await Promise.resolve();
        await Promise.resolve();
        log.push(`done ${i}`); // its jobs finish before the next item is let in
        if (i === 0) setTimeout(() => log.push('timer'), 0);
      }),
    );
    await Promise.all(items);
    expect(log.filter((l) => l !== 'timer')).toEqual(['in 0', 'done 0', 'in 1', 'done 1', 'in 2', 'done 2']);
    await new Promise((r) => setTimeout(r, 5));
    expect(log).toContain('timer');
    for (let i = 0; i < 3; i++) await turn();
  });

  it('a start that throws fails its own admission only: what waits behind it still runs', async () => {
    const loop = createLoopBudget(0);
    const failing = loop.admit<void>(() => {
      throw new Error('broken start');
    });
    const next = loop.admit(async () => 'ran');
    const answer = loop.pace();
    await expect(failing).rejects.toThrow('broken start');
    await expect(next).resolves.toBe('ran');
    await answer;
    expect(pacedBacklog()).toBe(0);
  });

  it('lets in as many waiting items per turn as fit in the slice, so a journal writing per turn batches them', async () => {
    const loop = createLoopBudget(2);
    // Count turns of the loop: one increment per check phase.
    let turnNo = 0;
    let counting = true;
    const tick = () => {
      turnNo++;
      if (counting) setImmediate(tick);
    };
    setImmediate(tick);
    void loop.admit(async () => {
      const until = performance.now() + 3;
      while (performance.now() < until); // spends this turn's slice
    });
    const turns: number[] = [];
    const items = Array.from({ length: 50 }, () => loop.admit(async () => void turns.push(turnNo)));
    expect(pacedBacklog()).toBe(50); // all wait: the slice is spent
    await Promise.all(items);
    counting = false;
    // One per turn would take 50 turns; cheap items go in by the round.
    expect(new Set(turns).size).toBeLessThanOrEqual(5);
  });

  it("an execution's timer that falls due while answers wait is taken in after them, and not at all if cleared meanwhile", async () => {
    const loop = createLoopBudget(0);
    // A clock whose due timers this test fires by hand, while the answer still waits.
    const due: (() => void)[] = [];
    const clock = { now: () => 0, setTimeout: (fn: () => void) => due.push(fn), clearTimeout: () => undefined };
    const timers = createMailbox({ clock, loop, tell: () => undefined }).timersOf('x');
    const order: string[] = [];
    timers.setTimeout(() => order.push('deadline'), 1_000);
    const cleared = timers.setTimeout(() => order.push('retry pause'), 1_000);
    const answer = loop.pace()!.then(() => {
      order.push('answer that came first');
      timers.clearTimeout(cleared); // it leaves the state that set the pause, whose turn has not come
    });
    expect(pacedBacklog()).toBe(1);
    for (const fire of due) fire(); // both fall due while the answer waits: they wait behind it
    expect(order).toEqual([]);
    await answer;
    for (let i = 0; i < 5; i++) await turn();
    expect(order).toEqual(['answer that came first', 'deadline']);
  });

  it('a queued answer that throws, at once or after waiting, is its own failure: the line goes on', async () => {
    const loop = createLoopBudget(1_000);
    const order: string[] = [];
    loop.queue(() => {
      throw new Error('taken in at once');
    });
    const resume = loop.pause();
    loop.queue(() => {
      order.push('first');
      throw new Error('taken in after the pause');
    });
    loop.queue(() => void order.push('second'));
    const after = loop.pace()!.then(() => order.push('third'));
    resume();
    await after;
    expect(order).toEqual(['first', 'second', 'third']);
    expect(pacedBacklog()).toBe(0);
  });

  it('pause: nothing is let in while it lasts, however much of the slice is left; then everything in its order', async () => {
    const loop = createLoopBudget(1_000); // a slice that never runs out: only the pause holds work back
    const order: string[] = [];
    const resume = loop.pause();
    const answer = loop.pace();
    expect(answer).toBeDefined(); // not taken in at once
    const a = answer!.then(() => order.push('answer'));
    const started = loop.admit(async () => void order.push('start'));
    loop.soon(() => order.push('told'));
    for (let i = 0; i < 5; i++) await turn();
    expect(order).toEqual([]);
    resume();
    resume(); // a second call changes nothing
    await Promise.all([a, started]);
    expect(order).toEqual(['told', 'answer', 'start']);
    expect(loop.pace()).toBeUndefined();
  });

  it('the fan-out keeps the engine paused until its cancels are sent, when their record makes them wait', async () => {
    const loop = createLoopBudget(1_000);
    // A working execution, as the chart would show it to the fan-out.
    const context = { attempts: [], order: { status: 'pending', brokerOrderId: 'B-1' }, clientOrderId: 'wd-1', snapshot: { symbol: 'EURUSD' } };
    const target = { symbol: 'EURUSD', send: () => undefined, snapshot: () => ({ status: 'active', value: { live: { trading: 'working' } }, hasTag: (tag: string) => tag === 'trading', context }) as never };
    const log: string[] = [];
    let recorded!: () => void;
    const fanOut = createKillSwitchFanOut({
      running: new Map([['exec-1', target]]),
      stateOf: () => 'active',
      // The batch's record is still being written: the cancels go out when it is.
      cancelOrders: (batch) =>
        new Promise<void>((r) => (recorded = r)).then(() => {
          for (const item of batch) log.push(`cancel requested ${item.ref.clientOrderId}`);
        }),
      loop,
    });
    fanOut.onChange({ at: new Date(0).toISOString(), symbol: null, from: 'off', to: 'active', type: 'manual', reason: 'panic', operator: 'ops' });
    const answer = loop.pace();
    expect(answer).toBeDefined();
    const taken = answer!.then(() => log.push('answer taken in'));
    for (let i = 0; i < 5; i++) await turn();
    expect(log).toEqual([]);
    recorded();
    await taken;
    expect(log).toEqual(['cancel requested wd-1', 'answer taken in']);
  });

  it('an engine under load takes answers and pushes in the order the venue gave them: 2,000 executions on 8 symbols, none flagged', async () => {
    const symbols = Array.from({ length: 8 }, (_, i) => `L${i}`);
    const markets = Object.fromEntries(symbols.map((s) => [s, { price: 1.1, fillAfterMs: 20, slippageBps: 0 }]));
    // A venue that pushes every fill the moment it happens and answers 2–6 ms later: a position
    // read before another execution's fill is pushed must be taken in before that push.
    const broker = new PaperBroker({ seed: 3, latencyMs: [1, 3], markets });
    const engine = createEngine({ broker, journal: new MemoryJournal(), logger: pino({ level: 'silent' }) });
    const now = Date.now();
    const results = await Promise.all(
      Array.from({ length: 2_000 }, (_, i) =>
        engine.execute(
          rawSnapshot({
            advisoryId: `load-${i}`, symbol: symbols[i % symbols.length], positionSize: 1, referencePrice: 1.1,
            createdAt: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 600_000).toISOString(),
            approval: { approvedBy: 'alice', approvedAt: new Date(now - 30_000).toISOString() },
          }),
        ),
      ),
    );
    const flagged = results.filter((r) => r.requiresManualResolution);
    expect(flagged.map((r) => r.reconciliation?.mismatches)).toEqual([]);
    expect(results.every((r) => r.status === 'filled')).toBe(true);
    await engine.close();
  }, 60_000);

  it("a fill of another execution pushed in the same task as a position answer is no difference, whichever is taken in first", async () => {
    // The venue answers A's getPosition (measured without B's fill) and, in the same task, fills
    // B and pushes it. Warden may take the push in first: A's expected position is then a window
    // (what it knew when it asked, and when the answer was taken in), and A's position is in it.
    const orders = new Map<string, OrderReport>();
    const listeners = new Set<(r: OrderReport) => void>();
    let net = 0;
    let levels: { stopLoss: number | null; takeProfit: number | null } = { stopLoss: null, takeProfit: null };
    let submitted = 0;
    let bId: string | null = null;
    let bKnown: () => void = () => undefined;
    const bSubmitted = new Promise<void>((r) => (bKnown = r));
    const venue: BrokerAdapter = {
      name: 'racy',
      clientOrderIdDurability: 'durable',
      async submitOrder(req: OrderRequest) {
        const first = submitted++ === 0;
        const report: OrderReport = first
          ? { clientOrderId: req.clientOrderId, brokerOrderId: 'A', status: 'filled', filledQuantity: req.quantity, averageFillPrice: 1.1 }
          : { clientOrderId: req.clientOrderId, brokerOrderId: 'B', status: 'pending', filledQuantity: 0, averageFillPrice: null };
        if (first) net += req.quantity;
        else {
          bId = req.clientOrderId;
          bKnown();
        }
        orders.set(req.clientOrderId, report);
        return report;
      },
      async cancelOrder(ref) {
        return orders.get(ref.clientOrderId)!;
      },
      async getOrder(ref) {
        return orders.get(ref.clientOrderId) ?? null;
      },
      async placeProtection(req) {
        levels = { stopLoss: req.stopLoss, takeProfit: req.takeProfit }; // both buys fill at 1.1: the same levels
        return { clientOrderId: req.clientOrderId, status: 'placed', stopLoss: req.stopLoss, takeProfit: req.takeProfit, quantity: req.quantity };
      },
      async getPosition(symbol) {
        await bSubmitted;
        const measured = { symbol, quantity: net, averagePrice: 1.1, ...levels };
        const answer = Promise.resolve(measured);
        if (orders.get(bId!)?.status === 'pending') {
          // Same task: B fills and is pushed right after the position was measured.
          const filled: OrderReport = { ...orders.get(bId!)!, status: 'filled', filledQuantity: 1, averageFillPrice: 1.1 };
          orders.set(bId!, filled);
          net += 1;
          for (const l of listeners) l(filled);
        }
        return answer;
      },
      subscribe(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    const engine = createEngine({ broker: venue, journal: new MemoryJournal(), logger: pino({ level: 'silent' }), pollIntervalMs: 60_000, minPollIntervalMs: 60_000 });
    const now = Date.now();
    const input = (id: string) =>
      rawSnapshot({
        advisoryId: id, symbol: 'EURUSD', positionSize: 1, referencePrice: 1.1,
        createdAt: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 600_000).toISOString(),
        approval: { approvedBy: 'alice', approvedAt: new Date(now - 30_000).toISOString() },
      });
    const [a, b] = await Promise.all([engine.execute(input('race-a')), engine.execute(input('race-b'))]);
    expect([a.status, b.status]).toEqual(['filled', 'filled']);
    expect([a.reconciliation?.mismatches, b.reconciliation?.mismatches]).toEqual([[], []]);
    expect(a.requiresManualResolution || b.requiresManualResolution).toBe(false);
    await engine.close();
  });
});

/**
 * One way in: an answer, a push and a poll's result reach an execution only through its mailbox
 * (src/engine/mailbox.ts), and each only after a kill switch change still untold to it and, for
 * a broker's answer, after the journal's record of that answer. Order only, no timing: one log
 * holds what the journal records and what each execution receives, in the order they happen.
 */
import { describe, expect, it } from 'vitest';
import { createActor, setup, toPromise, type AnyActorLogic, type InspectionEvent } from 'xstate';
import { createActors } from '../../machines/execution.actors.js';
import { createEnv } from '../../machines/execution.env.js';
import { createEngine, MemoryJournal, type BrokerAdapter, type ExecutionResult, type OrderRef, type OrderReport, type PositionReport } from '../../src/index.js';
import { createMailbox } from '../../src/engine/mailbox.js';
import { VirtualClock } from '../../src/testing/index.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';

type Method = 'submitOrder' | 'getOrder';

/** A venue that answers at once, except the call it is told to hold, which waits for `release`. */
class HoldingVenue implements BrokerAdapter {
  readonly name = 'holding-venue';
  status: OrderReport['status'] = 'pending';
  lastId: string | null = null;
  private hold: Method | null = null;
  private held: { resolve: (r: OrderReport) => void; clientOrderId: string } | null = null;
  private readonly listeners = new Set<(report: OrderReport) => void>();
  report(clientOrderId: string, filledQuantity = 0): OrderReport {
    return { clientOrderId, brokerOrderId: `V-${clientOrderId}`, status: this.status, filledQuantity, averageFillPrice: filledQuantity > 0 ? 1.1 : null };
  }
  holdNext(method: Method): void {
    this.hold = method;
  }
  get holding(): boolean {
    return this.held !== null;
  }
  /** Answers the held call now. */
  release(report: (clientOrderId: string) => OrderReport = (id) => this.report(id)): void {
    const h = this.held!;
    this.held = null;
    h.resolve(report(h.clientOrderId));
  }
  push(report: OrderReport): void {
    for (const l of this.listeners) l(report);
  }
  private answer(method: Method, clientOrderId: string): Promise<OrderReport> {
    if (this.hold !== method) return Promise.resolve(this.report(clientOrderId));
    this.hold = null;
    return new Promise((resolve) => (this.held = { resolve, clientOrderId }));
  }
  subscribe(listener: (report: OrderReport) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
  submitOrder(req: { clientOrderId: string }): Promise<OrderReport> {
    this.lastId = req.clientOrderId;
    return this.answer('submitOrder', req.clientOrderId);
  }
  getOrder(ref: OrderRef): Promise<OrderReport | null> {
    return this.answer('getOrder', ref.clientOrderId);
  }
  cancelOrder(ref: OrderRef): Promise<OrderReport> {
    this.status = 'cancelled';
    return Promise.resolve(this.report(ref.clientOrderId));
  }
  getPosition(symbol: string): Promise<PositionReport> {
    return Promise.resolve({ symbol, quantity: 0, averagePrice: null, stopLoss: null, takeProfit: null });
  }
  placeProtection(): never {
    throw new Error('nothing fills here');
  }
}

/** A journal that also writes what it records into the shared log. */
class LoggingJournal extends MemoryJournal {
  constructor(
    clock: VirtualClock,
    private readonly log: string[],
  ) {
    super(clock);
  }
  override append(entry: Parameters<MemoryJournal['append']>[0]): ReturnType<MemoryJournal['append']> {
    if (entry.kind === 'broker.response' || entry.kind === 'kill_switch') this.log.push(`journal ${entry.kind} ${entry.event}`);
    return super.append(entry);
  }
}

async function run() {
  const clock = new VirtualClock(T0);
  const log: string[] = [];
  const inspect = (ev: InspectionEvent) => {
    // What reaches an execution itself (its root actor).
    if (ev.type !== '@xstate.event' || ev.actorRef.sessionId !== ev.rootId) return;
    const e = ev.event as { type: string; state?: string };
    log.push(e.type === 'KILL_SWITCH' ? `received KILL_SWITCH ${e.state}` : `received ${e.type.replace(/^xstate\.done\.actor\./, 'done ')}`);
  };
  const venue = new HoldingVenue();
  const engine = createEngine({ broker: venue, clock, logger: silentLogger(), pollIntervalMs: 500, journal: new LoggingJournal(clock, log), inspect });
  const steps: Record<string, string[]> = {};
  const from = () => log.length;
  /** Lets the engine work, moving time in small steps, until `done` says so. */
  const until = async (done: () => boolean) => {
    for (let i = 0; i < 200 && !done(); i++) await clock.advance(i === 0 ? 0 : 50);
    expect(done()).toBe(true);
  };

  // An answer: the submit's answer arrives just after the switch changed.
  venue.holdNext('submitOrder');
  const done: Promise<ExecutionResult> = engine.execute(snapshot({ advisoryId: 'adv-mailbox' }));
  await until(() => venue.holding);
  let at = from();
  engine.killSwitch.set('warning', { reason: 'drill', operator: 'ops' });
  venue.release();
  await until(() => log.slice(at).some((l) => l.startsWith('received done')));
  steps.answer = log.slice(at);

  // A poll: its answer arrives just after the switch changed back.
  venue.holdNext('getOrder');
  await until(() => venue.holding);
  at = from();
  engine.killSwitch.set('off', { reason: 'drill over', operator: 'ops' });
  venue.release();
  await until(() => log.slice(at).includes('received ORDER_UPDATE'));
  steps.poll = log.slice(at);

  // A push: the venue reports the order just after the switch changed again.
  at = from();
  engine.killSwitch.set('warning', { reason: 'second drill', operator: 'ops' });
  venue.push(venue.report(venue.lastId!));
  await until(() => log.slice(at).includes('received ORDER_UPDATE'));
  steps.push = log.slice(at);

  engine.killSwitch.set('active', { reason: 'end', operator: 'ops' });
  const result = await clock.run(done);
  await engine.close();
  return { steps, result };
}


describe('the mailbox: a turn of the loop, then the untold switch change, then the answer is taken in', () => {
  it('waits for its turn, tells the execution first, then takes the answer in', async () => {
    const log: string[] = [];
    let turn: () => void = () => undefined;
    const mailbox = createMailbox({
      clock: new VirtualClock(T0),
      loop: { pace: () => new Promise<void>((r) => (turn = () => (log.push('turn'), r()))) },
      tell: (id) => log.push(`told ${id}`),
    });
    const delivered = mailbox.deliver('x', () => (log.push('taken in'), 42));
    await Promise.resolve();
    expect(log).toEqual([]); // nothing before its turn
    turn();
    expect(await delivered).toBe(42);
    expect(log).toEqual(['turn', 'told x', 'taken in']);
  });

  it('takes in at once when the loop has room, still telling first; a failure to take in is the delivery\'s failure', async () => {
    const log: string[] = [];
    const mailbox = createMailbox({ clock: new VirtualClock(T0), loop: { pace: () => undefined }, tell: (id) => log.push(`told ${id}`) });
    void mailbox.deliver('x', () => log.push('taken in'));
    expect(log).toEqual(['told x', 'taken in']); // synchronously
    await expect(mailbox.deliver('x', () => { throw new Error('unreadable'); })).rejects.toThrow('unreadable');
  });

  it("the host's own answer ('now') skips the line, but not the switch", () => {
    const log: string[] = [];
    const mailbox = createMailbox({ clock: new VirtualClock(T0), loop: { pace: () => new Promise<void>(() => undefined) }, tell: (id) => log.push(`told ${id}`) });
    void mailbox.deliver('x', () => log.push('venue answer'));
    void mailbox.deliver('x', () => log.push('claim answer'), 'now');
    expect(log).toEqual(['told x', 'claim answer']); // the venue's answer still waits for a turn that never comes
  });

  it("an execution's own timers fire through it, and a cleared one never does", async () => {
    const clock = new VirtualClock(T0);
    const log: string[] = [];
    const mailbox = createMailbox({ clock, loop: { pace: () => undefined }, tell: (id) => log.push(`told ${id}`) });
    const timers = mailbox.timersOf('x');
    timers.setTimeout(() => log.push('deadline'), 30_000);
    const cleared = timers.setTimeout(() => log.push('cleared'), 10_000);
    timers.clearTimeout(cleared);
    await clock.advance(30_000);
    expect(log).toEqual(['told x', 'deadline']);
  });
});

describe('the actors: nothing reaches the execution but through the mailbox', () => {
  const s = snapshot();
  const order: OrderReport = { clientOrderId: 'wd-1', brokerOrderId: 'B1', status: 'pending', filledQuantity: 0, averageFillPrice: null };
  /** The actors over a mailbox that holds everything until `open()`; `log` also holds what the observer (the journal) sees. */
  function gated(recording = true) {
    const log: string[] = [];
    const held: (() => void)[] = [];
    let opened = false;
    const broker = Object.assign(new HoldingVenue(), {
      getOrder: () => Promise.resolve(order),
      submitOrder: () => Promise.resolve(order),
      subscribe: (listener: (r: OrderReport) => void) => (queueMicrotask(() => listener(order)), () => undefined),
    });
    const env = createEnv({
      broker,
      pollIntervalMs: 1,
      minPollIntervalMs: 1,
      onBrokerCall: (c) => {
        if (!recording) throw new Error('disk full');
        log.push(`journal ${c.phase} ${c.method}`);
      },
      deliver: <T,>(id: string, takeIn: () => T) =>
        new Promise<T>((resolve, reject) => {
          const go = () => {
            log.push(`mailbox ${id}`);
            try {
              resolve(takeIn());
            } catch (e) {
              reject(e);
            }
          };
          if (opened) go();
          else held.push(go);
        }),
    });
    const open = () => {
      opened = true;
      for (const go of held.splice(0)) go();
    };
    return { actors: createActors(env) as unknown as Record<string, AnyActorLogic>, log, open };
  }
  const settle = () => new Promise((r) => setTimeout(r, 5));

  it('an answer: the invoked actor resolves only once the mailbox took it in, after the journal recorded it', async () => {
    const { actors, log, open } = gated();
    const actor = createActor(actors.submitOrder!, { input: { executionId: 'x', request: { clientOrderId: 'wd-1', symbol: s.symbol, side: 'buy', quantity: 1, type: 'market' } } }).start();
    const done = toPromise(actor).then(() => log.push('resolved'));
    await settle();
    expect(log).toEqual(['journal request submitOrder']); // sent, answered, and held
    open();
    await done;
    expect(log).toEqual(['journal request submitOrder', 'mailbox x', 'journal response submitOrder', 'resolved']);
  });

  it('a request the journal cannot record: nothing is sent, and that failure too reaches the execution only through the mailbox', async () => {
    const { actors, log, open } = gated(false);
    const actor = createActor(actors.submitOrder!, { input: { executionId: 'x', request: { clientOrderId: 'wd-1', symbol: s.symbol, side: 'buy', quantity: 1, type: 'market' } } }).start();
    const done = toPromise(actor).then(
      () => log.push('resolved'),
      (e: unknown) => log.push(`failed ${(e as { code?: string }).code}`),
    );
    await settle();
    expect(log).toEqual([]);
    open();
    await done;
    expect(log).toEqual(['mailbox x', 'failed journal_unavailable']);
  });

  for (const name of ['orderFeed', 'watchOrder'] as const) {
    it(`${name === 'orderFeed' ? 'a push' : 'a poll'}: the callback actor sends back only once the mailbox took it in`, async () => {
      const { actors, log, open } = gated();
      const host = setup({ actors: { child: actors[name]! } }).createMachine({
        invoke: { src: 'child', input: name === 'orderFeed' ? { executionId: 'x', clientOrderId: 'wd-1' } : { executionId: 'x', ref: { clientOrderId: 'wd-1', symbol: s.symbol } } },
        on: { '*': { actions: ({ event }) => void log.push(`received ${event.type}`) } },
      });
      const parent = createActor(host).start();
      await settle();
      expect(log.filter((l) => l.startsWith('received') || l.startsWith('mailbox'))).toEqual([]);
      open();
      await settle();
      parent.stop();
      const firstReceived = log.indexOf('received ORDER_UPDATE');
      expect(firstReceived).toBeGreaterThan(log.indexOf('mailbox x'));
      expect(log.indexOf('mailbox x')).toBeGreaterThanOrEqual(0);
      // A poll's answer is journaled inside its delivery, before the execution hears it.
      if (name === 'watchOrder') expect(log.slice(0, firstReceived)).toEqual(['journal request getOrder', 'mailbox x', 'journal response getOrder']);
    });
  }
});

describe('the engine: an answer, a poll and a push each reach the execution after the untold switch change, and after the journal record of the answer', () => {
  it('in that order, whatever reaches it', async () => {
    const { steps, result } = await run();
    expect(steps.answer).toEqual(['journal kill_switch off->warning', 'received KILL_SWITCH warning', 'journal broker.response submitOrder', 'received done submitOrder']);
    expect(steps.poll).toEqual(['journal kill_switch warning->off', 'received KILL_SWITCH off', 'journal broker.response getOrder', 'received ORDER_UPDATE']);
    expect(steps.push).toEqual(['journal kill_switch off->warning', 'received KILL_SWITCH warning', 'received ORDER_UPDATE']);
    expect(result.status).toBe('cancelled');
  });
});

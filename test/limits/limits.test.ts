/**
 * Pre-trade limits: each refuses at its boundary (just inside fills, just outside is refused with
 * its code and nothing is sent), concurrent executions cannot jointly pass a limit, and limits
 * can be tightened at run time, never loosened.
 */
import { createActor, fromPromise } from 'xstate';
import { describe, expect, it } from 'vitest';
import { createEngine, MemoryJournal, PaperBroker, WardenUsageError, type EngineOptions, type ExecutionResult, type FrozenSnapshot, type LimitsInput, type Quote } from '../../src/index.js';
import { createExecutionMachine } from '../../machines/execution.machine.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { LIMIT_FACT_CALL_MS, RATE_WINDOW_MS } from '../../src/domain/constants.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';
import { checkInvariants } from '../support/invariants.js';

/** A scripted venue that can also quote and say whether it trades; each answer can be held back or fail. */
class QuotingBroker extends ScriptedBroker {
  quote: Quote | 'hang' | 'fail' = { bid: 1.0999, ask: 1.1001 };
  tradable: boolean | 'hang' | 'fail' = true;
  readonly quotesAsked: string[] = [];
  getQuote(symbol: string): Promise<Quote> {
    this.quotesAsked.push(symbol);
    const q = this.quote;
    return q === 'hang' ? new Promise(() => undefined) : q === 'fail' ? Promise.reject(new Error('quote service down')) : Promise.resolve(q);
  }
  isTradable(): Promise<boolean> {
    const t = this.tradable;
    return t === 'hang' ? new Promise(() => undefined) : t === 'fail' ? Promise.reject(new Error('status unknown')) : Promise.resolve(t);
  }
}

function desk(limits: LimitsInput | undefined, options: Partial<EngineOptions> = {}) {
  const clock = new VirtualClock(T0);
  const broker = new QuotingBroker({ clock, latencyMs: 10, push: true });
  // Every order fills in full 20 ms after the venue takes it, unless a test says otherwise.
  let fillRatio = 1;
  broker.onAccepted((o) => clock.setTimeout(() => fillRatio > 0 && broker.fill(o.clientOrderId, o.quantity * fillRatio, 1.1), 20));
  const engine = createEngine({ broker, clock, logger: silentLogger(), pollIntervalMs: 500, ...(limits ? { limits } : {}), ...options });
  let n = 0;
  const order = (overrides: Parameters<typeof snapshot>[0] = {}): FrozenSnapshot => snapshot({ advisoryId: `adv-${++n}`, ...overrides });
  const run = async (s: FrozenSnapshot): Promise<ExecutionResult> => {
    const result = await clock.run(engine.execute(s));
    checkInvariants({ result, snapshot: s, journal: await engine.journal.records(), venue: broker.venue });
    return result;
  };
  return { clock, broker, engine, order, run, setFillRatio: (r: number) => void (fillRatio = r), submits: () => broker.callsOf('submitOrder').length };
}

/** A refusal by a limit: rejected, its code, a message naming the limit and the figure, and nothing sent. */
function expectRefused(result: ExecutionResult, code: string, ...words: string[]) {
  expect(result.status).toBe('rejected');
  expect(result.error?.code).toBe(code);
  for (const w of words) expect(result.error?.message).toContain(w);
  expect(result.attempts).toEqual([]);
  expect(result.clientOrderId).toBeNull();
  expect(result.requiresManualResolution).toBe(false);
}

describe('limits given to createEngine', () => {
  it('invalid limits throw WardenUsageError naming the field, and nothing is journaled', () => {
    const broker = new QuotingBroker({ clock: new VirtualClock(T0) });
    const cases: [unknown, string][] = [
      [{ symbols: { EURUSD: { maxQuantity: -1 } } }, 'limits.symbols.EURUSD.maxQuantity'],
      [{ symbols: { '*': { maxQty: 10 } } }, 'maxQty'],
      [{ symbols: { eurusd: { maxQuantity: 10 } } }, 'limits.symbols.eurusd'],
      [{ symbols: { '*': { priceCollarPct: 1.5 } } }, 'limits.symbols.*.priceCollarPct'],
      [{ symbols: {}, maxOrdersPerMinute: 2.5 }, 'limits.maxOrdersPerMinute'],
      [{ symbols: {}, perMinute: 3 }, 'perMinute'],
    ];
    for (const [limits, field] of cases) {
      const clock = new VirtualClock(T0);
      let thrown: unknown;
      const journal = { appended: 0 };
      try {
        createEngine({ broker, clock, logger: silentLogger(), limits: limits as LimitsInput, journal: countingJournal(clock, journal) });
      } catch (e) {
        thrown = e;
      }
      expect(thrown, field).toBeInstanceOf(WardenUsageError);
      expect((thrown as WardenUsageError).code).toBe('invalid_limits');
      expect((thrown as Error).message).toContain(field);
      expect(journal.appended).toBe(0);
    }
  });

  it('a price collar on a broker that cannot quote is refused at start, naming the field', () => {
    const broker = new ScriptedBroker({ clock: new VirtualClock(T0) });
    expect(() => createEngine({ broker, logger: silentLogger(), limits: { symbols: { EURUSD: { priceCollarPct: 0.01 } } } })).toThrow(/limits\.symbols\.EURUSD\.priceCollarPct: .*cannot quote/);
  });

  it('are frozen at start and journaled once as a limits record', async () => {
    const input = { symbols: { '*': { maxQuantity: 10 } } };
    const d = desk(input);
    input.symbols['*'].maxQuantity = 1_000; // the caller's object changing later changes nothing
    expect(d.engine.limits.current().symbols['*']?.maxQuantity).toBe(10);
    expect(Object.isFrozen(d.engine.limits.current().symbols['*'])).toBe(true);
    expect((await d.run(d.order({ positionSize: 11 }))).error?.code).toBe('limit_quantity');
    const records = (await d.engine.journal.records()).filter((r) => r.kind === 'limits');
    expect(records.filter((r) => r.event === 'start')).toHaveLength(1);
    expect(records[0]!.payload).toEqual({ limits: { symbols: { '*': { maxQuantity: 10 } } }, configured: { symbols: { '*': { maxQuantity: 10 } } } });
    // The facts the order was judged on are journaled under its execution.
    expect(records.filter((r) => r.event === 'check')).toHaveLength(1);
  });

  it('without limits, an engine journals no limits of its own and every order passes', async () => {
    const d = desk(undefined);
    expect((await d.run(d.order({ positionSize: 1e6 }))).status).toBe('filled');
    const records = (await d.engine.journal.records()).filter((r) => r.kind === 'limits');
    // Only the facts the order was judged on: this venue says whether it trades.
    expect(records.map((r) => r.event)).toEqual(['check']);
  });
});

describe('each limit at its boundary', () => {
  it('maxQuantity: the limit itself fills, a hair above is refused (limit_quantity)', async () => {
    const d = desk({ symbols: { '*': { maxQuantity: 10 } } });
    expect((await d.run(d.order({ positionSize: 10 }))).status).toBe('filled');
    expectRefused(await d.run(d.order({ positionSize: 10.000001 })), 'limit_quantity', 'maxQuantity 10', '10.000001');
    expect(d.submits()).toBe(1);
  });

  it('a symbol takes each field it does not set from "*"', async () => {
    const d = desk({ symbols: { '*': { maxQuantity: 5, maxNotional: 100 }, GBPUSD: { maxQuantity: 50 } } });
    expectRefused(await d.run(d.order({ positionSize: 6 })), 'limit_quantity', 'on EURUSD');
    expect((await d.run(d.order({ symbol: 'GBPUSD', positionSize: 50, referencePrice: 2 }))).status).toBe('filled');
    expectRefused(await d.run(d.order({ symbol: 'GBPUSD', positionSize: 50, referencePrice: 2.01 })), 'limit_notional', 'maxNotional 100 on GBPUSD');
  });

  it('maxNotional: quantity × referencePrice at the limit fills (float sums included), above is refused (limit_notional)', async () => {
    const d = desk({ symbols: { EURUSD: { maxNotional: 11 } } });
    expect((await d.run(d.order({ positionSize: 10, referencePrice: 1.1 }))).status).toBe('filled'); // 10 × 1.1 = 11.000000000000002
    expectRefused(await d.run(d.order({ positionSize: 10, referencePrice: 1.1001 })), 'limit_notional', 'maxNotional 11', '11.001');
  });

  it('maxPosition: fills count; the order that reaches the limit fills, one past it is refused (limit_position)', async () => {
    const d = desk({ symbols: { '*': { maxPosition: 20 } } });
    expect((await d.run(d.order({ positionSize: 10 }))).status).toBe('filled');
    expect((await d.run(d.order({ positionSize: 10 }))).status).toBe('filled');
    expectRefused(await d.run(d.order({ positionSize: 0.5 })), 'limit_position', 'maxPosition 20', 'could reach 20.5');
  });

  it('maxPosition holds for shorts too, on the absolute position', async () => {
    const d = desk({ symbols: { '*': { maxPosition: 20 } } });
    expect((await d.run(d.order({ side: 'sell', positionSize: 20 }))).status).toBe('filled');
    expectRefused(await d.run(d.order({ side: 'sell', positionSize: 0.5 })), 'limit_position', 'could reach -20.5');
  });

  it('maxPosition: executions checked together reserve their whole quantity, so they cannot jointly pass it', async () => {
    const d = desk({ symbols: { '*': { maxPosition: 20 } } });
    const results = await d.clock.run(Promise.all([1, 2, 3].map(() => d.engine.execute(d.order({ positionSize: 10 })))));
    expect(results.map((r) => r.status).sort()).toEqual(['filled', 'filled', 'rejected']);
    expect(d.engine.limits.usage('EURUSD')).toEqual({ position: { net: 20, openBuys: 0, openSells: 0 }, ordersLastMinute: { symbol: 2, all: 2 } });
    expect(results.find((r) => r.status === 'rejected')?.error?.message).toContain('(now 0, 20 more in open buy orders, this buy 10)');
    expect(Math.abs(d.broker.venue.position('EURUSD').quantity)).toBe(20);
  });

  it("maxPosition: the unfilled part is released when the execution settles; a refused order's reservation too", async () => {
    const d = desk({ symbols: { '*': { maxPosition: 20 } } });
    d.setFillRatio(0.5); // 5 of 10 fill, the rest is cancelled at the deadline
    expect((await d.run(d.order({ positionSize: 10 }))).status).toBe('partially_filled');
    d.setFillRatio(1);
    expectRefused(await d.run(d.order({ positionSize: 15.5 })), 'limit_position', 'could reach 20.5');
    expect((await d.run(d.order({ positionSize: 15 }))).status).toBe('filled'); // 5 + 15
  });

  it("maxPosition counts what the venue reported beyond Warden's own fills at its last reconciliation", async () => {
    const d = desk({ symbols: { '*': { maxPosition: 20 } } });
    d.broker.venue.fill(d.broker.venue.submit({ clientOrderId: 'by-hand', symbol: 'EURUSD', side: 'buy', quantity: 5, type: 'market' }).clientOrderId, 5, 1.1);
    const first = await d.run(d.order({ positionSize: 10 }));
    expect(first.requiresManualResolution).toBe(true); // the 5 bought by hand is a difference, flagged
    d.engine.resolve(first.advisoryId!, { operator: 'ana', note: 'bought 5 by hand' });
    expectRefused(await d.run(d.order({ positionSize: 5.5 })), 'limit_position', 'now 15');
    expect((await d.run(d.order({ positionSize: 5 }))).status).toBe('filled');
  });

  it('maxOrdersPerMinute per symbol: the last allowed order fills, the next is refused (limit_rate) until the minute has passed', async () => {
    const d = desk({ symbols: { EURUSD: { maxOrdersPerMinute: 2 } } });
    expect((await d.run(d.order())).status).toBe('filled');
    expect((await d.run(d.order())).status).toBe('filled');
    expectRefused(await d.run(d.order()), 'limit_rate', 'maxOrdersPerMinute 2 on EURUSD', 'order 3');
    expect((await d.run(d.order({ symbol: 'GBPUSD' }))).status).toBe('filled'); // another symbol has its own count
    await d.clock.advance(RATE_WINDOW_MS);
    expect((await d.run(d.order())).status).toBe('filled');
  });

  it('maxOrdersPerMinute over all symbols, counted at admission: orders started together cannot all pass', async () => {
    const d = desk({ symbols: {}, maxOrdersPerMinute: 2 });
    const results = await d.clock.run(Promise.all(['EURUSD', 'GBPUSD', 'USDJPY'].map((symbol) => d.engine.execute(d.order({ symbol })))));
    expect(results.filter((r) => r.status === 'filled')).toHaveLength(2);
    expectRefused(results.find((r) => r.status === 'rejected')!, 'limit_rate', 'over all symbols', 'order 3');
  });

  it('an order another limit refused is not counted against the rate', async () => {
    const d = desk({ symbols: { '*': { maxOrdersPerMinute: 1, maxQuantity: 10 } } });
    expect((await d.run(d.order({ positionSize: 11 }))).error?.code).toBe('limit_quantity');
    expect((await d.run(d.order({ positionSize: 10 }))).status).toBe('filled');
  });

  it('priceCollarPct: an ask exactly at the collar fills and the order carries its price bound; beyond it is refused (price_collar)', async () => {
    const d = desk({ symbols: { '*': { priceCollarPct: 0.01 } } });
    d.broker.quote = { bid: 1.0, ask: 1.111 }; // a buy pays the ask: 1 % above 1.1
    expect((await d.run(d.order())).status).toBe('filled');
    const sent = d.broker.callsOf('submitOrder')[0]!.args as { priceBound?: number };
    expect(sent.priceBound).toBeCloseTo(1.111, 12);
    d.broker.quote = { bid: 1.0, ask: 1.1112 };
    expectRefused(await d.run(d.order()), 'price_collar', 'priceCollarPct 0.01', "venue's ask 1.1112");
    // A sell is judged on the bid, with its bound below the reference.
    d.broker.quote = { bid: 1.089, ask: 2 };
    expect((await d.run(d.order({ side: 'sell', symbol: 'GBPUSD' }))).status).toBe('filled');
    expect((d.broker.callsOf('submitOrder')[1]!.args as { priceBound?: number }).priceBound).toBeCloseTo(1.089, 12);
    d.broker.quote = { bid: 1.0888, ask: 1.1 };
    expectRefused(await d.run(d.order({ side: 'sell' })), 'price_collar', "venue's bid 1.0888");
  });

  it('priceCollarPct: a quote that does not come within its time limit, fails or cannot be read refuses ("no quote"), never skips the check', async () => {
    const d = desk({ symbols: { '*': { priceCollarPct: 0.01 } } });
    d.broker.quote = 'hang';
    const started = d.clock.now();
    expectRefused(await d.run(d.order()), 'price_collar', 'no quote', `no answer within ${LIMIT_FACT_CALL_MS} ms`);
    expect(d.clock.now() - started).toBeLessThanOrEqual(LIMIT_FACT_CALL_MS + 100);
    d.broker.quote = 'fail';
    expectRefused(await d.run(d.order()), 'price_collar', 'no quote', 'quote service down');
    d.broker.quote = { bid: Number.NaN, ask: 1.1 };
    expectRefused(await d.run(d.order()), 'price_collar', 'unreadable quote');
    expect(d.submits()).toBe(0);
  });

  it('the paper venue quotes its price: the collar works on it as on a real venue', async () => {
    const clock = new VirtualClock(T0);
    const broker = new PaperBroker({ seed: 3, clock, latencyMs: [1, 2], markets: { EURUSD: { price: 1.1, fillAfterMs: 50 } } });
    const engine = createEngine({ broker, clock, logger: silentLogger(), limits: { symbols: { '*': { priceCollarPct: 0.01 } } } });
    expect((await clock.run(engine.execute(snapshot({ advisoryId: 'p-1', referencePrice: 1.1 })))).status).toBe('filled');
    expectRefused(await clock.run(engine.execute(snapshot({ advisoryId: 'p-2', referencePrice: 1.12 }))), 'price_collar', "venue's ask 1.1");
  });

  it('a symbol without a collar is not quoted, and its orders carry no price bound', async () => {
    const d = desk({ symbols: { GBPUSD: { priceCollarPct: 0.01 } } });
    expect((await d.run(d.order())).status).toBe('filled');
    expect(d.broker.quotesAsked).toEqual([]);
    expect(d.broker.callsOf('submitOrder')[0]!.args).not.toHaveProperty('priceBound');
  });

  it('tradability: a venue that says closed, fails to say or does not answer in time refuses (not_tradable); open fills', async () => {
    const d = desk(undefined); // asked whenever the adapter can say, limits or not
    expect((await d.run(d.order())).status).toBe('filled');
    for (const [answer, words] of [
      [false, 'closed or halted'],
      ['fail', 'status unknown'],
      ['hang', `no answer within ${LIMIT_FACT_CALL_MS} ms`],
    ] as const) {
      d.broker.tradable = answer;
      expectRefused(await d.run(d.order()), 'not_tradable', 'EURUSD is not tradable now', words);
    }
    expect(d.submits()).toBe(1);
  });

  it('a kill switch set while the limits are being checked is heard before the claim: rejected, nothing sent', async () => {
    const d = desk({ symbols: { '*': { priceCollarPct: 0.01 } } });
    d.broker.quote = 'hang';
    const pending = d.engine.execute(d.order());
    await d.clock.advance(100);
    d.engine.killSwitch.set('warning', { reason: 'news', operator: 'ana' });
    d.broker.quote = { bid: 1.1, ask: 1.1 };
    const result = await d.clock.run(pending);
    expect(result.status).toBe('rejected');
    expect(d.submits()).toBe(0);
  });

  it('an order refused by the kill switch while its quote is asked for reserves nothing and is not counted, whenever the quote comes', async () => {
    const d = desk({ symbols: { EURUSD: { maxPosition: 1_000, priceCollarPct: 0.01, maxOrdersPerMinute: 1 } } });
    d.broker.quote = 'hang';
    const pending = d.engine.execute(d.order({ positionSize: 1_000 }));
    await d.clock.advance(100);
    d.engine.killSwitch.set('active', { reason: 'news', operator: 'ana' });
    expectRefused(await d.clock.run(pending), 'kill_switch_active');
    await d.clock.advance(LIMIT_FACT_CALL_MS); // the quote's time runs out: the facts are read after the refusal
    d.engine.killSwitch.set('off', { reason: 'news out', operator: 'ana' });
    const use = d.engine.limits.usage('EURUSD');
    expect({ openBuys: use.position.openBuys, rate: use.ordersLastMinute.symbol }).toEqual({ openBuys: 0, rate: 0 });
    d.broker.quote = { bid: 1.1, ask: 1.1 };
    expect((await d.run(d.order({ positionSize: 1_000 }))).status).toBe('filled');
  });

  it('an engine shut down while an order\'s quote is asked for leaves nothing reserved or counted behind it', async () => {
    const d = desk({ symbols: { EURUSD: { maxPosition: 1_000, priceCollarPct: 0.01, maxOrdersPerMinute: 1 } } });
    d.broker.quote = 'hang';
    const pending = d.engine.execute(d.order({ positionSize: 1_000 }));
    await d.clock.advance(100);
    const shutting = d.engine.shutdown({ reason: 'end of day' });
    expectRefused(await d.clock.run(pending), 'kill_switch_active');
    await d.clock.advance(LIMIT_FACT_CALL_MS);
    await shutting;
    const use = d.engine.limits.usage('EURUSD');
    expect({ openBuys: use.position.openBuys, rate: use.ordersLastMinute.symbol }).toEqual({ openBuys: 0, rate: 0 });
  });

  it('facts that cannot be read at all refuse the order, nothing sent', async () => {
    const clock = new VirtualClock(T0);
    const broker = new ScriptedBroker({ clock });
    const machine = createExecutionMachine({ broker, clock }).provide({ actors: { readLimitFacts: fromPromise(() => Promise.reject(new Error('book unreadable'))) } });
    const actor = createActor(machine, { input: { snapshot: snapshot() }, clock });
    const settled = new Promise<ExecutionResult>((resolve) => actor.on('settled', (e) => resolve(e.result)));
    actor.start();
    const result = await clock.run(settled);
    expect(result).toMatchObject({ status: 'rejected', error: { code: 'internal_error' } });
    expect(result.error?.message).toContain('book unreadable');
    expect(broker.callsOf('submitOrder')).toHaveLength(0);
  });
});

describe('tightening at run time, never loosening', () => {
  it('tightens, journaled with operator and reason, and applies to the next order', async () => {
    const d = desk({ symbols: { '*': { maxQuantity: 10 } } });
    const change = d.engine.limits.set({ symbols: { EURUSD: { maxQuantity: 5 } } }, { operator: 'ana', reason: 'thin market' });
    expect(change).toMatchObject({ operator: 'ana', reason: 'thin market', to: { symbols: { '*': { maxQuantity: 10 }, EURUSD: { maxQuantity: 5 } } } });
    expectRefused(await d.run(d.order({ positionSize: 6 })), 'limit_quantity', 'maxQuantity 5');
    const tightened = (await d.engine.journal.records()).filter((r) => r.kind === 'limits' && r.event === 'tighten');
    expect(tightened).toHaveLength(1);
    expect(tightened[0]!.payload).toMatchObject({ operator: 'ana', reason: 'thin market' });
    // A limit where there was none is a tightening too.
    d.engine.limits.set({ symbols: {}, maxOrdersPerMinute: 10 }, { operator: 'ana', reason: 'throttle' });
    expect(d.engine.limits.history()).toHaveLength(2);
  });

  it('refuses to loosen — raise a limit, or give a symbol more than "*" gives it — and changes nothing', async () => {
    const d = desk({ symbols: { '*': { maxQuantity: 10, maxPosition: 50 } }, maxOrdersPerMinute: 5 });
    const before = d.engine.limits.current();
    const attempts: [LimitsInput, string][] = [
      [{ symbols: { '*': { maxQuantity: 11 } } }, 'symbols.*.maxQuantity: 10 → 11'],
      [{ symbols: { EURUSD: { maxPosition: 60 } } }, 'symbols.EURUSD.maxPosition: 50 → 60'],
      [{ symbols: {}, maxOrdersPerMinute: 6 }, 'maxOrdersPerMinute: 5 → 6'],
    ];
    for (const [change, words] of attempts) {
      let thrown: unknown;
      try {
        d.engine.limits.set(change, { operator: 'ana', reason: 'more room' });
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(WardenUsageError);
      expect((thrown as WardenUsageError).code).toBe('limits_loosened');
      expect((thrown as Error).message).toContain(words);
    }
    expect(d.engine.limits.current()).toBe(before);
    expect((await d.engine.journal.records()).filter((r) => r.event === 'tighten')).toEqual([]);
    expectRefused(await d.run(d.order({ positionSize: 11 })), 'limit_quantity', 'maxQuantity 10');
  });

  it('needs an operator and a reason, and valid figures', () => {
    const d = desk(undefined);
    expect(() => d.engine.limits.set({ symbols: { '*': { maxQuantity: 1 } } }, { operator: '', reason: 'x' })).toThrow(expect.objectContaining({ code: 'operator_required' }));
    expect(() => d.engine.limits.set({ symbols: { '*': { maxQuantity: 1 } } }, { operator: 'ana', reason: ' ' })).toThrow(expect.objectContaining({ code: 'reason_required' }));
    expect(() => d.engine.limits.set({ symbols: { '*': { maxQuantity: 0 } } }, { operator: 'ana', reason: 'x' })).toThrow(/change\.symbols\.\*\.maxQuantity/);
    expect(d.engine.limits.current()).toEqual({ symbols: {} });
  });
});

/** A memory journal that counts appends (for "nothing journaled" checks). */
const countingJournal = (clock: VirtualClock, counter: { appended: number }) => new CountingJournal(clock, counter);
class CountingJournal extends MemoryJournal {
  constructor(
    clock: VirtualClock,
    private readonly counter: { appended: number },
  ) {
    super(clock);
  }
  override append(entry: Parameters<MemoryJournal['append']>[0]) {
    this.counter.appended++;
    return super.append(entry);
  }
}

/**
 * The adapter conformance kit: the contract of docs/brokers.md as runnable checks, for any
 * `BrokerAdapter` and a venue (sandbox, loopback fake or simulator) the author can steer a little.
 * It imports no test framework: {@link adapterConformance} returns plain checks that throw on a
 * breach, and {@link registerAdapterConformance} hands them to the `describe`/`it` you pass in.
 */
import { BrokerError, classifyBrokerFailure } from '../broker/errors.js';
import type { BrokerAdapter } from '../broker/types.js';
import { OrderReportSchema, PositionReportSchema, ProtectionReportSchema, type OrderReport } from '../domain/schemas.js';

/**
 * What the kit may ask of the venue behind the adapter. Only `symbol`, `quantity` and
 * `netPosition` are required; a check whose hook is missing is reported as skipped, with why.
 *
 * @example
 * const venue: ConformanceVenue = { symbol: 'EURUSD', quantity: 1000, netPosition: () => paper.venue.positionQuantity('EURUSD'), reset: () => { paper = new PaperBroker(); } };
 */
export interface ConformanceVenue {
  /** A symbol the adapter trades, and a quantity the venue accepts for it. */
  readonly symbol: string;
  readonly quantity: number;
  /** The net position the venue itself holds on `symbol` (signed), read around the adapter. */
  netPosition(): number | Promise<number>;
  /** A flat account before each check: start a fresh venue, or close what the last check opened. */
  reset?(): void | Promise<void>;
  /** After each check: stop what `reset` started, release held requests. */
  release?(): void | Promise<void>;
  /** Lets venue time pass (fills due after a delay). Default: 10 ms of real time. */
  advance?(ms: number): void | Promise<void>;
  /** The venue carries out the next order, but the adapter never gets the answer. */
  loseNextSubmitAnswer?(): void | Promise<void>;
  /** The next order rests unfilled until {@link ConformanceVenue.fillWorking}. */
  restNextOrder?(): void | Promise<void>;
  /** Fills a resting order completely. */
  fillWorking?(clientOrderId: string): void | Promise<void>;
  /** The venue sees the adapter's push stream connected (so a fill is not sent before anyone listens). */
  listening?(): boolean | Promise<boolean>;
  /** The next order look-up gets no answer (the adapter's own time limit must end the call). */
  hangNextLookup?(): void | Promise<void>;
}

/**
 * What {@link adapterConformance} needs: a factory (called after each `reset`, and again where a
 * check needs a second adapter on the same venue, as after a restart) and the venue.
 *
 * @example
 * adapterConformance({ makeBroker: () => new OandaBroker({ token, accountId, restUrl: venue.url, requestLimitMs: 200 }), venue: oandaHooks, callLimitMs: 200 });
 */
export interface AdapterConformanceOptions {
  readonly makeBroker: () => BrokerAdapter | Promise<BrokerAdapter>;
  readonly venue: ConformanceVenue;
  /** The adapter's own time limit per call, for the time-limit check. Default 5,000 ms. */
  readonly callLimitMs?: number;
  /** A prefix for the client ids the checks send (unique per run on a shared sandbox). */
  readonly idPrefix?: string;
  /** How long a check waits for the venue to show a fill or a push. Default 4,000 ms. */
  readonly patienceMs?: number;
}

/**
 * One check: `run` resolves, or throws a {@link ConformanceError}; or it resolves `{ skipped }`
 * when the venue lacks the hook it needs.
 *
 * @example
 * for (const check of adapterConformance(options)) console.log(check.name, await check.run());
 */
export interface ConformanceCheck {
  readonly name: string;
  run(): Promise<{ readonly skipped?: string }>;
}

/**
 * A breach of the adapter contract, naming the check and what was seen.
 *
 * @example
 * try { await check.run(); } catch (e) { if (e instanceof ConformanceError) console.log(e.check, e.message); }
 */
export class ConformanceError extends Error {
  override readonly name = 'ConformanceError';
  constructor(
    readonly check: string,
    message: string,
  ) {
    super(`${check}: ${message}`);
  }
}

/**
 * The checks, in a fixed order. Each resets the venue, makes a fresh adapter and sends orders
 * with its own client ids.
 *
 * @example
 * const checks = adapterConformance({ makeBroker: () => paper, venue });
 * for (const c of checks) await c.run();
 */
export function adapterConformance(options: AdapterConformanceOptions): ConformanceCheck[] {
  const { venue } = options;
  const limitMs = options.callLimitMs ?? 5_000;
  const prefix = options.idPrefix ?? `cf${Date.now().toString(36)}`;
  let n = 0;
  const nextId = (tag: string) => `${prefix}-${tag}-${++n}`;
  const order = (clientOrderId: string, side: 'buy' | 'sell' = 'buy') => ({ clientOrderId, symbol: venue.symbol, side, quantity: venue.quantity, type: 'market' as const });
  const ref = (clientOrderId: string) => ({ clientOrderId, symbol: venue.symbol });

  const check = (name: string, needs: readonly (keyof ConformanceVenue)[], body: (ctx: Ctx) => Promise<void | string>): ConformanceCheck => ({
    name,
    async run() {
      const missing = needs.filter((k) => venue[k] === undefined);
      if (missing.length > 0) return { skipped: `the venue offers no ${missing.join(', ')}` };
      await venue.reset?.();
      try {
        const broker = await options.makeBroker();
        const skipped = await body(new Ctx(name, broker, venue, options.patienceMs ?? 4_000));
        return typeof skipped === 'string' ? { skipped } : {};
      } finally {
        await venue.release?.();
      }
    },
  });

  return [
    check('submit: answers about the order asked for, and the fill is found by client id', [], async (c) => {
      const id = nextId('fill');
      const first = c.report(await c.broker.submitOrder(order(id)), id);
      c.assert(first.status !== 'rejected' && first.status !== 'cancelled', `a plain order was answered ${first.status}`);
      const filled = await c.filled(id);
      c.assert(filled.filledQuantity === venue.quantity, `filledQuantity ${filled.filledQuantity}, expected ${venue.quantity}`);
      c.assert(filled.averageFillPrice !== null, 'a filled order reports no average price');
    }),
    check('idempotent by client id, as declared: a resend never makes a second order', [], async (c) => {
      const id = nextId('idem');
      await c.broker.submitOrder(order(id));
      const first = await c.filled(id);
      const again = c.report(await c.broker.submitOrder(order(id)), id);
      if (first.brokerOrderId !== null && again.brokerOrderId !== null) c.assert(again.brokerOrderId === first.brokerOrderId, `the resend answered order ${again.brokerOrderId}, the first was ${first.brokerOrderId}`);
      c.assert((await venue.netPosition()) === venue.quantity, `after a resend the venue holds ${await venue.netPosition()}, expected ${venue.quantity}`);
      if ((c.broker.clientOrderIdDurability ?? 'openOrdersOnly') === 'durable') {
        // Declared durable: even an adapter that never saw the id (a restarted process) must not duplicate it.
        const restarted = await options.makeBroker();
        c.report(await restarted.submitOrder(order(id)), id);
        c.assert((await venue.netPosition()) === venue.quantity, `a durable venue took the id again: it holds ${await venue.netPosition()}`);
      }
    }),
    check('look-ups: an order sent is found; an id never sent is null (not a throw)', [], async (c) => {
      const id = nextId('look');
      await c.broker.submitOrder(order(id));
      await c.filled(id);
      const never = await c.broker.getOrder(ref(nextId('never')));
      c.assert(never === null, `an id never sent was answered ${JSON.stringify(never)}`);
    }),
    check('unknown outcome: a lost answer is never a refusal, and the order is then found', ['loseNextSubmitAnswer'], async (c) => {
      const id = nextId('lost');
      await venue.loseNextSubmitAnswer!();
      const failure = await c.broker.submitOrder(order(id)).then(
        () => null,
        (e: unknown) => e,
      );
      c.assert(failure !== null, 'the submit answered although its answer was lost');
      c.assert(classifyBrokerFailure(failure).kind === 'unknown', `a lost answer was reported as a definitive refusal (${describe(failure)})`);
      const found = await c.filled(id);
      c.assert(found.filledQuantity === venue.quantity, `the order found has ${found.filledQuantity} filled`);
      c.assert((await venue.netPosition()) === venue.quantity, 'the venue holds more than one order');
    }),
    check('cancel: a filled order answers its fill, never "cancelled"', [], async (c) => {
      const id = nextId('cxf');
      await c.broker.submitOrder(order(id));
      await c.filled(id);
      const after = c.report(await c.broker.cancelOrder(ref(id)), id);
      c.assert(after.status === 'filled' && after.filledQuantity === venue.quantity, `cancel of a filled order answered ${after.status} with ${after.filledQuantity}`);
    }),
    check('cancel: a working order is cancelled with nothing filled', ['restNextOrder'], async (c) => {
      const id = nextId('cxw');
      await venue.restNextOrder!();
      await c.broker.submitOrder(order(id));
      const after = c.report(await c.broker.cancelOrder(ref(id)), id);
      c.assert(after.status === 'cancelled' && after.filledQuantity === 0, `cancel of a working order answered ${after.status} with ${after.filledQuantity}`);
      c.assert((await venue.netPosition()) === 0, 'a cancelled order left a position');
    }),
    check('batch cancel (where the adapter offers cancelOrders): a working order cancelled, a filled one answers its fill, an order never sent is never "cancelled"', ['restNextOrder'], async (c) => {
      if (typeof c.broker.cancelOrders !== 'function') return 'the adapter offers no cancelOrders';
      const filled = nextId('bxf');
      await c.broker.submitOrder(order(filled));
      await c.filled(filled);
      const working = nextId('bxw');
      await venue.restNextOrder!();
      await c.broker.submitOrder(order(working));
      const never = nextId('bxn');
      const answer = await c.broker.cancelOrders([ref(working), ref(filled), ref(never)]);
      c.assert(Array.isArray(answer), `cancelOrders answered ${JSON.stringify(answer)}, not a list`);
      const of = (id: string) => answer.filter((r) => (r as { clientOrderId?: unknown } | null)?.clientOrderId === id);
      c.assert(of(working).length === 1 && of(filled).length === 1, `the answer names the working order ${of(working).length} times and the filled one ${of(filled).length} times`);
      const w = c.report(of(working)[0], working);
      c.assert(w.status === 'cancelled' && w.filledQuantity === 0, `the working order was answered ${w.status} with ${w.filledQuantity}`);
      const f = c.report(of(filled)[0], filled);
      c.assert(f.status === 'filled' && f.filledQuantity === venue.quantity, `the filled order was answered ${f.status} with ${f.filledQuantity}`);
      c.assert(of(never).every((r) => (r as { status?: unknown }).status !== 'cancelled' && (r as { status?: unknown }).status !== 'filled'), `an order never sent was answered ${JSON.stringify(of(never))}`);
      c.assert((await venue.netPosition()) === venue.quantity, 'the venue holds more or less than the filled order');
    }),
    check('protection: placed for the fill at the levels asked (within a tick), idempotently, and read back from the position', [], async (c) => {
      const id = nextId('prot');
      await c.broker.submitOrder(order(id));
      const fill = await c.filled(id);
      const price = fill.averageFillPrice!;
      const req = { clientOrderId: `${id}-p`, symbol: venue.symbol, side: 'buy' as const, quantity: fill.filledQuantity, stopLoss: price * 0.99, takeProfit: price * 1.02 };
      const placed = c.parse(ProtectionReportSchema, await c.broker.placeProtection(req), 'protection report');
      c.assert(placed.status === 'placed', `protection was ${placed.status}: ${placed.reason ?? ''}`);
      c.assert(placed.quantity === fill.filledQuantity, `protected ${placed.quantity}, filled ${fill.filledQuantity}`);
      c.near(placed.stopLoss!, req.stopLoss, placed.tickSize, 'stop loss');
      c.near(placed.takeProfit!, req.takeProfit, placed.tickSize, 'take profit');
      const again = c.parse(ProtectionReportSchema, await c.broker.placeProtection(req), 'protection report');
      c.assert(again.status === 'placed' && again.stopLoss === placed.stopLoss && again.takeProfit === placed.takeProfit, 'placing the same protection again changed it');
      const position = c.parse(PositionReportSchema, await c.broker.getPosition(venue.symbol), 'position');
      c.assert(position.quantity === venue.quantity, `position ${position.quantity}, expected ${venue.quantity}`);
      c.assert(position.stopLoss === placed.stopLoss && position.takeProfit === placed.takeProfit, `the position reads SL ${position.stopLoss} / TP ${position.takeProfit}, placed ${placed.stopLoss} / ${placed.takeProfit}`);
      c.near(position.averagePrice!, price, placed.tickSize, 'average price');
    }),
    check('positions: signed (+ long, − short), flat is zero without levels', [], async (c) => {
      const flat = c.parse(PositionReportSchema, await c.broker.getPosition(venue.symbol), 'position');
      c.assert(flat.quantity === 0 && flat.stopLoss === null && flat.takeProfit === null, `a flat account reads ${JSON.stringify(flat)}`);
      const id = nextId('short');
      await c.broker.submitOrder(order(id, 'sell'));
      await c.filled(id);
      const short = c.parse(PositionReportSchema, await c.broker.getPosition(venue.symbol), 'position');
      c.assert(short.quantity === -venue.quantity, `a short reads ${short.quantity}, expected ${-venue.quantity}`);
    }),
    check('pushes: a fill reaches a subscriber as a valid report', [], async (c) => {
      if (typeof c.broker.subscribe !== 'function') return 'the adapter does not push (subscribe): Warden polls it';
      const seen: unknown[] = [];
      const stop = c.broker.subscribe((r) => seen.push(r));
      try {
        const id = nextId('push');
        if (venue.restNextOrder && venue.fillWorking) {
          await venue.restNextOrder();
          await c.broker.submitOrder(order(id));
          if (venue.listening) await c.settle(async () => ((await venue.listening!()) ? true : null)); // the fill is pushed only to a stream that is open
          await venue.fillWorking(id);
        } else await c.broker.submitOrder(order(id));
        const pushed = await c.settle(() => seen.map((r) => OrderReportSchema.safeParse(r)).find((p) => p.success && p.data.clientOrderId === id && p.data.filledQuantity === venue.quantity)?.data ?? null);
        c.assert(pushed !== null, `no pushed report of the fill of ${id} (saw ${seen.length} reports)`);
      } finally {
        stop();
      }
    }),
    check('time limits: a look-up that gets no answer ends within the adapter\'s limit as an unknown outcome', ['hangNextLookup'], async (c) => {
      const id = nextId('hang');
      await c.broker.submitOrder(order(id));
      await c.filled(id);
      await venue.hangNextLookup!();
      const started = Date.now();
      const outcome = await Promise.race([
        c.broker.getOrder(ref(id)).then(
          () => 'answered' as const,
          (e: unknown) => (classifyBrokerFailure(e).kind === 'unknown' ? ('unknown' as const) : ('refused' as const)),
        ),
        new Promise<'still waiting'>((r) => setTimeout(() => r('still waiting'), limitMs * 3 + 100).unref()),
      ]);
      c.assert(outcome === 'unknown', `a look-up without an answer ended '${outcome}' after ${Date.now() - started} ms (limit ${limitMs} ms)`);
    }),
  ];
}

/**
 * Registers the checks with a test framework's `describe` and `it` (vitest, jest, node:test…);
 * a skipped check still passes, and says why in its name.
 *
 * @example
 * import { describe, it } from 'vitest';
 * registerAdapterConformance({ describe, it }, 'OandaBroker', { makeBroker, venue });
 */
export function registerAdapterConformance(
  t: {
    describe: (name: string, body: () => void) => unknown;
    it: (name: string, body: (context?: { skip?: (note?: string) => void }) => Promise<void>, timeoutMs?: number) => unknown;
  },
  title: string,
  options: AdapterConformanceOptions,
): void {
  t.describe(`adapter conformance: ${title}`, () => {
    for (const c of adapterConformance(options)) {
      t.it(
        c.name,
        async (context) => {
          const { skipped } = await c.run();
          // Frameworks whose test context can skip (vitest) show the check as skipped, with why.
          if (skipped !== undefined && typeof context?.skip === 'function') context.skip(skipped);
        },
        30_000,
      );
    }
  });
}

/** What one check works with. */
class Ctx {
  constructor(
    readonly name: string,
    readonly broker: BrokerAdapter,
    private readonly venue: ConformanceVenue,
    private readonly patienceMs: number,
  ) {}

  assert(ok: boolean, message: string): void {
    if (!ok) throw new ConformanceError(this.name, message);
  }

  parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: readonly { message: string }[] } } }, value: unknown, what: string): T {
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new ConformanceError(this.name, `the ${what} does not have the contract's shape: ${parsed.error.issues[0]?.message ?? ''} (${JSON.stringify(value)})`);
    return parsed.data;
  }

  /** A report that passes Warden's boundary and is about the order asked for. */
  report(value: unknown, clientOrderId: string): OrderReport {
    const report = this.parse(OrderReportSchema, value, 'order report');
    this.assert(report.clientOrderId === clientOrderId, `asked about ${clientOrderId}, answered about ${report.clientOrderId}`);
    return report;
  }

  near(actual: number, expected: number, tick: number | undefined, what: string): void {
    const tolerance = tick ?? Math.abs(expected) * 1e-6;
    this.assert(Math.abs(actual - expected) <= tolerance + 1e-12, `${what} ${actual}, expected ${expected} (±${tolerance})`);
  }

  /** Asks `probe` until it gives a value, letting venue time pass between; unknown outcomes are asked again. */
  async settle<T>(probe: () => T | null | Promise<T | null>): Promise<T | null> {
    const attempts = Math.max(1, Math.ceil(this.patienceMs / 20));
    for (let i = 0; i < attempts; i++) {
      try {
        const value = await probe();
        if (value !== null && value !== undefined) return value;
      } catch (e) {
        if (e instanceof BrokerError && e.retryable === false) throw new ConformanceError(this.name, `a definitive refusal where the order exists: ${e.message}`);
      }
      if (this.venue.advance) await this.venue.advance(20);
      else await new Promise((r) => setTimeout(r, 20));
    }
    return null;
  }

  /** The order's report once the venue says it is completely filled. */
  async filled(clientOrderId: string): Promise<OrderReport> {
    const ref = { clientOrderId, symbol: this.venue.symbol };
    const report = await this.settle(async () => {
      const r = await this.broker.getOrder(ref);
      return r !== null && r.status === 'filled' ? this.report(r, clientOrderId) : null;
    });
    if (report === null) throw new ConformanceError(this.name, `order ${clientOrderId} never reported filled`);
    return report;
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

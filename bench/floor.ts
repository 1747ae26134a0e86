/**
 * The floor of any XState v5 design for one clean execution: the same microsteps, invoked actors
 * and 30 s timer as Warden's chart, a lean 17-record SHA-256 hash chain and zod on the four broker
 * answers — and nothing else. Warden's per-execution cost is reported as a ratio to this.
 */
import { createHash } from 'node:crypto';
import { assign, createActor, fromCallback, fromPromise, setup } from 'xstate';
import { MemoryJournal, rules, type BrokerAdapter, type FrozenSnapshot, type JournalKind, type OrderReport, type PositionReport, type ProtectionReport } from '../src/index.js';
import { OrderReportSchema, PositionReportSchema, ProtectionReportSchema } from '../src/domain/schemas.js';

interface Chain {
  append(kind: string, executionId: string, payload: unknown): void;
}

/** A hash chain with nothing but what verification needs: one JSON encoding and one SHA-256 per record. */
class LeanChain implements Chain {
  private sequence = 0;
  private last = '0'.repeat(64);
  append(kind: string, executionId: string, payload: unknown): void {
    const body = JSON.stringify({ s: ++this.sequence, k: kind, e: executionId, p: payload, prev: this.last });
    this.last = createHash('sha256').update(body).digest('hex');
  }
}

/** The same records in Warden's own journal: full records (time, ids, states), payloads made JSON-safe and redacted, kept. */
class WardenChain implements Chain {
  private readonly journal = new MemoryJournal();
  append(kind: string, executionId: string, payload: unknown): void {
    this.journal.append({ kind: kind as JournalKind, executionId, advisoryId: null, snapshotHash: null, payload });
  }
}

/**
 * What the floor is measured with: `lean` (the reference), or with one of the two things Warden
 * does that the floor does not, to measure each: an XState inspection observer attached (XState
 * then builds an event for every action, snapshot and microstep), and Warden's journal for the records.
 */
export interface FloorVariant {
  readonly inspect?: boolean;
  readonly journal?: 'lean' | 'warden';
}

interface FloorContext {
  readonly snapshot: FrozenSnapshot;
  readonly id: string;
  order: OrderReport | null;
  protection: ProtectionReport | null;
  matched: boolean;
}

function floorMachine(broker: BrokerAdapter, chain: Chain) {
  const call = async <T>(id: string, method: string, payload: unknown, send: () => Promise<unknown>, parse: (v: unknown) => T): Promise<T> => {
    chain.append('broker.request', id, { method, payload });
    const answer = parse(await send());
    chain.append('broker.response', id, { method, answer });
    return answer;
  };
  return setup({
    types: { context: {} as FloorContext, input: {} as { snapshot: FrozenSnapshot; id: string } },
    actors: {
      submit: fromPromise<OrderReport, FloorContext>(({ input: c }) =>
        call(c.id, 'submitOrder', null, () => broker.submitOrder({ clientOrderId: `wd-${c.snapshot.hash.slice(0, 24)}`, symbol: c.snapshot.symbol, side: c.snapshot.side, quantity: c.snapshot.positionSize, type: 'market' }), (v) => OrderReportSchema.parse(v)),
      ),
      protect: fromPromise<ProtectionReport, FloorContext>(({ input: c }) => {
        const levels = rules.protectiveLevels(c.snapshot.side, c.order!.averageFillPrice!, c.snapshot.slOffsetPct, c.snapshot.tpOffsetPct);
        return call(c.id, 'placeProtection', levels, () => broker.placeProtection({ clientOrderId: `${c.order!.clientOrderId}-p`, symbol: c.snapshot.symbol, side: c.snapshot.side, quantity: c.order!.filledQuantity, ...levels }), (v) => ProtectionReportSchema.parse(v));
      }),
      reconcile: fromPromise<{ order: OrderReport | null; position: PositionReport }, FloorContext>(async ({ input: c }) => {
        const [order, position] = await Promise.all([
          call(c.id, 'getOrder', null, () => broker.getOrder({ clientOrderId: c.order!.clientOrderId, symbol: c.snapshot.symbol }), (v) => (v === null ? null : OrderReportSchema.parse(v))),
          call(c.id, 'getPosition', null, () => broker.getPosition(c.snapshot.symbol), (v) => PositionReportSchema.parse(v)),
        ]);
        return { order, position };
      }),
      feed: fromCallback(() => () => undefined),
    },
    delays: { hardTimeout: 30_000 },
  }).createMachine({
    id: 'floor',
    context: ({ input }) => ({ snapshot: input.snapshot, id: input.id, order: null, protection: null, matched: false }),
    initial: 'validating',
    states: {
      validating: { entry: ({ context }) => chain.append('transition', context.id, 'validating'), always: 'claiming' },
      claiming: { entry: ({ context }) => chain.append('claim', context.id, context.snapshot.hash), always: 'live' },
      live: {
        invoke: { id: 'feed', src: 'feed' },
        after: { hardTimeout: 'reconciling' },
        initial: 'submitting',
        states: {
          submitting: {
            entry: ({ context }) => chain.append('transition', context.id, 'submitting'),
            invoke: { id: 'submit', src: 'submit', input: ({ context }) => context, onDone: { target: 'working', actions: assign({ order: ({ event }) => event.output }) } },
          },
          working: {
            entry: ({ context }) => chain.append('transition', context.id, 'working'),
            always: { guard: ({ context }) => context.order!.filledQuantity >= context.snapshot.positionSize, target: '#floor.assessing' },
          },
        },
      },
      assessing: { entry: ({ context }) => chain.append('transition', context.id, 'assessing'), always: 'protecting' },
      protecting: {
        entry: ({ context }) => chain.append('transition', context.id, 'protecting'),
        invoke: { id: 'protect', src: 'protect', input: ({ context }) => context, onDone: { target: 'reconciling', actions: assign({ protection: ({ event }) => event.output }) } },
      },
      reconciling: {
        entry: ({ context }) => chain.append('transition', context.id, 'reconciling'),
        invoke: {
          id: 'reconcile',
          src: 'reconcile',
          input: ({ context }) => context,
          onDone: { target: 'judging', actions: assign({ matched: ({ event, context }) => event.output.order?.filledQuantity === context.order!.filledQuantity && event.output.position.stopLoss !== null }) },
        },
      },
      judging: { entry: ({ context }) => chain.append('transition', context.id, 'judging'), always: 'completed' },
      completed: { type: 'final', entry: ({ context }) => chain.append('transition', context.id, 'completed') },
    },
  });
}

/** Runs one clean execution through the floor machine; resolves when it reaches its final state. `stop()` stops any still running. */
export function floorRunner(broker: BrokerAdapter, variant: FloorVariant = {}): ((snapshot: FrozenSnapshot) => Promise<boolean>) & { stop(): void } {
  const machine = floorMachine(broker, variant.journal === 'warden' ? new WardenChain() : new LeanChain());
  let serial = 0;
  const inspect = variant.inspect ? { inspect: () => undefined } : {};
  const running = new Set<{ stop(): void }>();
  const run = (snapshot: FrozenSnapshot) =>
    new Promise<boolean>((resolve, reject) => {
      const actor = createActor(machine, { input: { snapshot, id: `f-${++serial}` }, ...inspect });
      running.add(actor);
      actor.subscribe({
        complete: () => {
          running.delete(actor);
          resolve(actor.getSnapshot().context.matched);
        },
        error: (e) => {
          running.delete(actor);
          reject(e);
        },
      });
      actor.start();
    });
  return Object.assign(run, {
    stop: () => {
      for (const actor of running) actor.stop();
      running.clear();
    },
  });
}

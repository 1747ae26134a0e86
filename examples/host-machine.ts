/**
 * A host that runs XState itself: a parent machine invokes Warden's execution machine as a child
 * actor, once per advisory, and reacts to each execution's output.
 *
 *   npx tsx examples/host-machine.ts
 *
 * Two advisories on one symbol run side by side. Each child is `createExecutionMachine({ … })`,
 * given what `createEngine` would otherwise supply (see the README's table "What createEngine adds
 * to the bare machine"): a durable claim (an SQLite journal, so an advisory executes once even
 * across restarts), the kill switch (the parent's own context, handed to each child as input), and
 * the other executions' fills on the symbol (so reconciliation expects the whole position).
 *
 * What the parent hears, declaratively:
 * - `onDone` of each invoke: the `ExecutionResult` as `event.output`, for every ending (a flagged
 *   execution included: it is over, and its result says `requiresManualResolution`);
 * - `warden.fill`: the execution's cumulative signed fill, each time it changes.
 *
 * Then the host halts (kill switch `active`) and a third advisory is refused before anything is
 * sent; finally a new host on the same journal is refused the first advisory again (the claim).
 * Nothing here needs the network. In your own project import from 'warden' and 'warden/sqlite'.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { assign, createActor, setup, toPromise } from 'xstate';
import { BrokerError, createExecutionMachine, freezeSnapshot, PaperBroker, type AdvisoryRegistry, type Clock, type ExecutionHostEvent, type ExecutionResult, type FrozenSnapshot, type KillSwitchState } from '../src/index.js';
import { SqliteJournal } from '../src/entries/sqlite.js';

/** A claim store the host owns: each claim is a journal record, on disk before anything is sent. */
function durableClaims(journal: SqliteJournal): AdvisoryRegistry {
  return {
    has: (advisoryId) => journal.claimedAdvisories().includes(advisoryId),
    async claim(c) {
      try {
        journal.append({ kind: 'claim', executionId: c.executionId, advisoryId: c.advisoryId, snapshotHash: c.snapshot.hash, payload: { clientOrderId: c.clientOrderId, deadlineAt: c.deadlineAt, snapshot: c.snapshot } });
      } catch (e) {
        throw new BrokerError(`advisory ${c.advisoryId} is already claimed`, { retryable: false, code: 'duplicate_advisory', cause: e });
      }
      await journal.flush();
    },
  };
}

interface HostContext {
  readonly killSwitch: KillSwitchState;
  /** Each execution's cumulative signed fill, from its `warden.fill` events. */
  readonly fills: Readonly<Record<string, number>>;
  readonly results: Readonly<Record<string, ExecutionResult>>;
}

/** The parent: two executions in parallel, then a halt and one more advisory, which the switch refuses. */
function hostMachine(deps: { clock: Clock; broker: PaperBroker; claims: AdvisoryRegistry; fillsOf: () => Readonly<Record<string, number>> }) {
  const execution = createExecutionMachine({
    broker: deps.broker,
    clock: deps.clock,
    advisories: deps.claims,
    // What the other executions filled on the symbol: reconciliation expects it in the venue's position.
    otherPositionQuantity: (_symbol, executionId) => Object.entries(deps.fillsOf()).reduce((net, [id, q]) => (id === executionId ? net : net + q), 0),
  });
  return setup({
    types: { context: {} as HostContext, events: {} as ExecutionHostEvent, output: {} as HostContext },
    actors: { execution },
    actions: {
      /** Every ending reaches the parent as the invoke's done event, its output the ExecutionResult. */
      keepResult: assign(({ context }, result: ExecutionResult) => ({ results: { ...context.results, [result.advisoryId ?? result.executionId]: result } })),
    },
  }).createMachine({
    id: 'host',
    context: { killSwitch: 'off', fills: {}, results: {} },
    // A fill changed: the parent's ledger of the symbol, read by each child's reconciliation.
    on: { 'warden.fill': { actions: assign({ fills: ({ context, event }) => ({ ...context.fills, [event.executionId]: event.signedQuantity }) }) } },
    initial: 'trading',
    states: {
      trading: {
        type: 'parallel',
        states: {
          first: {
            initial: 'running',
            states: {
              running: {
                invoke: { id: FIRST.advisoryId, src: 'execution', input: ({ context }) => ({ snapshot: FIRST, executionId: 'exec-a', killSwitch: context.killSwitch }), onDone: { target: 'done', actions: { type: 'keepResult', params: ({ event }) => event.output } } },
              },
              done: { type: 'final' },
            },
          },
          second: {
            initial: 'running',
            states: {
              running: {
                invoke: { id: SECOND.advisoryId, src: 'execution', input: ({ context }) => ({ snapshot: SECOND, executionId: 'exec-b', killSwitch: context.killSwitch }), onDone: { target: 'done', actions: { type: 'keepResult', params: ({ event }) => event.output } } },
              },
              done: { type: 'final' },
            },
          },
        },
        onDone: 'halted',
      },
      // The host halts: a child started from now on is told so in its input, and refuses before sending.
      halted: {
        entry: assign({ killSwitch: 'active' }),
        invoke: { id: THIRD.advisoryId, src: 'execution', input: ({ context }) => ({ snapshot: THIRD, executionId: 'exec-c', killSwitch: context.killSwitch }), onDone: { target: 'finished', actions: { type: 'keepResult', params: ({ event }) => event.output } } },
      },
      finished: { type: 'final' },
    },
    output: ({ context }) => context,
  });
}

const T0 = Date.parse('2026-11-24T10:00:00.000Z');
const advisory = (advisoryId: string, positionSize: number): FrozenSnapshot =>
  freezeSnapshot({
    advisoryId,
    symbol: 'EURUSD',
    side: 'buy',
    positionSize,
    referencePrice: 1.1,
    slOffsetPct: -0.005,
    tpOffsetPct: 0.01,
    createdAt: new Date(T0 - 60_000).toISOString(),
    expiresAt: new Date(T0 + 3_600_000).toISOString(),
    approval: { approvedBy: 'alice', approvedAt: new Date(T0 - 30_000).toISOString() },
  });
const FIRST = advisory('host-a', 1_000);
const SECOND = advisory('host-b', 500);
const THIRD = advisory('host-c', 200);

/**
 * Runs the example on `clock` (a clock standing at T0: the advisories are valid then), with its
 * journal in `dir`; returns the host's final context and the result of running the first advisory again.
 *
 * @example
 * const { results, again } = await runHostExample({ clock, dir, run: (p) => clock.run(p) });
 */
export async function runHostExample(options: { clock: Clock; dir: string; run?: <T>(p: Promise<T>) => Promise<T> }) {
  const { clock, dir } = options;
  const run = options.run ?? (<T>(p: Promise<T>) => p);
  const journal = new SqliteJournal(join(dir, 'host.journal.sqlite'), clock);
  const broker = new PaperBroker({ clock, seed: 7, markets: { EURUSD: { price: 1.1, fillAfterMs: 200 } } });
  const claims = durableClaims(journal);
  const fills: { current: Readonly<Record<string, number>> } = { current: {} };
  const host = createActor(hostMachine({ clock, broker, claims, fillsOf: () => fills.current }), { clock });
  host.subscribe((s) => void (fills.current = s.context.fills));
  const done = toPromise(host.start());
  const final = await run(done);
  await run(journal.close());

  // A new host on the same journal (a restart): the first advisory was claimed, so nothing is sent.
  const reopened = new SqliteJournal(join(dir, 'host.journal.sqlite'), clock);
  const again = createActor(createExecutionMachine({ broker, clock, advisories: durableClaims(reopened) }), { clock, input: { snapshot: FIRST, executionId: 'exec-again' } });
  const result = await run(toPromise(again.start()));
  await run(reopened.close());
  return { ...final, again: result, venuePosition: (await run(broker.getPosition('EURUSD'))).quantity };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { VirtualClock } = await import('../src/testing/index.js');
  const clock = new VirtualClock(T0);
  const dir = mkdtempSync(join(tmpdir(), 'warden-host-'));
  try {
    const out = await runHostExample({ clock, dir, run: (p) => clock.run(p) });
    for (const [advisoryId, r] of Object.entries(out.results)) {
      console.log(`${advisoryId}: ${r.status}, ${r.filledQuantity} filled${r.requiresManualResolution ? ', flagged' : ''}${r.error ? ` (${r.error.code})` : ''}`);
    }
    console.log(`fills heard: ${JSON.stringify(out.fills)}; venue position ${out.venuePosition}`);
    console.log(`host-a again after a restart: ${out.again.status} (${out.again.error?.code ?? 'no error'})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

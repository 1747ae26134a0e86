/**
 * One engine of a cluster, as its own process: a PostgresStore (its own writer id) and the shared
 * paper broker service over HTTP. Reads commands from stdin and reports events on stdout, one JSON
 * object per line (protocol.ts).
 * Usage: node --import tsx engineProcess.ts <name> <databaseUrl> <brokerUrl> <leaseTtlMs> [clockSkewMs] [clientOrderIdDurability]
 * With a clock skew, the engine (and its store's records) read a wall clock that far off; its
 * timers and PostgreSQL's `now()` are unaffected. With a durability, the broker declares it (as a
 * venue that keeps client order ids only among open orders would).
 * The paper service pushes order reports (`GET /events`) and the engine polls each working order
 * once a second as a backstop; a kill switch cancels its working orders with one batch request
 * (`POST /orders/cancel`). With WARDEN_CLUSTER_VENUE=push-single it sends one cancel request per
 * order, as on a venue without a batch cancel; with WARDEN_CLUSTER_VENUE=poll it reads no pushes,
 * polls every 100 ms and cancels one order per request, as before the venue pushed (300 requests a
 * second from three engines with ten orders each).
 */
import { subscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { createEngine, type BrokerAdapter, type Clock, type OrderRef } from '../../src/index.js';
import { systemClock } from '../../src/domain/clock.js';
import { HttpBroker } from '../../src/entries/adapters.js';
import { PostgresStore } from '../../src/entries/postgres.js';
import type { EngineCommand, EngineEvent } from './protocol.js';
import type { LimitsInput } from '../../src/domain/limits.js';
import { FLEET_KILL_SWITCH_TRACE, type FleetKillSwitchTrace } from '../../src/engine/fleetKillSwitchTrace.js';

/** Log lines worth a line in a timeline; the rest stays in the engine. */
const TOLD = /taken over|lease|fenced|journal unwritable|kill switch|unconfirmed|resuming/i;

const [name, databaseUrl, brokerUrl, ttlText, skewText, durability] = process.argv.slice(2);
const skewMs = Number(skewText ?? 0);
const clock: Clock = skewMs === 0 ? systemClock : { ...systemClock, now: () => Date.now() + skewMs };
if (!name || !databaseUrl || !brokerUrl || !ttlText) {
  console.error('usage: engineProcess.ts <name> <databaseUrl> <brokerUrl> <leaseTtlMs>');
  process.exit(2);
}
type Payload = EngineEvent extends infer E ? (E extends EngineEvent ? Omit<E, 'engine' | 'at'> : never) : never;
const emit = (event: Payload) => process.stdout.write(`${JSON.stringify({ engine: name, at: Date.now(), ...event })}\n`);

const logger = pino(
  { level: 'info' },
  {
    write: (line: string) => {
      const { level, msg, time: _time, pid: _pid, hostname: _host, ...fields } = JSON.parse(line) as { level: number; msg: string; time: unknown; pid: unknown; hostname: unknown };
      if (level >= 40 || TOLD.test(msg)) emit({ type: 'log', level, msg, fields });
    },
  },
);
const venue = process.env.WARDEN_CLUSTER_VENUE ?? 'push';
const pollOnly = venue === 'poll';
const http = new HttpBroker({ baseUrl: brokerUrl, timeoutMs: 2_000, ...(pollOnly ? {} : { events: '/events' }), ...(venue === 'push' ? { cancelBatch: '/orders/cancel' } : {}) });

// With WARDEN_CLUSTER_TRACE=1 (npm run bench:fleet): each stage of a kill switch change, stamped
// with the machine's monotonic clock (shared by every process), sent in a batch once the burst is over.
const tracing = process.env.WARDEN_CLUSTER_TRACE === '1';
const hr = () => Number(process.hrtime.bigint()) / 1e6;
const traces: Payload[] = [];
/** The time this thread has spent runnable but waiting for a core (ms), where Linux tells it; else null. */
const runQueueWaitMs = (): number | null => {
  try {
    const waitedNs = Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[1]);
    return Number.isFinite(waitedNs) ? waitedNs / 1e6 : null;
  } catch {
    return null;
  }
};
const trace = (event: { stage: string; changeId?: number | null; clientOrderId?: string; waitedMs?: number }) => {
  traces.push({ type: 'trace', hr: hr(), ...event });
  if (traces.length === 1) setTimeout(() => traces.splice(0).forEach(emit), 50);
};
if (tracing) {
  // From hearing a change to having applied it is one synchronous stretch of this thread: the time
  // it spent runnable but waiting for a core (Linux's /proc/thread-self/schedstat, its second
  // field) is traced with `applied`, so the bench can tell the machine's share from Warden's.
  let waitAtHeard: number | null = null;
  subscribe(FLEET_KILL_SWITCH_TRACE, (m) => {
    const { stage, changeId } = m as FleetKillSwitchTrace;
    let waitedMs: number | undefined;
    if (stage === 'heard') waitAtHeard = runQueueWaitMs();
    if (stage === 'applied') {
      const waitNow = runQueueWaitMs();
      if (waitNow !== null && waitAtHeard !== null) waitedMs = waitNow - waitAtHeard;
      waitAtHeard = null;
    }
    trace({ stage, changeId, ...(waitedMs === undefined ? {} : { waitedMs }) });
  });
  // The cancel handed to the adapter.
  const cancel = http.cancelOrder.bind(http);
  http.cancelOrder = (ref) => {
    trace({ stage: 'cancel_requested', clientOrderId: ref.clientOrderId });
    return cancel(ref);
  };
  const cancelBatch = http.cancelOrders;
  if (cancelBatch !== undefined) {
    Object.assign(http, {
      cancelOrders: (refs: readonly OrderRef[]) => {
        for (const ref of refs) trace({ stage: 'cancel_requested', clientOrderId: ref.clientOrderId });
        return cancelBatch(refs);
      },
    });
  }
  // The order's submit answered: from here on (once taken in) its execution knows it works.
  const submit = http.submitOrder.bind(http);
  http.submitOrder = (req) =>
    submit(req).then((report) => {
      trace({ stage: 'submit_answered', clientOrderId: req.clientOrderId });
      return report;
    });
}
const broker: BrokerAdapter =
  durability === 'openOrdersOnly' || durability === 'none'
    ? {
        name: http.name,
        identity: http.identity,
        clientOrderIdDurability: durability,
        submitOrder: (req) => http.submitOrder(req),
        cancelOrder: (ref) => http.cancelOrder(ref),
        ...(http.cancelOrders ? { cancelOrders: (refs: readonly OrderRef[]) => http.cancelOrders!(refs) } : {}),
        getOrder: (ref) => http.getOrder(ref),
        getPosition: (symbol) => http.getPosition(symbol),
        placeProtection: (req) => http.placeProtection(req),
        ...(http.subscribe ? { subscribe: http.subscribe } : {}),
      }
    : http;
const store = await PostgresStore.connect(databaseUrl, { writer: name, clock });
// An engine that counts only its own executions: its store does not offer the fleet's ledger.
const FLEET_LEDGER = new Set<string | symbol>(['fleetPosition', 'admitToFleet', 'recordFleetExecution', 'recordFleetFill', 'settleFleetPosition']);
const journal =
  process.env.WARDEN_CLUSTER_LEDGER === 'engine'
    ? new Proxy(store, { get: (target, key) => (FLEET_LEDGER.has(key) ? undefined : typeof Reflect.get(target, key) === 'function' ? (Reflect.get(target, key) as (...a: unknown[]) => unknown).bind(target) : Reflect.get(target, key)) })
    : store;
const limitsText = process.env.WARDEN_CLUSTER_LIMITS;
const engine = createEngine({
  clock,
  broker,
  journal,
  ...(limitsText ? { limits: JSON.parse(limitsText) as LimitsInput } : {}),
  logger,
  pollIntervalMs: pollOnly ? 100 : 1_000,
  leaseTtlMs: Number(ttlText),
  onTakeOver: (t) => {
    emit({ type: 'takeover', executionId: t.executionId, advisoryId: t.advisoryId, from: t.from, epoch: t.epoch, deadlineAt: t.recovery.deadlineAt, clockNow: clock.now() });
    void t.result.then((result) => emit({ type: 'result', result, takenOverFrom: t.from }));
  },
});

const answer = (op: string, run: () => string) => {
  try {
    emit({ type: 'answer', op, ok: true, message: run() });
  } catch (e) {
    emit({ type: 'answer', op, ok: false, message: e instanceof Error ? e.message : String(e) });
  }
};
const handle = async (command: EngineCommand) => {
  switch (command.op) {
    case 'execute':
      return emit({ type: 'result', result: await engine.execute(command.snapshot), takenOverFrom: null });
    case 'killSwitch':
      return answer('killSwitch', () => {
        const change = engine.killSwitch.set(command.state, { reason: command.reason, operator: command.operator });
        return `${change.from} → ${change.to}`;
      });
    case 'resolve':
      return answer('resolve', () => engine.resolve(command.advisoryId, { operator: command.operator, note: command.note }).status);
    case 'limits':
      return answer('limits', () => JSON.stringify(engine.limits.current()));
    case 'awaiting':
      return answer('awaiting', () => JSON.stringify(engine.awaitingResolution().map((r) => r.advisoryId)));
    case 'close':
      await engine.close();
      emit({ type: 'closed' });
      process.exit(0);
  }
};
createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (line.trim() === '') return;
    const command = JSON.parse(line) as EngineCommand;
    if (tracing && command.op === 'killSwitch') trace({ stage: 'command_received' });
    void handle(command);
  })
  // The harness is gone (it exited, or was killed): so is this engine, after its executions settle.
  .on('close', () => void handle({ op: 'close' }));
// Stalls of this process's event loop (CPU starvation, a long garbage collection): every gap of
// STALL_REPORT_MS or more beyond the sampling interval is reported, so a soak can tell a starved
// engine from a slow database.
const STALL_SAMPLE_MS = 50;
const STALL_REPORT_MS = 250;
let lastTick = performance.now();
setInterval(() => {
  const now = performance.now();
  const stalledMs = now - lastTick - STALL_SAMPLE_MS;
  lastTick = now;
  if (stalledMs >= STALL_REPORT_MS) emit({ type: 'stall', ms: Math.round(stalledMs), endedAt: Date.now() });
}, STALL_SAMPLE_MS).unref();
emit({ type: 'ready', writer: store.writer, pid: process.pid });

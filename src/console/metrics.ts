/**
 * Prometheus metrics, computed from the journal: what an engine did is what its journal says,
 * so the console can export them for any engine writing the store it watches, in-process or not.
 * Broker call latencies are the time between a request record and its answer (millisecond
 * timestamps). The journal append latency is measured where appends happen: wrap an engine's
 * journal with {@link instrumentJournal} in that process.
 */
import { FINAL_STATUSES } from '../domain/constants.js';
import { SymbolSchema } from '../domain/schemas.js';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { JournalKind, type Journal, type JournalRecord } from '../journal/types.js';
import { isResult, type ConsoleView } from './view.js';

const SEVERITY: Record<string, number> = { off: 0, warning: 1, active: 2 };
/** Label values are bounded: whatever a journal holds, a label takes one of these (or `other`). */
const OUTCOMES = new Set(['answered', 'timeout', 'not_sent', 'thrown', 'unreadable_answer', 'wrong_order', 'journal_unavailable', 'rejected']);
const METHODS = new Set(['submitOrder', 'cancelOrder', 'cancelOrders', 'getOrder', 'getPosition', 'placeProtection']);
const STATUSES = new Set<string>(FINAL_STATUSES);
const scopeLabel = (symbol: string) => (SymbolSchema.safeParse(symbol).success ? symbol : 'other');
const bounded = (value: unknown, allowed: Set<string>) => (typeof value === 'string' && allowed.has(value) ? value : 'other');
const fieldLabel = (field: unknown) => (typeof field === 'string' && /^[A-Za-z.]{1,40}$/.test(field) ? field : 'other');

/**
 * Warden's Prometheus metrics for the journal a {@link ConsoleView} follows, in their own registry.
 *
 * @example
 * const metrics = new WardenMetrics(view);
 * view.refresh();
 * const text = await metrics.text(); // Prometheus text exposition
 */
export class WardenMetrics {
  readonly registry = new Registry();
  private readonly executions = new Counter({ name: 'warden_executions_total', help: 'Executions finished, by final status', labelNames: ['status'], registers: [this.registry] });
  private readonly brokerCalls = new Histogram({
    name: 'warden_broker_call_seconds',
    help: 'Broker call latency, from the request record to its answer or failure, by method and outcome',
    labelNames: ['method', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly unknownOutcomes = new Counter({ name: 'warden_broker_unknown_outcomes_total', help: 'Broker calls whose outcome is unknown (timeout, unreadable or wrong answer): the order may exist', labelNames: ['method'], registers: [this.registry] });
  private readonly mismatches = new Counter({ name: 'warden_reconciliation_mismatches_total', help: 'Reconciliation differences found, by field', labelNames: ['field'], registers: [this.registry] });
  readonly journalAppend = new Histogram({
    name: 'warden_journal_append_seconds',
    help: 'Time to append one journal record (measured in the process that appends; see instrumentJournal)',
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
    registers: [this.registry],
  });
  private readonly requests = new Map<string, number>();

  constructor(view: ConsoleView) {
    const read = () => view.snapshot();
    new Gauge({ name: 'warden_executions_in_flight', help: 'Executions started and not finished', registers: [this.registry], collect() { this.set(read().inFlight.length); } });
    new Gauge({ name: 'warden_flags_open', help: 'Executions waiting for an operator to resolve a reconciliation flag', registers: [this.registry], collect() { this.set(read().flagsOpen.length); } });
    new Gauge({
      name: 'warden_kill_switch_state',
      help: 'Kill switch state per scope: 0 off, 1 warning, 2 active (scope "global" or a symbol)',
      labelNames: ['scope'],
      registers: [this.registry],
      collect() {
        const k = read().killSwitch;
        this.reset();
        this.set({ scope: 'global' }, SEVERITY[k.global] ?? 2);
        for (const s of k.symbols) this.set({ scope: scopeLabel(s.symbol) }, SEVERITY[s.state] ?? 2);
      },
    });
    new Gauge({ name: 'warden_journal_last_sequence', help: 'The last journal record the console has read', registers: [this.registry], collect() { this.set(view.lastSequence); } });
    view.onRecords((records) => {
      for (const r of records) this.take(r);
    });
  }

  private take(r: JournalRecord): void {
    const key = `${r.executionId ?? ''}|${r.event ?? ''}`;
    switch (r.kind) {
      case JournalKind.BrokerRequest:
        if (r.executionId === null && r.event === 'cancelOrders') {
          // The kill switch's batch: one request names every order; each order's answer comes as its own cancelOrder record.
          const orders = (r.payload as { orders?: unknown } | null)?.orders;
          if (Array.isArray(orders))
            for (const o of orders.slice(0, 100_000)) {
              const id = (o as { executionId?: unknown } | null)?.executionId;
              if (typeof id === 'string') this.remember(`batch|${id}`, r.at);
            }
        } else this.remember(key, r.at);
        break;
      case JournalKind.BrokerResponse:
      case JournalKind.BrokerError: {
        // An answer to a batch is counted as the batch (method cancelOrders), the time from its one request.
        const batchKey = `batch|${r.executionId ?? ''}`;
        const inBatch = r.event === 'cancelOrder' && !this.requests.has(key) && this.requests.has(batchKey);
        const sent = this.requests.get(inBatch ? batchKey : key);
        this.requests.delete(inBatch ? batchKey : key);
        const method = inBatch ? 'cancelOrders' : bounded(r.event, METHODS);
        const code = (r.payload as { code?: unknown } | null)?.code;
        const outcome = r.kind === JournalKind.BrokerResponse ? 'answered' : bounded(code, OUTCOMES);
        if (sent !== undefined && Number.isFinite(sent) && typeof r.at === 'string') this.brokerCalls.observe({ method, outcome }, Math.max(0, Date.parse(r.at) - sent) / 1000);
        if (outcome === 'timeout' || outcome === 'unreadable_answer' || outcome === 'wrong_order' || outcome === 'thrown') this.unknownOutcomes.inc({ method });
        break;
      }
      case JournalKind.Result: {
        if (!isResult(r.payload)) {
          this.executions.inc({ status: 'unreadable' });
          break;
        }
        this.executions.inc({ status: bounded(r.payload.status, STATUSES) });
        for (const m of r.payload.reconciliation?.mismatches ?? []) this.mismatches.inc({ field: fieldLabel(m.field) });
        break;
      }
      default:
        break;
    }
  }

  private remember(key: string, at: string): void {
    this.requests.delete(key);
    this.requests.set(key, typeof at === 'string' ? Date.parse(at) : NaN);
    if (this.requests.size > 100_000) this.requests.delete(this.requests.keys().next().value!); // bounded: answers that never came
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * Wraps a journal so that each append's latency is observed. Use it where the engine runs:
 *
 * @example
 * const journal = instrumentJournal(new SqliteJournal(path), metrics);
 * const engine = createEngine({ broker, journal });
 */
export function instrumentJournal<J extends Journal>(journal: J, metrics: Pick<WardenMetrics, 'journalAppend'>): J {
  const append = journal.append.bind(journal);
  journal.append = (entry) => {
    const end = metrics.journalAppend.startTimer();
    try {
      return append(entry);
    } finally {
      end();
    }
  };
  return journal;
}

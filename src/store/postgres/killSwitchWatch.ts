/**
 * Hears the fleet's kill switch: LISTEN on a dedicated connection, and a re-read of every switch
 * on each notification, on each (re)connect and on a backstop poll. Each successful read confirms
 * the state; {@link FailClosedKillSwitch} turns an old confirmation into `warning`.
 */
import type pg from 'pg';
import { pgDriver } from './driver.js';
import { systemClock, type Clock } from '../../domain/clock.js';
import { KillSwitchType, type KillSwitchState } from '../../domain/constants.js';
import { FailClosedKillSwitch, type FleetSwitch } from './failClosed.js';
import { PostgresStoreError } from './errors.js';
import { KILL_SWITCH_CHANNEL } from './schema.js';
import { connectionSettings } from './connection.js';

/**
 * Default backstop poll: the switches are re-read at least this often while connected (ms).
 *
 * @example
 * store.watchKillSwitches(onChange, { pollIntervalMs: KILL_SWITCH_POLL_MS / 2 });
 */
export const KILL_SWITCH_POLL_MS = 1_000;
/**
 * Default polls per staleness budget, as 1 s is of the default 5 s: a stricter budget is polled
 * more often, so as many reads may fail before it runs out as before the default one does.
 */
const POLLS_PER_BUDGET = 5;
/** First wait before reconnecting after a lost connection; doubles up to the poll interval (ms). */
const RECONNECT_FIRST_MS = 100;
/** Bound on connecting and on each read (ms). */
const WATCH_IO_TIMEOUT_MS = 2_000;

/**
 * How a kill switch watch reads and judges the fleet's switches.
 *
 * @example
 * const options: KillSwitchWatchOptions = { clock: systemClock, stalenessBudgetMs: 3_000, pollIntervalMs: 500 };
 * const watch = store.watchKillSwitches((switches) => console.log(switches), options);
 */
export interface KillSwitchWatchOptions {
  /** Time source of confirmations and staleness (default: system clock). Connection timers are real. */
  readonly clock?: Clock;
  /** Default and maximum 5000 ms; see {@link FailClosedKillSwitch}. */
  readonly stalenessBudgetMs?: number;
  /**
   * Backstop poll interval, below the staleness budget: default 1000 ms, or a fifth of a budget
   * stricter than 5000 ms (a budget of 1000 ms is polled every 200 ms). A value not below the budget
   * is refused.
   */
  readonly pollIntervalMs?: number;
}

/**
 * A running watch of the fleet's kill switches.
 *
 * @example
 * const watch = store.watchKillSwitches(() => undefined);
 * await watch.ready;
 * if (watch.state('EURUSD') !== 'off') console.log(watch.staleReason() ?? 'a kill switch is on');
 * await watch.stop();
 */
export interface KillSwitchWatch {
  /** Resolves at the first confirmation (rejects never; check `stale()` if you need a bound). */
  readonly ready: Promise<void>;
  /** Effective state for `symbol` (or global), fail-closed: at least `warning` while stale. */
  state(symbol?: string): KillSwitchState;
  stale(): boolean;
  staleReason(): string | null;
  /** When the state was last confirmed (watch clock ms), or null. */
  readonly lastConfirmedAt: number | null;
  /** Whether the listening connection is up. */
  readonly connected: boolean;
  /** The switches as last read. */
  switches(): readonly FleetSwitch[];
  stop(): Promise<void>;
}

const sameSwitches = (a: readonly FleetSwitch[], b: readonly FleetSwitch[]) =>
  a.length === b.length && a.every((s, i) => s.changeId === b[i]?.changeId);

/** The row a switch is the latest of: its scope, and whether it is a flag's announcement (kept apart, as `readFleetSwitches` does). */
const slotOf = (s: FleetSwitch) => `${s.type === 'reconciliation' ? 'r' : 'o'}:${s.symbol ?? ''}`;

/**
 * The newest switch of every slot in `a` or `b`: a slot's latest change id only grows (rows are
 * never deleted), so a read older than a change already heard never undoes it.
 */
function newest(a: readonly FleetSwitch[], b: readonly FleetSwitch[]): FleetSwitch[] {
  const slots = new Map<string, FleetSwitch>();
  for (const s of [...a, ...b]) {
    const seen = slots.get(slotOf(s));
    if (!seen || seen.changeId < s.changeId) slots.set(slotOf(s), s);
  }
  return [...slots.values()].sort((x, y) => x.changeId - y.changeId);
}

const STATES = new Set<unknown>(['off', 'warning', 'active']);
const TYPES = new Set<unknown>(Object.values(KillSwitchType));

/** The change a notification names (`{ id, symbol, to, type }`), or null if it names none this watch can apply. */
export function notifiedSwitch(payload: string | undefined): FleetSwitch | null {
  let told: { id?: unknown; symbol?: unknown; to?: unknown; type?: unknown };
  try {
    told = JSON.parse(payload ?? '') as typeof told;
  } catch {
    return null;
  }
  if (told === null || typeof told !== 'object' || !Number.isSafeInteger(told.id) || !STATES.has(told.to) || !TYPES.has(told.type)) return null;
  if (told.symbol !== null && typeof told.symbol !== 'string') return null;
  return { symbol: told.symbol, state: told.to as KillSwitchState, type: told.type as FleetSwitch['type'], changeId: told.id as number };
}

/**
 * Reads every scope's current switch (the latest operators' change of each) and, apart, the latest
 * `reconciliation` row of each scope: an announcement that a flag was raised or resolved (the flag
 * itself is the halt), which must never hide the operators' setting of its scope.
 */
export async function readFleetSwitches(client: pg.ClientBase | pg.Pool): Promise<FleetSwitch[]> {
  const { rows } = await client.query<{ id: string; symbol: string | null; to_state: KillSwitchState; type: FleetSwitch['type'] }>(
    `SELECT DISTINCT ON (coalesce(symbol, ''), type = 'reconciliation') id, symbol, to_state, type
       FROM warden_kill_switch_changes ORDER BY coalesce(symbol, ''), type = 'reconciliation', id DESC`,
  );
  return rows.map((r) => ({ symbol: r.symbol, state: r.to_state, type: r.type, changeId: Number(r.id) })).sort((x, y) => x.changeId - y.changeId);
}

/** Starts a watch on `url`; see {@link KillSwitchWatch}. */
export function startKillSwitchWatch(url: string, onChange: (switches: readonly FleetSwitch[]) => void, options: KillSwitchWatchOptions = {}): KillSwitchWatch {
  const clock = options.clock ?? systemClock;
  const view = new FailClosedKillSwitch({ clock, stalenessBudgetMs: options.stalenessBudgetMs });
  const pollMs = options.pollIntervalMs ?? Math.min(KILL_SWITCH_POLL_MS, view.stalenessBudgetMs / POLLS_PER_BUDGET);
  if (!Number.isFinite(pollMs) || pollMs <= 0 || pollMs >= view.stalenessBudgetMs) {
    throw new PostgresStoreError('invalid_option', `pollIntervalMs must be more than 0 and below the staleness budget (${view.stalenessBudgetMs} ms), got ${String(pollMs)}`);
  }
  let client: pg.Client | null = null;
  let connecting = false;
  let stopped = false;
  let current: FleetSwitch[] = [];
  let reading: Promise<void> | null = null;
  let readAgain = false;
  /** Changes applied from notifications so far. */
  let heardCount = 0;
  let backoff = RECONNECT_FIRST_MS;
  let reconnectTimer: NodeJS.Timeout | null = null;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const lost = (c: pg.Client) => {
    if (client !== c) return;
    client = null;
    c.end().catch(() => undefined);
    scheduleReconnect();
  };

  const read = (): Promise<void> => {
    if (reading) {
      readAgain = true; // a change arrived while reading: read once more after this one
      return reading;
    }
    const c = client;
    if (!c) return Promise.resolve();
    reading = (async () => {
      try {
        do {
          readAgain = false;
          const startedAfter = heardCount;
          const switches = await readFleetSwitches(c);
          if (stopped) return;
          // A change heard while this read ran, which it does not show yet: kept, and read again.
          const merged = newest(current, switches);
          if (heardCount > startedAfter && !sameSwitches(merged, switches)) readAgain = true;
          view.confirm(merged, clock.now());
          markReady();
          if (!sameSwitches(merged, current)) {
            current = merged;
            onChange(merged);
          }
        } while (readAgain && client === c);
      } catch {
        lost(c);
      } finally {
        reading = null;
      }
    })();
    return reading;
  };

  /**
   * A change the notification names is applied at once, before the read that confirms it; it does
   * not confirm the state (only a read does), so it never lifts or postpones failing closed.
   */
  const heard = (told: FleetSwitch | null) => {
    const confirmedAt = view.lastConfirmedAt;
    if (told === null || confirmedAt === null || stopped) return;
    const merged = newest(current, [told]);
    if (sameSwitches(merged, current)) return;
    current = merged;
    heardCount++;
    view.confirm(merged, confirmedAt);
    onChange(merged);
  };

  const connect = async () => {
    if (stopped || client || connecting) return;
    connecting = true;
    const c = new pgDriver.Client({ ...connectionSettings(url), connectionTimeoutMillis: WATCH_IO_TIMEOUT_MS, query_timeout: WATCH_IO_TIMEOUT_MS });
    c.on('error', () => lost(c));
    c.on('end', () => lost(c));
    try {
      await c.connect();
      await c.query(`LISTEN ${KILL_SWITCH_CHANNEL}`);
      if (stopped) {
        await c.end();
        return;
      }
      c.on('notification', (n) => {
        heard(notifiedSwitch(n.payload));
        void read(); // the rows confirm it
      });
      client = c;
      backoff = RECONNECT_FIRST_MS;
      await read();
    } catch {
      c.end().catch(() => undefined);
      scheduleReconnect();
    } finally {
      connecting = false;
    }
  };

  function scheduleReconnect() {
    if (stopped || reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      void connect();
    }, backoff);
    reconnectTimer.unref();
    backoff = Math.min(backoff * 2, pollMs);
  }

  const poll = setInterval(() => {
    if (client) void read();
    else void connect();
  }, pollMs);
  poll.unref();
  void connect();

  return {
    ready,
    state: (symbol) => view.state(symbol),
    stale: () => view.stale(),
    staleReason: () => view.staleReason(),
    get lastConfirmedAt() {
      return view.lastConfirmedAt;
    },
    get connected() {
      return client !== null;
    },
    switches: () => current,
    stop: async () => {
      stopped = true;
      clearInterval(poll);
      if (reconnectTimer) clearTimeout(reconnectTimer);
      const c = client;
      client = null;
      await c?.end().catch(() => undefined);
    },
  };
}

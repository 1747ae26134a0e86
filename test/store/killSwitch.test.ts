/**
 * The fleet kill switch: a durable row plus NOTIFY, heard by every instance; read fail-closed
 * (every symbol `warning`) when its state cannot be confirmed within the staleness budget, with a
 * virtual clock so no test waits for the budget to pass.
 */
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { WardenUsageError } from '../../src/domain/errors.js';
import { FailClosedKillSwitch, KILL_SWITCH_STALENESS_BUDGET_MS } from '../../src/store/postgres/failClosed.js';
import { PostgresStoreError } from '../../src/store/postgres/errors.js';
import type { FleetSwitch } from '../../src/store/postgres/failClosed.js';
import { VirtualClock } from '../../src/testing/virtualClock.js';
import { useDatabase } from './support/database.js';

const db = useDatabase();

/** Changes timed from one instance to another's listener. */
const LATENCY_TRIALS = 50;
/** Bound on a real reconnection after the server comes back (backoff is at most the poll interval). */
const RECOVERY_WAIT_MS = 8_000;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

describe('FailClosedKillSwitch', () => {
  it('accepts a staleness budget up to the default and refuses a larger one, saying why', () => {
    const clock = new VirtualClock(0);
    expect(new FailClosedKillSwitch({ clock }).stalenessBudgetMs).toBe(KILL_SWITCH_STALENESS_BUDGET_MS);
    expect(new FailClosedKillSwitch({ clock, stalenessBudgetMs: 1_000 }).stalenessBudgetMs).toBe(1_000);
    for (const bad of [KILL_SWITCH_STALENESS_BUDGET_MS + 1, 60_000, 0, -1, Number.NaN]) {
      const error = (() => {
        try {
          new FailClosedKillSwitch({ clock, stalenessBudgetMs: bad });
        } catch (e) {
          return e;
        }
      })();
      expect(error, String(bad)).toBeInstanceOf(PostgresStoreError);
      expect((error as PostgresStoreError).message).toMatch(/at most 5000 ms \(it can only be made stricter\)/);
    }
  });

  it('reads warning until confirmed, the confirmed state while fresh, and at least warning once stale', async () => {
    const clock = new VirtualClock(1_000_000);
    const view = new FailClosedKillSwitch({ clock, stalenessBudgetMs: 2_000 });
    expect(view.state('EURUSD')).toBe('warning');
    expect(view.staleReason()).toMatch(/not been confirmed/);
    const switches: FleetSwitch[] = [
      { symbol: null, state: 'off', type: 'global', changeId: 1 },
      { symbol: 'GBPUSD', state: 'active', type: 'manual', changeId: 2 },
    ];
    view.confirm(switches);
    expect([view.state(), view.state('EURUSD'), view.state('GBPUSD')]).toEqual(['off', 'off', 'active']);
    await clock.advance(2_000);
    expect(view.state('EURUSD')).toBe('off'); // exactly at the budget: still fresh
    await clock.advance(1);
    expect([view.state(), view.state('EURUSD'), view.state('GBPUSD')]).toEqual(['warning', 'warning', 'active']);
    expect(view.staleReason()).toMatch(/last confirmed 2001 ms ago \(budget 2000 ms\)/);
    view.confirm(switches);
    expect(view.state('EURUSD')).toBe('off');
  });
});

describe('PostgresStore fleet kill switch', () => {
  it('validates a change like the engine does, keeps the history and knows each change’s from', async () => {
    const store = await db.open();
    await expect(store.setKillSwitch({ state: 'off', reason: 'done' })).rejects.toBeInstanceOf(WardenUsageError);
    await expect(store.setKillSwitch({ state: 'warning', reason: ' ' })).rejects.toBeInstanceOf(WardenUsageError);
    await store.setKillSwitch({ state: 'warning', symbol: 'EURUSD', reason: 'news', operator: 'ana' });
    const second = await store.setKillSwitch({ state: 'active', symbol: 'EURUSD', reason: 'worse news', operator: 'ana' });
    expect(second).toMatchObject({ symbol: 'EURUSD', from: 'warning', to: 'active', type: 'symbol_level', operator: 'ana' });
    await store.setKillSwitch({ state: 'off', symbol: 'EURUSD', reason: 'calm', operator: 'ana' });
    expect((await store.killSwitchHistory()).filter((c) => c.symbol === 'EURUSD').map((c) => `${c.from}->${c.to}`)).toEqual(['off->warning', 'warning->active', 'active->off']);
    expect((await store.killSwitches()).find((s) => s.symbol === 'EURUSD')?.state).toBe('off');
  });

  it('refuses a watch with a staleness budget above 5 s or a poll interval not below the budget', async () => {
    const store = await db.open();
    expect(() => store.watchKillSwitches(() => undefined, { stalenessBudgetMs: 10_000 })).toThrow(/at most 5000 ms/);
    expect(() => store.watchKillSwitches(() => undefined, { stalenessBudgetMs: 1_000, pollIntervalMs: 1_000 })).toThrow(/below the staleness budget/);
  });

  it('a change made on one instance is heard by another instance’s watch (latency printed)', async () => {
    const setter = await db.open({ writer: 'setter' });
    const listener = await db.open({ writer: 'listener' });
    const heard = new Map<number, number>();
    const watch = listener.watchKillSwitches((switches) => {
      for (const s of switches) if (!heard.has(s.changeId)) heard.set(s.changeId, performance.now());
    });
    await watch.ready;
    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_TRIALS; i++) {
      const sent = performance.now();
      const change = await setter.setKillSwitch({ state: i % 2 === 0 ? 'active' : 'off', symbol: 'XAUUSD', reason: `trial ${i}`, operator: 'ops' });
      await vi.waitFor(() => expect(heard.has(change.id)).toBe(true), { timeout: 2_000, interval: 1 });
      latencies.push(heard.get(change.id)! - sent);
      expect(watch.state('XAUUSD')).toBe(change.to);
    }
    latencies.sort((x, y) => x - y);
    console.log(`kill switch set → heard by another instance, ${LATENCY_TRIALS} trials: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms (includes the setter's commit)`);
    await watch.stop();
  });

  it('applies the change a notification names, ignores one that names no valid change, and never lets an older read undo it', async () => {
    const clock = new VirtualClock(7_000_000);
    const store = await db.open({ writer: 'told-watch' });
    const seen: string[] = [];
    const watch = store.watchKillSwitches((switches) => seen.push(switches.map((x) => `${x.symbol ?? 'global'}:${x.state}#${x.changeId}`).join(',')), { clock });
    await watch.ready;
    const confirmedAt = watch.lastConfirmedAt;
    await clock.advance(1_000);
    // Every read of the rows waits behind this lock: only the notification can tell the watch now.
    const blocker = new pg.Client(db.server().url);
    await blocker.connect();
    try {
      await blocker.query('BEGIN; LOCK TABLE warden_kill_switch_changes IN ACCESS EXCLUSIVE MODE');
      await blocker.query(`SELECT pg_notify('warden_kill_switch', '{"id": 900000001, "symbol": "NZDUSD", "to": "active", "type": "manual"}')`);
      await blocker.query(`SELECT pg_notify('warden_kill_switch', '{"id": 900000002, "symbol": "NZDUSD", "to": "bogus", "type": "manual"}')`);
      await blocker.query('COMMIT'); // the notifications go out at commit, the lock is let go with them
    } finally {
      await blocker.end();
    }
    await vi.waitFor(() => expect(watch.state('NZDUSD')).toBe('active'), { timeout: 2_000, interval: 1 });
    expect(seen.at(-1)).toContain('NZDUSD:active#900000001');
    expect(seen.join(' ')).not.toContain('900000002'); // a payload that names no valid change is only a hint to read
    // The read that follows shows no such row: the change heard stays (a slot's latest id only grows).
    await vi.waitFor(() => expect(watch.lastConfirmedAt).not.toBe(confirmedAt), { timeout: 2_000, interval: 5 });
    expect(watch.state('NZDUSD')).toBe('active');
    expect(watch.switches().some((x) => x.changeId === 900000001)).toBe(true);
    await watch.stop();
  });

  it('a notification alone never confirms the state: a watch that cannot read stays fail-closed', async () => {
    const clock = new VirtualClock(8_000_000);
    const store = await db.open({ writer: 'told-stale' });
    const watch = store.watchKillSwitches(() => undefined, { clock, stalenessBudgetMs: 1_000, pollIntervalMs: 500 });
    await watch.ready;
    const confirmedAt = watch.lastConfirmedAt;
    await clock.advance(500);
    const blocker = new pg.Client(db.server().url);
    await blocker.connect();
    try {
      await blocker.query('BEGIN; LOCK TABLE warden_kill_switch_changes IN ACCESS EXCLUSIVE MODE');
      const other = new pg.Client(db.server().url);
      await other.connect();
      await other.query(`SELECT pg_notify('warden_kill_switch', '{"id": 910000001, "symbol": "CADJPY", "to": "active", "type": "manual"}')`);
      await other.end();
      await vi.waitFor(() => expect(watch.state('CADJPY')).toBe('active'), { timeout: 2_000, interval: 1 });
      expect(watch.lastConfirmedAt).toBe(confirmedAt); // heard, not confirmed: the read is still held by the lock
      await clock.advance(600); // 1,100 ms since the last read, 600 ms since the notification
      expect(watch.stale()).toBe(true);
      expect(watch.state('EURUSD')).toBe('warning');
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      await blocker.end();
    }
    await watch.stop();
  });

  it('writes a change on a connection of its own: it commits while every pooled connection is busy', async () => {
    const store = await db.open({ writer: 'busy-pool', poolSize: 1 });
    const order: string[] = [];
    // The only pooled connection sleeps: a change queued behind it would commit after it.
    const sleeping = (store as unknown as { pool: pg.Pool }).pool.query('SELECT pg_sleep(1.5)').then(() => order.push('pool free'));
    await new Promise((r) => setTimeout(r, 50));
    const change = await store.setKillSwitch({ state: 'warning', symbol: 'AUDCAD', reason: 'busy pool', operator: 'ops' });
    order.push('change committed');
    await sleeping;
    expect(order).toEqual(['change committed', 'pool free']);
    expect(change).toMatchObject({ symbol: 'AUDCAD', from: 'off', to: 'warning' });
    expect((await store.killSwitches()).find((s) => s.symbol === 'AUDCAD')).toMatchObject({ state: 'warning', changeId: change.id });
  });

  it('fails closed while PostgreSQL is down and recovers by itself when it is back', async () => {
    const clock = new VirtualClock(5_000_000);
    const store = await db.open({ writer: 'outage-watch' });
    const watch = store.watchKillSwitches(() => undefined, { clock, pollIntervalMs: 200 });
    await watch.ready;
    expect(watch.stale()).toBe(false);
    const global = (await store.killSwitches()).find((s) => s.symbol === null)?.state ?? 'off';
    expect(watch.state('EURUSD')).toBe(global);

    await db.server().suspend();
    await vi.waitFor(() => expect(watch.connected).toBe(false), { timeout: 2_000, interval: 10 });
    const confirmedBefore = watch.lastConfirmedAt;
    await clock.advance(KILL_SWITCH_STALENESS_BUDGET_MS + 1);
    expect(watch.lastConfirmedAt).toBe(confirmedBefore);
    expect(watch.state('EURUSD')).toBe('warning');
    expect(watch.state()).toBe('warning');
    expect(watch.staleReason()).toMatch(/every symbol reads warning/);

    const restartMs = await db.server().resume();
    await vi.waitFor(() => expect(watch.stale()).toBe(false), { timeout: RECOVERY_WAIT_MS, interval: 20 });
    console.log(`fail-closed: server restarted in ${restartMs.toFixed(0)} ms; the watch confirmed the state again by itself`);
    expect(watch.state('EURUSD')).toBe(global);
    await store.setKillSwitch({ state: 'active', symbol: 'EURUSD', reason: 'after the outage', operator: 'ops' });
    await vi.waitFor(() => expect(watch.state('EURUSD')).toBe('active'), { timeout: 2_000, interval: 5 });
    await watch.stop();
  });
});

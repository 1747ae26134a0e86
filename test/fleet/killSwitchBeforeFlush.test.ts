/**
 * The fleet kill switch's `active` is announced before its WAL flush, and only `active`: its
 * transaction commits without waiting for the flush (PostgreSQL delivers the notification at that
 * commit), and a second transaction in the same query commits synchronously, so the setter's answer
 * still means durable. `warning` and `off` (which may lift) are announced only once durable. An
 * error inside the two-transaction query leaves the writer usable, and an engine that heard an
 * `active` keeps it even if a later read no longer shows its row (a change lost in a crash between
 * the two commits halts too much, never too little).
 */
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { useDatabase } from '../store/support/database.js';

const db = useDatabase();

/** The query texts the store's connections send while `run` runs. */
async function queriesDuring(run: () => Promise<unknown>): Promise<string[]> {
  const texts: string[] = [];
  const query = pg.Client.prototype.query;
  const spy = vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
    if (typeof args[0] === 'string') texts.push(args[0]);
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query);
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return texts;
}

const changeQuery = (texts: string[]) => texts.filter((t) => t.includes('INSERT INTO warden_kill_switch_changes'));

describe('the fleet kill switch before its flush', () => {
  it('`active` commits without waiting for its flush, in a query whose answer waits for one; `warning` and `off` commit synchronously', async () => {
    const store = await db.open({ writer: 'setter' });
    await store.setKillSwitch({ state: 'warning', symbol: 'USDJPY', reason: 'warm the connection', operator: 'ops' });

    const [active] = changeQuery(await queriesDuring(() => store.setKillSwitch({ state: 'active', symbol: 'USDJPY', reason: 'venue outage', operator: 'ops' })));
    expect(active).toBeDefined();
    const [change, flush] = active!.split(/COMMIT;/);
    expect(change).toMatch(/BEGIN; SET LOCAL synchronous_commit = off;[\s\S]*INSERT INTO warden_kill_switch_changes[\s\S]*pg_notify/);
    // The second transaction writes WAL and commits synchronously: its flush covers the change.
    expect(flush).toMatch(/BEGIN; SET LOCAL synchronous_commit = on; SELECT pg_logical_emit_message\(true/);

    for (const state of ['warning', 'off'] as const) {
      const [text] = changeQuery(await queriesDuring(() => store.setKillSwitch({ state, symbol: 'USDJPY', reason: `to ${state}`, operator: 'ops' })));
      expect(text, state).toBeDefined();
      expect(text, state).not.toMatch(/synchronous_commit/);
    }
    expect((await store.killSwitchHistory()).filter((c) => c.symbol === 'USDJPY').map((c) => `${c.from}->${c.to}`)).toEqual(['off->warning', 'warning->active', 'active->warning', 'warning->off']);
  });

  it('a change that fails inside its transaction leaves the writer usable for the next one', async () => {
    const store = await db.open({ writer: 'failing-setter' });
    await store.setKillSwitch({ state: 'warning', symbol: 'NZDUSD', reason: 'warm the connection', operator: 'ops' });
    await db.query('ALTER TABLE warden_kill_switch_changes RENAME TO warden_kill_switch_changes_away');
    try {
      await expect(store.setKillSwitch({ state: 'active', symbol: 'NZDUSD', reason: 'fails', operator: 'ops' })).rejects.toMatchObject({ code: '42P01' });
    } finally {
      await db.query('ALTER TABLE warden_kill_switch_changes_away RENAME TO warden_kill_switch_changes');
    }
    // Same connection: its aborted transaction was ended, so these are not refused.
    expect(await store.setKillSwitch({ state: 'active', symbol: 'NZDUSD', reason: 'again', operator: 'ops' })).toMatchObject({ from: 'warning', to: 'active' });
    expect(await store.setKillSwitch({ state: 'off', symbol: 'NZDUSD', reason: 'over', operator: 'ops' })).toMatchObject({ from: 'active', to: 'off' });
  });

  it('an engine that heard `active` keeps it when a later read no longer shows its row', async () => {
    const setter = await db.open({ writer: 'lossy-setter' });
    const listener = await db.open({ writer: 'lossy-listener' });
    const watch = listener.watchKillSwitches(() => undefined);
    await watch.ready;
    await setter.setKillSwitch({ state: 'warning', symbol: 'AUDUSD', reason: 'before', operator: 'ops' });
    const active = await setter.setKillSwitch({ state: 'active', symbol: 'AUDUSD', reason: 'heard, then lost', operator: 'ops' });
    await vi.waitFor(() => expect(watch.state('AUDUSD')).toBe('active'), { timeout: 2_000, interval: 5 });
    // The row is gone, as after a crash between the two commits; another change makes the listener read again.
    await db.query('DELETE FROM warden_kill_switch_changes WHERE id = $1', [active.id]);
    const other = await setter.setKillSwitch({ state: 'warning', symbol: 'CADJPY', reason: 'a read', operator: 'ops' });
    await vi.waitFor(() => expect(watch.switches().some((s) => s.changeId === other.id)).toBe(true), { timeout: 2_000, interval: 5 });
    expect((await setter.killSwitches()).find((s) => s.symbol === 'AUDUSD')?.state).toBe('warning');
    expect(watch.state('AUDUSD')).toBe('active');
    await watch.stop();
  });
});

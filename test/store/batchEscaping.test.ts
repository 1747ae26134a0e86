/**
 * The journal batch goes as ONE simple query with its values as escaped literals (batch.ts): what
 * the parameters carried before must reach the database unchanged — quotes, backslashes, `$$`,
 * semicolons, `E'`, unicode, very long text — and untrusted text the database cannot hold as sent
 * (a NUL, half of a surrogate pair) must never stall the journal or break its chain.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, freezeSnapshot, type FrozenSnapshot } from '../../src/index.js';
import { JournalKind } from '../../src/journal/types.js';
import { ScriptedBroker } from '../../src/testing/index.js';
import { rawSnapshot, silentLogger } from '../support/fixtures.js';
import { useDatabase } from './support/database.js';

const db = useDatabase();

/** A venue on real time where every order fills at once. */
function fillingVenue(): ScriptedBroker {
  const venue = new ScriptedBroker({ latencyMs: 1, push: true });
  venue.onAccepted((o) => setTimeout(() => venue.fill(o.clientOrderId, o.quantity, 1.1), 2));
  return venue;
}

/** A snapshot approved a minute ago, valid for an hour of real time. */
const order = (advisoryId: string): FrozenSnapshot => {
  const now = Date.now();
  return freezeSnapshot(rawSnapshot({ advisoryId, createdAt: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 3_600_000).toISOString(), approval: { approvedBy: 'alice', approvedAt: new Date(now - 30_000).toISOString() } }));
};

describe('journal batch literals', () => {
  it('text the old parameters carried comes back unchanged: quotes, backslashes, $$, semicolons, E prefixes, unicode, 1 MB', async () => {
    const store = await db.open({ writer: 'literals' });
    const nasty = [
      "it's", "''", '\\', "\\'", "E'\\x41'", '$$; DROP TABLE warden_records; $$', '$tag$ x $tag$', "'); DELETE FROM warden_leases; --",
      '\\\\0', 'ünïcödé 😀 中文 \u200b', '\t\r\n', 'x'.repeat(1_000_000),
    ];
    for (const [i, text] of nasty.entries()) {
      store.append({ kind: JournalKind.Transition, executionId: `exec-lit-${i}`, advisoryId: `adv-lit-${i}`, snapshotHash: null, from: text, to: text, event: text, payload: { text, n: Number.MAX_SAFE_INTEGER + 2, f: 0.1 } });
    }
    await store.flush();
    const back = await store.records({});
    expect(back.map((r) => [r.from, r.to, r.event, (r.payload as { text: string }).text])).toEqual(nasty.map((t) => [t, t, t, t]));
    expect(await db.query('SELECT count(*)::int AS n FROM warden_leases')).toEqual([{ n: 0 }]);
    expect((await store.verify()).ok).toBe(true);
  }, 60_000);

  it('a refused input whose advisoryId holds a NUL leaves the journal writable: the next advisory fills, the chain verifies', async () => {
    const store = await db.open({ writer: 'nul-id' });
    const engine = createEngine({ broker: fillingVenue(), journal: store, logger: silentLogger() });
    const refused = await engine.execute({ ...rawSnapshot(), advisoryId: 'bad\u0000id' });
    expect(refused.error?.code).toBe('invalid_snapshot');
    // Before: the batch holding the refusal's records was an invalid message to the server (08P01),
    // read as an answer lost, so it stayed "in doubt" and was sent again every 500 ms for good.
    await expect(store.flush()).resolves.toBeUndefined();
    expect((await engine.execute(order('after-nul'))).status).toBe('filled');
    expect((await engine.journal.verify()).ok).toBe(true);
    await engine.close();
  }, 60_000);

  it('a refused input whose advisoryId is cut inside a surrogate pair keeps the chain verifiable', async () => {
    const store = await db.open({ writer: 'half-pair' });
    const engine = createEngine({ broker: fillingVenue(), journal: store, logger: silentLogger() });
    // peek keeps 128 UTF-16 units: the cut falls between the halves of the emoji.
    const refused = await engine.execute({ ...rawSnapshot(), advisoryId: `${'a'.repeat(127)}😀` });
    expect(refused.error?.code).toBe('invalid_snapshot');
    await store.flush();
    expect(await engine.journal.verify()).toMatchObject({ ok: true });
    await engine.close();
  }, 60_000);

  it('text the server cannot hold, appended to the store directly, is refused as such at once, never left in doubt and sent again', async () => {
    const store = await db.open({ writer: 'nul-direct' });
    store.append({ kind: JournalKind.Transition, executionId: 'exec-nul', advisoryId: 'adv-nul', snapshotHash: null, to: 'a\u0000b' });
    const refusal = await store.flush().then(() => null, (e: unknown) => e as { code: string; message: string });
    // Before: 'unavailable' ("whether it was written is settled when the server answers again"), retried every 500 ms.
    expect(refusal).toMatchObject({ code: 'unreadable', message: expect.stringMatching(/NUL/) });
  }, 30_000);
});

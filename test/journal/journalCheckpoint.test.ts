/**
 * Checkpoints (src/journal/checkpoint.ts): a writer opens a journal by verifying from its
 * checkpoints instead of from the first record, a restart reads from the last one what it needs,
 * and none of it can hide tampering: an edit before a checkpoint is found by a full verification,
 * an edit after it by the writer's open, and a forged checkpoint is refused.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createEngine, KillSwitchState, type JournalRecord } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { restoreFromJournal, restoreFromStore, type RestoredState } from '../../src/engine/restore.js';
import { chainPlainRecord, storedRecordHash } from '../../src/journal/hashChain.js';
import type { CheckpointPayload } from '../../src/journal/checkpoint.js';
import { JournalError } from '../../src/journal/types.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { warden } from '../support/cli.js';
import { mortal, tempJournalPath } from '../support/crash.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';

const EVERY = 25;

/**
 * A journal written by an engine that died: finished executions (long and short), one flagged
 * and resolved, one flagged and left open, a kill switch change, and one execution claimed and
 * sent first, whose answer had not come when the process died. Checkpoints every 25 records.
 */
async function diedWithHistory() {
  const clock = new VirtualClock(T0);
  const broker = new ScriptedBroker({ clock });
  broker.onAccepted((o) => clock.setTimeout(() => broker.fill(o.clientOrderId, o.quantity, 1.1), 100));
  const path = tempJournalPath();
  const first = mortal(broker, new SqliteJournal(path, clock, { checkpointEvery: EVERY }));
  const engine = createEngine({ broker: first.broker, journal: first.journal, clock, logger: silentLogger() });
  // Claimed and sent first; the venue takes the order but its answer never comes back before the process dies.
  broker.script.submit.push({ kind: 'hang', accept: true });
  void engine.execute(snapshot({ advisoryId: 'unfinished', symbol: 'EURJPY' }));
  await clock.advance(10);
  // One symbol each: the scripted venue nets one symbol's positions, which reconciliation would flag.
  const symbols = ['EURUSD', 'GBPUSD', 'USDCHF', 'AUDUSD', 'NZDUSD', 'USDCAD'];
  for (const [i, symbol] of symbols.entries()) await clock.run(engine.execute(snapshot({ advisoryId: `done-${i}`, symbol, side: i % 2 ? 'sell' : 'buy' })));
  broker.script.protection.push({ kind: 'refuse' });
  const resolved = await clock.run(engine.execute(snapshot({ advisoryId: 'flag-resolved', symbol: 'EURCHF' })));
  engine.resolve('flag-resolved', { operator: 'ops', note: 'checked at the venue' });
  broker.script.protection.push({ kind: 'refuse' });
  const open = await clock.run(engine.execute(snapshot({ advisoryId: 'flag-open', symbol: 'EURGBP', side: 'sell' })));
  expect([resolved.requiresManualResolution, open.requiresManualResolution], JSON.stringify([open.status, open.error, open.reconciliation?.mismatches])).toEqual([true, true]);
  engine.killSwitch.set(KillSwitchState.Warning, { symbol: 'XAUUSD', reason: 'news', operator: 'ops' });
  first.die();
  await clock.advance(10);
  return { clock, broker, path };
}

/** The parts of a restored state a restart acts on, in a form two restores can be compared by. */
function restartView(s: RestoredState) {
  const ledger = new Map<string, number>();
  for (const f of s.fills.values()) ledger.set(f.symbol, (ledger.get(f.symbol) ?? 0) + f.signed);
  return {
    claimed: [...s.claimedAdvisories].sort(),
    switches: s.killSwitchChanges,
    awaiting: s.awaiting,
    unfinished: s.unfinished,
    ledger: [...ledger].filter(([, v]) => v !== 0).sort(([a], [b]) => a.localeCompare(b)),
  };
}

const checkpoints = (path: string) => {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare("SELECT sequence FROM records WHERE kind = 'checkpoint' ORDER BY sequence").pluck().all() as number[]);
  } finally {
    db.close();
  }
};
const lastSequence = (path: string) => {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT MAX(sequence) FROM records').pluck().get() as number;
  } finally {
    db.close();
  }
};

/** Edits a record's payload in place (what an attacker with the file could do). */
/** A record of a settled execution no checkpoint lists (a transition of the first one that finished): editing it is for --full to find. */
function settledRecord(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare("SELECT min(sequence) AS s FROM records WHERE advisory_id = 'done-0' AND kind = 'transition'").get() as { s: number }).s;
  } finally {
    db.close();
  }
}

function edit(path: string, sequence: number, payload: unknown = { forged: true }) {
  const db = new Database(path);
  try {
    expect(db.prepare('UPDATE records SET payload = ? WHERE sequence = ?').run(JSON.stringify(payload), sequence).changes).toBe(1);
  } finally {
    db.close();
  }
}

/** Recomputes every hash from `sequence` on, and the head, so the chain is consistent again after an edit (the best a forger can do without a key). */
function rechain(path: string, sequence: number) {
  const db = new Database(path);
  try {
    const rows = db.prepare('SELECT * FROM records WHERE sequence >= ? ORDER BY sequence').all(sequence) as Record<string, unknown>[];
    let previous = (db.prepare('SELECT hash FROM records WHERE sequence = ?').pluck().get(sequence - 1) as string | undefined) ?? '0'.repeat(64);
    const update = db.prepare('UPDATE records SET previous_hash = ?, hash = ? WHERE sequence = ?');
    for (const row of rows) {
      const r = chainPlainRecord(
        { kind: row.kind as never, executionId: row.execution_id as string | null, advisoryId: row.advisory_id as string | null, snapshotHash: row.snapshot_hash as string | null, from: row.from_state as string | null, to: row.to_state as string | null, event: row.event as string | null, payload: JSON.parse(row.payload as string) },
        row.sequence as number,
        row.at as string,
        previous,
      );
      update.run(r.previousHash, r.hash, r.sequence);
      previous = r.hash;
    }
    // The journal's head names the last record: a forger rewrites it too.
    if (rows.length > 0) db.prepare("UPDATE meta SET value = ? WHERE key = 'head'").run(JSON.stringify({ sequence: rows.at(-1)!.sequence, hash: previous }));
  } finally {
    db.close();
  }
}

const refusedAt = (path: string): number | undefined => {
  try {
    void new SqliteJournal(path).close();
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(JournalError);
    expect((e as JournalError).code).toBe('chain_broken');
    return (e as JournalError).brokenAt;
  }
};

const readRecords = (path: string): JournalRecord[] => {
  const j = new SqliteJournal(path, undefined, { readOnly: true });
  const all = [...j.readAll()];
  void j.close();
  return all;
};

describe('journal checkpoints', () => {
  it('a restart from the last checkpoint restores what every record says, reads a fraction of them, and resumes', async () => {
    const { clock, broker, path } = await diedWithHistory();
    expect(checkpoints(path).length).toBeGreaterThanOrEqual(3);
    const reader = new SqliteJournal(path, clock, { readOnly: true });
    const all = reader.readAll();
    const needed = reader.restartRecords();
    expect(needed[0]!.kind).toBe('checkpoint');
    expect(needed[0]!.sequence).toBe(checkpoints(path).at(-1));
    expect(needed.length).toBeLessThan(all.length / 4);
    const { claimed: inMemory, ...fromCheckpoint } = restartView(restoreFromStore(reader));
    const { claimed: everClaimed, ...fromEverything } = restartView(restoreFromJournal(all));
    expect(fromCheckpoint).toEqual(fromEverything);
    // Claims settled before the checkpoint are not loaded: the store's index answers for them.
    expect(inMemory.length).toBeLessThan(everClaimed.length);
    expect(everClaimed.filter((a) => !inMemory.includes(a) && !reader.hasClaimed(a))).toEqual([]);
    expect(reader.hasClaimed('never-claimed')).toBe(false);
    expect(fromCheckpoint.unfinished.map((u) => u.snapshot.advisoryId)).toEqual(['unfinished']);
    expect(fromCheckpoint.awaiting.map((a) => a.result.advisoryId)).toEqual(['flag-open']);
    expect(fromCheckpoint.switches.some((c) => c.symbol === 'XAUUSD')).toBe(true);
    expect(fromCheckpoint.ledger.length).toBeGreaterThanOrEqual(2);
    await reader.close();

    // A new engine over the file: opened from its checkpoints, the unfinished execution resumed and
    // finished, the old advisory still refused, the open flag still halting its symbol.
    const engine = createEngine({ broker, journal: new SqliteJournal(path, clock, { checkpointEvery: EVERY }), clock, logger: silentLogger() });
    const [resumed] = await clock.run(engine.recovery);
    expect(resumed!.advisoryId).toBe('unfinished');
    expect(resumed!.status).toBe('filled');
    expect(broker.callsOf('submitOrder').filter((c) => (c.args as { clientOrderId: string }).clientOrderId === resumed!.clientOrderId)).toHaveLength(1);
    const again = await clock.run(engine.execute(snapshot({ advisoryId: 'done-1', symbol: 'GBPUSD', side: 'sell' })));
    expect(again.error?.code).toBe('duplicate_advisory');
    expect(engine.killSwitch.state('EURGBP')).toBe(KillSwitchState.Warning);
    expect(engine.killSwitch.state('EURCHF')).toBe(KillSwitchState.Off);
    expect(await engine.journal.verify()).toEqual({ ok: true });
    await engine.close();
  });

  it('verify() checks every record and checkpoint; { full: false } checks from the checkpoint before the last, as a writer opens', async () => {
    const { path } = await diedWithHistory();
    const marks = checkpoints(path);
    const j = new SqliteJournal(path, undefined, { readOnly: true });
    expect(await j.verify()).toEqual({ ok: true });
    expect(await j.verify({ full: true })).toEqual({ ok: true });
    expect(await j.verify({ full: false })).toEqual({ ok: true, from: marks.at(-2) });
    // Verification hashes each record from its stored payload text: the same hash as from the parsed record.
    for (const r of j.readAll()) {
      expect(storedRecordHash({ ...r, payloadText: JSON.stringify(r.payload) })).toBe(r.hash);
      expect(storedRecordHash({ ...r, payloadText: ` ${JSON.stringify(r.payload)}` })).not.toBe(r.hash);
    }
    await j.close();
  });

  it('an edit before the checkpoints is found by a full verification (the writer opens: the checkpoint signed it off)', async () => {
    const { path } = await diedWithHistory();
    const at = settledRecord(path);
    edit(path, at);
    expect(refusedAt(path)).toBeUndefined();
    const j = new SqliteJournal(path, undefined, { readOnly: true });
    expect(await j.verify({ full: false })).toMatchObject({ ok: true });
    expect(await j.verify({ full: true })).toEqual({ ok: false, brokenAt: at });
    expect(await j.verify()).toEqual({ ok: false, brokenAt: at });
    await j.close();
  });

  it('warden journal verify checks from the checkpoints; --full checks everything and finds the edit before them', async () => {
    const { path } = await diedWithHistory();
    const at = settledRecord(path);
    edit(path, at);
    const quick = await warden(['journal', 'verify', '--journal', path], 60_000);
    expect(quick.code).toBe(0);
    expect(quick.stdout).toMatch(new RegExp(`verified from the checkpoint at record ${checkpoints(path).at(-2)} \\(--full: every record\\)`));
    const full = await warden(['journal', 'verify', '--full', '--journal', path], 60_000);
    expect(full.code).toBe(3);
    expect(full.stdout).toMatch(new RegExp(`BROKEN at record ${at}$`, "m"));
  }, 60_000);

  it("an edit after the last checkpoint is found by the writer's open", async () => {
    const { path } = await diedWithHistory();
    const after = checkpoints(path).at(-1)! + 2;
    expect(after).toBeLessThanOrEqual(lastSequence(path));
    edit(path, after);
    expect(refusedAt(path)).toBe(after);
  });

  it("a record a checkpoint lists for a restart (the unfinished execution's claim) is checked at open, however far back", async () => {
    const { path } = await diedWithHistory();
    const claim = readRecords(path).find((r) => r.kind === 'claim' && r.advisoryId === 'unfinished')!;
    expect(claim.sequence).toBeLessThan(checkpoints(path).at(-2)!); // signed off by both checkpoints
    edit(path, claim.sequence, { ...(claim.payload as object), deadlineAt: 0 });
    expect(refusedAt(path)).toBe(claim.sequence);
    // Even with every later hash recomputed, the checkpoints no longer sign off what precedes them.
    rechain(path, claim.sequence);
    expect(refusedAt(path)).toBeDefined();
  });

  it('a forged checkpoint is refused: a wrong hash, a wrong sequence, or a state the records before it do not give', async () => {
    // Its payload edited, its hash left: refused where it stands.
    const a = (await diedWithHistory()).path;
    const last = checkpoints(a).at(-1)!;
    const payload = readRecords(a).find((r) => r.sequence === last)!.payload as CheckpointPayload;
    edit(a, last, { ...payload, state: { ...payload.state, unfinished: [] } });
    expect(refusedAt(a)).toBe(last);

    // It names another record than the one it follows, the chain recomputed after it: refused.
    const b = (await diedWithHistory()).path;
    const lastB = checkpoints(b).at(-1)!;
    const payloadB = readRecords(b).find((r) => r.sequence === lastB)!.payload as CheckpointPayload;
    edit(b, lastB, { ...payloadB, covers: [lastB - 2, payloadB.covers[1]] });
    rechain(b, lastB);
    expect(refusedAt(b)).toBe(lastB);

    // Well chained, but it drops the unfinished execution (a restart would never resume it): the
    // writer's open re-derives it from the checkpoint before it and refuses it; so does a full verification.
    const c = (await diedWithHistory()).path;
    const lastC = checkpoints(c).at(-1)!;
    const payloadC = readRecords(c).find((r) => r.sequence === lastC)!.payload as CheckpointPayload;
    expect(payloadC.state.unfinished.length).toBeGreaterThan(0);
    edit(c, lastC, { ...payloadC, state: { ...payloadC.state, unfinished: [] } });
    rechain(c, lastC);
    expect(refusedAt(c)).toBe(lastC);
    const j = new SqliteJournal(c, undefined, { readOnly: true });
    expect(await j.verify()).toEqual({ ok: false, brokenAt: lastC });
    await j.close();
  });

  it('the limits in force are listed by checkpoints; one made before they were listed still fits, one listing other records is refused', async () => {
    const clock = new VirtualClock(T0);
    const broker = new ScriptedBroker({ clock });
    broker.onAccepted((o) => clock.setTimeout(() => broker.fill(o.clientOrderId, o.quantity, 1.1), 100));
    const made = async () => {
      const path = tempJournalPath();
      const engine = createEngine({ broker, journal: new SqliteJournal(path, clock, { checkpointEvery: EVERY }), clock, logger: silentLogger(), limits: { symbols: { '*': { maxQuantity: 1_000_000 } } } });
      engine.limits.set({ symbols: { EURUSD: { maxQuantity: 500_000 } } }, { operator: 'ana', reason: 'thin market' });
      for (let i = 0; i < 4; i++) await clock.run(engine.execute(snapshot({ advisoryId: `lim-${i}`, symbol: ['GBPUSD', 'USDCHF', 'AUDUSD', 'NZDUSD'][i]! })));
      await engine.close();
      const last = checkpoints(path).at(-1)!;
      return { path, last, payload: readRecords(path).find((r) => r.sequence === last)!.payload as CheckpointPayload };
    };
    const a = await made();
    expect(a.payload.state.limits?.length).toBe(2); // the start and the tightening

    // As an older version wrote it: no limits listed. It fits what the records before it say.
    edit(a.path, a.last, { ...a.payload, state: { ...a.payload.state, limits: undefined } });
    rechain(a.path, a.last);
    expect(refusedAt(a.path)).toBeUndefined();

    // Listing only the start (a restart would drop the tightening): refused by the writer's open.
    const b = await made();
    edit(b.path, b.last, { ...b.payload, state: { ...b.payload.state, limits: b.payload.state.limits!.slice(0, 1) } });
    rechain(b.path, b.last);
    expect(refusedAt(b.path)).toBe(b.last);
  });

  it('checkpointEvery must be a whole number of records, at least 1; a checkpoint needs a record to sign off', () => {
    const path = tempJournalPath();
    expect(() => new SqliteJournal(path, undefined, { checkpointEvery: 0 })).toThrow(/checkpointEvery must be a whole number/);
    expect(() => new SqliteJournal(path, undefined, { checkpointEvery: 2.5 })).toThrow(/checkpointEvery/);
    const j = new SqliteJournal(path);
    expect(() => j.checkpoint()).toThrow(/empty/);
    void j.close();
  });
});

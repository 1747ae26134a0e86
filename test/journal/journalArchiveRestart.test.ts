/**
 * What a restart reads survives an archive (src/journal/archive.ts). A checkpoint, and the archive
 * anchor, refer to the records a restart carries on — kill switch changes, and the limits as last
 * started and tightened — wherever they stand in the history. Archiving those records moves them
 * out of the chain; copies must stay in the journal, or the journal no longer verifies, no writer
 * opens it, and an operator's tightening is forgotten (docs/rules.md: limits are never loosened
 * without someone asking).
 */
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine, KillSwitchState, type LimitsInput } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { archiveJournal } from '../../src/journal/archive.js';
import { readArchive, verifyAcrossArchives } from '../../src/journal/archiveAudit.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { warden } from '../support/cli.js';
import { tempJournalPath } from '../support/crash.js';
import { freezeSnapshot } from '../../src/index.js';
import { iso, rawSnapshot, silentLogger, T0 } from '../support/fixtures.js';

const EVERY = 20;
const DAY = 86_400_000;
const STARTED_WITH: LimitsInput = { symbols: { '*': { maxQuantity: 1000 } } };

const snapshotAt = (at: number, overrides: Record<string, unknown>) =>
  freezeSnapshot(rawSnapshot({ createdAt: iso(at - 120_000), expiresAt: iso(at + 3_600_000), approval: { approvedBy: 'alice', approvedAt: iso(at - 60_000) }, ...overrides }));

function engineOver(path: string, clock: VirtualClock) {
  const broker = new ScriptedBroker({ clock });
  broker.onAccepted((o) => clock.setTimeout(() => broker.fill(o.clientOrderId, o.quantity, 1.1), 100));
  const engine = createEngine({ broker, clock, journal: new SqliteJournal(path, clock, { checkpointEvery: EVERY }), logger: silentLogger(), limits: STARTED_WITH });
  return { broker, engine };
}

describe('journal archive keeps what a restart reads', () => {
  it('limits started and tightened, and a kill switch, all before the cut: the journal still verifies and opens, and a restart with the same limits refuses above the tightening', async () => {
    const path = tempJournalPath();
    const clock = new VirtualClock(T0);
    const first = engineOver(path, clock);
    first.engine.limits.set({ symbols: { '*': { maxQuantity: 50 } } }, { operator: 'ana', reason: 'thin market' });
    first.engine.killSwitch.set(KillSwitchState.Active, { symbol: 'GBPUSD', reason: 'news', operator: 'ops' });
    for (let i = 0; i < 8; i++) expect((await clock.run(first.engine.execute(snapshotAt(clock.now(), { advisoryId: `day1-${i}` })))).requiresManualResolution).toBe(false);
    await clock.advance(DAY);
    for (let i = 0; i < 8; i++) expect((await clock.run(first.engine.execute(snapshotAt(clock.now(), { advisoryId: `day2-${i}` })))).requiresManualResolution).toBe(false);
    await first.engine.close();

    const archive = join(dirname(path), 'day1.jsonl.gz');
    const done = await archiveJournal(path, { before: new Date(T0 + DAY / 2), to: archive });
    expect(done.from).toBe(1);
    expect(done.archived).toBeGreaterThan(EVERY);
    // The limits start, the tightening and the switch are archived: only their copies stay.
    const moved: { kind: string; event: string | null; executionId: string | null }[] = [];
    for await (const r of readArchive(archive)) moved.push(r);
    expect(moved.filter((r) => r.kind === 'limits' && r.executionId === null).map((r) => r.event)).toEqual(['start', 'tighten']);
    expect(moved.some((r) => r.kind === 'kill_switch')).toBe(true);

    const reader = new SqliteJournal(path, undefined, { readOnly: true });
    expect((await reader.verify({ full: false })).ok).toBe(true);
    expect((await reader.verify({ full: true })).ok).toBe(true);
    await reader.close();
    expect((await verifyAcrossArchives([archive], path)).ok).toBe(true);
    // What the operator sees is the tightening, archived or not.
    const shown = await warden(['limits', 'show', '--journal', path]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/record 2, tightened by ana: thin market/);
    expect(shown.stdout).toMatch(/maxQuantity 50/);

    // A restart with the limits the engine was started with: the tightening and the switch hold.
    const second = engineOver(path, clock);
    try {
      expect(second.engine.limits.current().symbols['*']?.maxQuantity).toBe(50);
      expect(second.engine.killSwitch.state('GBPUSD')).toBe(KillSwitchState.Active);
      const above = await clock.run(second.engine.execute(snapshotAt(clock.now(), { advisoryId: 'after-archive', positionSize: 100 })));
      expect(above.status).toBe('rejected');
      expect(above.error?.code).toBe('limit_quantity');
      expect(second.broker.callsOf('submitOrder')).toHaveLength(0);
    } finally {
      await second.engine.close();
    }
  }, 60_000);
});

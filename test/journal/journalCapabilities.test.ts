/**
 * A store's capabilities are asked for by type: each guard says yes only when the store has every
 * method the capability names (leases: all six and a writer id), so the engine never calls half a
 * capability, and a plain journal is taken as one that records and nothing more.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decidesClaims, flushes, hearsCommands, keepsRestartIndex, leasesExecutions, MemoryJournal, sharesKillSwitch, type Journal } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';

const plain = (): Journal => {
  const inner = new MemoryJournal();
  return { append: (e) => inner.append(e), readAll: () => inner.readAll(), records: (f) => inner.records(f), verify: () => inner.verify(), close: () => inner.close() };
};
const LEASES = ['acquireLease', 'renewLease', 'releaseLease', 'expiredLeases', 'takeOver', 'claimOf'] as const;
const leasing = (without?: string, writer: unknown = 'engine-a'): Journal =>
  Object.assign(plain(), { writer }, Object.fromEntries(LEASES.filter((m) => m !== without).map((m) => [m, async () => 0])));

describe('journal capabilities', () => {
  it('a plain journal records and has no other capability', () => {
    const j = plain();
    expect([flushes(j), hearsCommands(j), decidesClaims(j), sharesKillSwitch(j), leasesExecutions(j), keepsRestartIndex(j)]).toEqual([false, false, false, false, false, false]);
  });

  it('SqliteJournal groups commits, hears commands and keeps a restart index, and decides no claim', async () => {
    const j = new SqliteJournal(join(mkdtempSync(join(tmpdir(), 'warden-capabilities-')), 'j.sqlite'));
    try {
      expect([flushes(j), hearsCommands(j), keepsRestartIndex(j), decidesClaims(j), sharesKillSwitch(j), leasesExecutions(j)]).toEqual([true, true, true, false, false, false]);
    } finally {
      await j.close();
    }
  });

  it('a fleet kill switch needs both setting and watching', () => {
    const set = Object.assign(plain(), { setKillSwitch: async () => undefined });
    const both = Object.assign(plain(), { setKillSwitch: async () => undefined, watchKillSwitches: () => undefined });
    expect(sharesKillSwitch(set)).toBe(false);
    expect(sharesKillSwitch(both)).toBe(true);
  });

  it('leases need every lease method and a writer id', () => {
    expect(leasesExecutions(leasing())).toBe(true);
    for (const missing of LEASES) expect(leasesExecutions(leasing(missing)), missing).toBe(false);
    expect(leasesExecutions(leasing(undefined, null))).toBe(false);
    expect(leasesExecutions(leasing(undefined, 42))).toBe(false);
  });

  it('a property that is not a function is no capability', () => {
    expect(decidesClaims(Object.assign(plain(), { claim: 'yes' }))).toBe(false);
    expect(flushes(Object.assign(plain(), { flush: true }))).toBe(false);
  });
});

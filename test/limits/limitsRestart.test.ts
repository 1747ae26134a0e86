/**
 * A tightening outlives the process that took it. DESIGN §10 and docs/rules.md: limits "can be
 * tightened at run time, never loosened", and each tightening is a `limits` journal record with who
 * and why. An engine restarted over the same journal with the limits it was started with (the
 * supervisor runs the same `warden run --limits FILE`) must not drop an operator's tightening: that
 * would loosen the limits with nobody asking. A fleet's tightenings already survive (every engine
 * reads the store's changes from the first at start); a journal file's must too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type LimitsInput } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

const STARTED_WITH: LimitsInput = { symbols: { '*': { maxQuantity: 10 } } };

function engineOver(path: string) {
  const clock = new VirtualClock(T0);
  const broker = new ScriptedBroker({ clock, latencyMs: 10, push: true });
  broker.onAccepted((o) => clock.setTimeout(() => broker.fill(o.clientOrderId, o.quantity, 1.1), 20));
  const engine = createEngine({ broker, clock, journal: new SqliteJournal(path, clock), logger: silentLogger(), limits: STARTED_WITH });
  return { clock, broker, engine };
}

describe('limits: a tightening survives a restart', () => {
  // Open defect: the restored state carries no `limits` records, so the book starts from the
  // option alone. `it.fails` keeps the suite green until the fix; drop `.fails` with it.
  it.fails('an operator tightens EURUSD to maxQuantity 4; after a restart with the same limits a 6 is still refused, nothing sent', async () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-limits-restart-'));
    const path = join(dir, 'journal.sqlite');
    const first = engineOver(path);
    first.engine.limits.set({ symbols: { EURUSD: { maxQuantity: 4 } } }, { operator: 'ana', reason: 'thin market overnight' });
    await first.engine.close();

    const second = engineOver(path);
    try {
      expect(second.engine.limits.current().symbols.EURUSD?.maxQuantity).toBe(4);
      const result = await second.clock.run(second.engine.execute(snapshot({ advisoryId: 'adv-after-restart', positionSize: 6 })));
      expect(result.status).toBe('rejected');
      expect(result.error?.code).toBe('limit_quantity');
      expect(second.broker.callsOf('submitOrder')).toHaveLength(0);
    } finally {
      await second.engine.close();
    }
  });
});

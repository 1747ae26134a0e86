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
import { adminEngine, applyOperatorCommand } from '../../src/engine/operator.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

const STARTED_WITH: LimitsInput = { symbols: { '*': { maxQuantity: 10 } } };

function engineOver(path: string, options: { limits?: LimitsInput | null; checkpointEvery?: number } = {}) {
  const clock = new VirtualClock(T0);
  const broker = new ScriptedBroker({ clock, latencyMs: 10, push: true });
  broker.onAccepted((o) => clock.setTimeout(() => broker.fill(o.clientOrderId, o.quantity, 1.1), 20));
  const warnings: string[] = [];
  const logger = Object.assign(silentLogger(), { warn: (...args: unknown[]) => void warnings.push(String(args[1] ?? args[0])) });
  const limits = options.limits === undefined ? STARTED_WITH : options.limits;
  const journal = new SqliteJournal(path, clock, options.checkpointEvery === undefined ? {} : { checkpointEvery: options.checkpointEvery });
  const engine = createEngine({ broker, clock, journal, logger, ...(limits === null ? {} : { limits }) });
  return { clock, broker, engine, warnings };
}

const tightenEurusd = (engine: ReturnType<typeof engineOver>['engine']) => engine.limits.set({ symbols: { EURUSD: { maxQuantity: 4 } } }, { operator: 'ana', reason: 'thin market overnight' });

function journalPath(): string {
  dir = mkdtempSync(join(tmpdir(), 'warden-limits-restart-'));
  return join(dir, 'journal.sqlite');
}

describe('limits: a tightening survives a restart with the same limits', () => {
  it('an operator tightens EURUSD to maxQuantity 4; after a restart with the same limits a 6 is still refused, nothing sent', async () => {
    const path = journalPath();
    const first = engineOver(path);
    tightenEurusd(first.engine);
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

  it('carried on across checkpoints and restarts: the tightening stays when the records before the last checkpoint are not read', async () => {
    const path = journalPath();
    const first = engineOver(path, { checkpointEvery: 3 });
    tightenEurusd(first.engine);
    for (let i = 0; i < 3; i++) await first.clock.run(first.engine.execute(snapshot({ advisoryId: `adv-busy-${i}`, positionSize: 2 })));
    await first.engine.close();
    for (let restart = 0; restart < 2; restart++) {
      const next = engineOver(path, { checkpointEvery: 3 });
      try {
        expect(next.engine.limits.current().symbols.EURUSD?.maxQuantity).toBe(4);
        await next.clock.run(next.engine.execute(snapshot({ advisoryId: `adv-restart-${restart}`, positionSize: 2 }))); // records, and checkpoints, after the start
      } finally {
        await next.engine.close();
      }
    }
    const checkpoints = (await new SqliteJournal(path, new VirtualClock(T0), { readOnly: true }).records()).filter((r) => r.kind === 'checkpoint');
    expect(checkpoints.length).toBeGreaterThan(2);
  });

  it('a restart with other limits is a new configuration: the old tightening goes, and the log says so', async () => {
    const path = journalPath();
    const first = engineOver(path);
    tightenEurusd(first.engine);
    await first.engine.close();

    const second = engineOver(path, { limits: { symbols: { '*': { maxQuantity: 8 } } } });
    try {
      expect(second.engine.limits.current()).toEqual({ symbols: { '*': { maxQuantity: 8 } } });
      expect(second.warnings.join('\n')).toMatch(/tightenings of the last process are not carried on/);
    } finally {
      await second.engine.close();
    }
  });

  it('a process in between with no limits ends the tightening: the one after it starts from its own limits', async () => {
    const path = journalPath();
    const first = engineOver(path);
    tightenEurusd(first.engine);
    await first.engine.close();
    const between = engineOver(path, { limits: null });
    expect(between.engine.limits.current()).toEqual({ symbols: {} });
    await between.engine.close();

    const third = engineOver(path);
    try {
      expect(third.engine.limits.current()).toEqual({ symbols: { '*': { maxQuantity: 10 } } });
    } finally {
      await third.engine.close();
    }
  });
});

describe('limits: an engine started without limits is configured too — with none', () => {
  it('started without limits, an operator tightens EURUSD to maxQuantity 4; restarted without limits, a 6 is still refused, nothing sent', async () => {
    const path = journalPath();
    const first = engineOver(path, { limits: null });
    tightenEurusd(first.engine);
    await first.engine.close();

    const second = engineOver(path, { limits: null });
    try {
      expect(second.engine.limits.current()).toEqual({ symbols: { EURUSD: { maxQuantity: 4 } } });
      const result = await second.clock.run(second.engine.execute(snapshot({ advisoryId: 'adv-after-restart', positionSize: 6 })));
      expect(result.error?.code).toBe('limit_quantity');
      expect(second.broker.callsOf('submitOrder')).toHaveLength(0);
      expect(second.warnings.join('\n')).not.toMatch(/not carried on/);
    } finally {
      await second.engine.close();
    }
  });

  it('carried on across checkpoints and restarts without limits', async () => {
    const path = journalPath();
    const first = engineOver(path, { limits: null, checkpointEvery: 3 });
    tightenEurusd(first.engine);
    for (let i = 0; i < 3; i++) await first.clock.run(first.engine.execute(snapshot({ advisoryId: `adv-busy-${i}`, positionSize: 2 })));
    await first.engine.close();
    for (let restart = 0; restart < 2; restart++) {
      const next = engineOver(path, { limits: null, checkpointEvery: 3 });
      try {
        expect(next.engine.limits.current().symbols.EURUSD?.maxQuantity).toBe(4);
        await next.clock.run(next.engine.execute(snapshot({ advisoryId: `adv-restart-${restart}`, positionSize: 2 })));
      } finally {
        await next.engine.close();
      }
    }
  });

  it('restarted with limits after starting without: a new configuration, the old tightening goes, and the log says so', async () => {
    const path = journalPath();
    const first = engineOver(path, { limits: null });
    tightenEurusd(first.engine);
    await first.engine.close();

    const second = engineOver(path);
    try {
      expect(second.engine.limits.current()).toEqual({ symbols: { '*': { maxQuantity: 10 } } });
      expect(second.warnings.join('\n')).toMatch(/tightenings of the last process are not carried on/);
    } finally {
      await second.engine.close();
    }
  });

  it('a journal written before an engine without limits journaled its start (a tightening, no start) is read as that: carried on without limits', async () => {
    const path = journalPath();
    const clock = new VirtualClock(T0);
    const older = new SqliteJournal(path, clock);
    const to = { symbols: { EURUSD: { maxQuantity: 4 } } };
    older.append({ kind: 'limits', executionId: null, advisoryId: null, snapshotHash: null, event: 'tighten', payload: { at: new Date(T0).toISOString(), operator: 'ana', reason: 'thin market overnight', change: to, from: { symbols: {} }, to } });
    await older.close();

    const next = engineOver(path, { limits: null });
    try {
      expect(next.engine.limits.current()).toEqual(to);
    } finally {
      await next.engine.close();
    }
  });
});

/**
 * The CLI's own engine (`warden kill-switch set|show`, `warden resolve` with no engine running: an
 * administrative engine, `recover: false`) is no next process. It starts with no limits of its own;
 * read as a restart with other limits, it journaled a new start and the operator's tightening was
 * gone at the real restart (an 800 went through a maxQuantity tightened to 4), and opened read-only
 * it tried that write, failed, and `kill-switch show` reported a journal hold nobody had.
 */
describe('limits: the CLI acting on a journal with no engine running leaves its limits as they stand', () => {
  it('a kill switch set and lifted on another symbol with no engine running; the restart with the same limits still refuses a 6', async () => {
    const path = journalPath();
    const first = engineOver(path);
    tightenEurusd(first.engine);
    await first.engine.close();

    for (const state of ['active', 'off'] as const) {
      const outcome = await applyOperatorCommand(path, { kind: 'kill_switch', state, symbol: 'GBPUSD', reason: 'news', operator: 'ops' });
      expect(outcome).toMatchObject({ ok: true, appliedBy: 'direct' });
    }
    const records = await new SqliteJournal(path, new VirtualClock(T0), { readOnly: true }).records();
    expect(records.filter((r) => r.kind === 'limits' && r.event === 'start')).toHaveLength(1);

    const next = engineOver(path);
    try {
      expect(next.engine.limits.current().symbols.EURUSD?.maxQuantity).toBe(4);
      const result = await next.clock.run(next.engine.execute(snapshot({ advisoryId: 'adv-after-cli', positionSize: 6 })));
      expect(result.error?.code).toBe('limit_quantity');
      expect(next.broker.callsOf('submitOrder')).toHaveLength(0);
    } finally {
      await next.engine.close();
    }
  });

  it('an engine the host starts with recover: false and limits of its own enforces those limits', async () => {
    const path = journalPath();
    const first = engineOver(path, { limits: { symbols: { '*': { maxQuantity: 1_000 } } } });
    await first.engine.close();
    const clock = new VirtualClock(T0);
    const broker = new ScriptedBroker({ clock, latencyMs: 10 });
    const engine = createEngine({ broker, clock, journal: new SqliteJournal(path, clock), logger: silentLogger(), recover: false, limits: { symbols: { '*': { maxQuantity: 5 } } } });
    try {
      expect(engine.limits.current().symbols['*']?.maxQuantity).toBe(5);
      const result = await clock.run(engine.execute(snapshot({ advisoryId: 'adv-own-limits', positionSize: 10 })));
      expect(result.error?.code).toBe('limit_quantity');
      expect(broker.callsOf('submitOrder')).toHaveLength(0);
    } finally {
      await engine.close();
    }
  });

  it('read-only (kill-switch show): the limits in force are shown, no hold is invented and nothing is written', async () => {
    const path = journalPath();
    const first = engineOver(path);
    tightenEurusd(first.engine);
    await first.engine.close();
    const before = (await new SqliteJournal(path, new VirtualClock(T0), { readOnly: true }).records()).length;

    const { engine } = adminEngine(path, { readOnly: true });
    try {
      expect(engine.killSwitch.holds()).toEqual([]);
      expect(engine.killSwitch.state()).toBe('off');
      expect(engine.limits.current().symbols.EURUSD?.maxQuantity).toBe(4);
    } finally {
      await engine.close();
    }
    expect((await new SqliteJournal(path, new VirtualClock(T0), { readOnly: true }).records()).length).toBe(before);
  });
});

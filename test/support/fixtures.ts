import { createEngine, freezeSnapshot, type ClientOrderIdDurability, type EngineOptions, type FrozenSnapshot, type SnapshotFields } from '../../src/index.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { pino } from 'pino';
import { checkInvariants } from './invariants.js';

export const T0 = Date.parse('2026-11-24T10:00:00.000Z');
export const iso = (ms: number) => new Date(ms).toISOString();

/** A valid, approved snapshot; `overrides` replace fields (use `undefined` to drop one). */
export function rawSnapshot(overrides: Partial<Record<keyof SnapshotFields, unknown>> = {}): Record<string, unknown> {
  const side = (overrides.side as string | undefined) ?? 'buy';
  const base: Record<string, unknown> = {
    advisoryId: 'adv-1',
    symbol: 'EURUSD',
    side,
    positionSize: 10,
    referencePrice: 1.1,
    slOffsetPct: side === 'buy' ? -0.01 : 0.01,
    tpOffsetPct: side === 'buy' ? 0.02 : -0.02,
    expiresAt: iso(T0 + 3_600_000),
    createdAt: iso(T0 - 120_000),
    approval: { approvedBy: 'alice', approvedAt: iso(T0 - 60_000) },
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  return base;
}

export const snapshot = (overrides: Partial<Record<keyof SnapshotFields, unknown>> = {}): FrozenSnapshot => freezeSnapshot(rawSnapshot(overrides));

export const silentLogger = () => pino({ level: 'silent' });

/** A pino logger whose lines land in `lines` (parsed), for tests that check what was logged. */
export function capturingLogger() {
  const lines: { level: number; msg: string; [key: string]: unknown }[] = [];
  const logger = pino({ level: 'trace' }, { write: (chunk: string) => void lines.push(JSON.parse(chunk)) });
  return { logger, lines };
}

/** A virtual clock, a scripted broker on it, and an engine on both. */
export function harness(options: { push?: boolean; latencyMs?: number; pollIntervalMs?: number; durability?: ClientOrderIdDurability; engine?: Partial<EngineOptions> } = {}) {
  const clock = new VirtualClock(T0);
  const broker = new ScriptedBroker({ clock, latencyMs: options.latencyMs ?? 10, push: options.push ?? true, ...(options.durability ? { clientOrderIdDurability: options.durability } : {}) });
  const engine = createEngine({ broker, clock, logger: silentLogger(), pollIntervalMs: options.pollIntervalMs ?? 500, ...options.engine });
  /** Fill the whole order `afterMs` after the venue accepts it. */
  const fillOnAccept = (afterMs: number, price: number, quantity?: number) =>
    broker.onAccepted((o) => clock.setTimeout(() => broker.fill(o.clientOrderId, quantity ?? o.quantity, price), afterMs));
  const run = <T>(p: Promise<T>) => clock.run(p);
  /** Executes `s` (or awaits an execution already started) and checks the DESIGN §8 invariants on the outcome. */
  const finish = async (s: FrozenSnapshot, started?: ReturnType<typeof engine.execute>) => {
    const result = await run(started ?? engine.execute(s));
    checkInvariants({ result, snapshot: s, journal: await engine.journal.records(), venue: broker.venue });
    return result;
  };
  return { clock, broker, engine, fillOnAccept, run, finish };
}

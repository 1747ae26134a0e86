/**
 * A trading desk for the console tests: an engine on a durable journal, a paper broker in the same
 * process, and the console serving that journal on a free loopback port.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, PaperBroker, type Engine, type PaperMarket, type PositionReport } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { startConsole, type RunningConsole } from '../../src/entries/console.js';
import { silentLogger } from './fixtures.js';
import type { ConsoleOperator } from '../../src/console/operators.js';

export const OPERATOR_TOKEN = 'desk-token-0123456789abcdef';

/** A paper venue whose position report can be made to disagree with Warden's record (a position opened by hand). */
export class DeskBroker extends PaperBroker {
  /** Extra quantity reported on a symbol, as if someone traded it elsewhere. */
  readonly elsewhere = new Map<string, number>();
  override async getPosition(symbol: string): Promise<PositionReport> {
    const p = await super.getPosition(symbol);
    const extra = this.elsewhere.get(symbol) ?? 0;
    return extra === 0 ? p : { ...p, quantity: p.quantity + extra };
  }
}

export interface Desk {
  readonly dir: string;
  readonly path: string;
  readonly broker: DeskBroker;
  readonly engine: Engine;
  readonly console: RunningConsole;
  /** A valid, approved snapshot made now (the wall clock, whatever it says). */
  snapshot(advisoryId: string, symbol: string, side?: 'buy' | 'sell'): Record<string, unknown>;
  close(): Promise<void>;
}

export async function openDesk(markets: Record<string, PaperMarket>, options: { token?: string | null; operators?: readonly ConsoleOperator[] } = {}): Promise<Desk> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-desk-'));
  const path = join(dir, 'desk.journal.sqlite');
  const broker = new DeskBroker({ seed: 7, latencyMs: [1, 3], markets });
  const engine = createEngine({ broker, journal: new SqliteJournal(path), logger: silentLogger(), pollIntervalMs: 200 });
  const running = await startConsole({ journal: path, token: options.token === undefined ? OPERATOR_TOKEN : options.token, ...(options.operators ? { operators: options.operators } : {}), port: 0, pollMs: 50 });
  const prices = Object.fromEntries(Object.entries(markets).map(([s, m]) => [s, m.price]));
  return {
    dir,
    path,
    broker,
    engine,
    console: running,
    snapshot(advisoryId, symbol, side = 'buy') {
      const now = Date.now();
      const price = prices[symbol] ?? 1;
      return {
        advisoryId,
        symbol,
        side,
        positionSize: 1,
        referencePrice: price,
        slOffsetPct: side === 'buy' ? -0.01 : 0.01,
        tpOffsetPct: side === 'buy' ? 0.02 : -0.02,
        createdAt: new Date(now - 60_000).toISOString(),
        expiresAt: new Date(now + 600_000).toISOString(),
        approval: { approvedBy: 'alice', approvedAt: new Date(now - 30_000).toISOString() },
      };
    },
    async close() {
      await running.close();
      await engine.close();
    },
  };
}

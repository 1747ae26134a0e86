/**
 * A cluster on one machine, loopback only: a real embedded PostgreSQL, the paper broker service
 * (in this process, so its book can be read directly) and engine processes, each with its own
 * writer id. Used by test/fleet, `npm run demo:cluster` and `npm run soak:cluster`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freezeSnapshot, type FrozenSnapshot } from '../../src/index.js';
import { startPaperService, type PaperService } from '../../src/entries/adapters.js';
import { PostgresStore, startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/entries/postgres.js';
import type { PaperMarket } from '../../src/broker/paperBroker.js';
import type { LimitsInput } from '../../src/domain/limits.js';
import type { EngineCommand, EngineEvent } from './protocol.js';
import { startLatencyProxy, type LatencyProxy } from './latencyProxy.js';

/** Bound on an engine process starting (tsx, connecting, the fleet kill switch confirmed). */
const ENGINE_START_TIMEOUT_MS = 45_000;
const ENGINE_SCRIPT = fileURLToPath(new URL('./engineProcess.ts', import.meta.url));

export interface ClusterEngine {
  readonly name: string;
  readonly pid: number;
  send(command: EngineCommand): void;
  /** Whether the process still runs. */
  alive(): boolean;
  kill(signal: NodeJS.Signals): void;
}

export interface Cluster {
  readonly db: EmbeddedPostgres;
  readonly paper: PaperService;
  readonly engines: ClusterEngine[];
  readonly events: EngineEvent[];
  readonly leaseTtlMs: number;
  /** Starts one more engine process (a fresh writer id) and waits until it is ready. */
  spawnEngine(name: string, options?: EngineSpawnOptions): Promise<ClusterEngine>;
  /** The first event from index `from` on for which `match` returns a value; rejects after `timeoutMs`. */
  waitFor<T>(match: (event: EngineEvent) => T | undefined, timeoutMs: number, from?: number): Promise<T>;
  /** A store of the harness's own, to read and verify what the engines wrote. */
  observer(): Promise<PostgresStore>;
  stop(): Promise<void>;
}

/** How one engine process differs from the rest: its way to the database, its clock. */
export interface EngineSpawnOptions {
  /** The database URL this engine uses (e.g. through a latency proxy); default the server's own. */
  readonly databaseUrl?: string;
  /** How far this engine's wall clock is off (ms, + ahead). */
  readonly clockSkewMs?: number;
  /** What its broker declares of client order ids (default: the paper service's own, `durable`). */
  readonly durability?: 'openOrdersOnly' | 'none';
  /** Its pre-trade limits (`createEngine({ limits })`). */
  readonly limits?: LimitsInput;
  /** `engine`: it counts only its own executions (its store hides the fleet's ledger), as before the fleet had one. */
  readonly ledger?: 'fleet' | 'engine';
}

/** How the engines reach the paper venue (`ClusterOptions.venue`). */
export type ClusterVenue = 'push' | 'push-single' | 'poll';

export interface ClusterOptions {
  readonly engines: number;
  readonly leaseTtlMs: number;
  readonly markets: Readonly<Record<string, PaperMarket>>;
  /** Hears every event as it arrives. */
  readonly onEvent?: (event: EngineEvent) => void;
  /** Where PostgreSQL keeps its data (removed at stop). */
  readonly dir?: string;
  /** Every engine reaches PostgreSQL through a loopback proxy adding this delay each way (ms). */
  readonly latencyMs?: number;
  /** Per engine (by index) of the first `engines`: its own database URL or clock skew. */
  readonly engineOptions?: (index: number, databaseUrl: string) => EngineSpawnOptions;
  /**
   * `push` (default): the venue pushes order reports, engines poll once a second and cancel many
   * orders with one batch request; `push-single`: the same with one cancel request per order (a
   * venue without a batch cancel, as OANDA's v20); `poll`: no pushes, polls every 100 ms, one
   * cancel request per order.
   */
  readonly venue?: ClusterVenue;
}

/** An approved snapshot valid for ten minutes from now (nothing depends on today's date). */
export function clusterSnapshot(advisoryId: string, symbol: string, price: number, side: 'buy' | 'sell' = 'buy'): FrozenSnapshot {
  const now = Date.now();
  return freezeSnapshot({
    advisoryId,
    symbol,
    side,
    positionSize: 10,
    referencePrice: price,
    slOffsetPct: side === 'buy' ? -0.01 : 0.01,
    tpOffsetPct: side === 'buy' ? 0.02 : -0.02,
    createdAt: new Date(now - 60_000).toISOString(),
    expiresAt: new Date(now + 600_000).toISOString(),
    approval: { approvedBy: 'alice', approvedAt: new Date(now - 30_000).toISOString() },
  });
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const db = await startEmbeddedPostgres({ dir: options.dir ?? '.cache/postgres-cluster' });
  const children = new Set<ChildProcess>();
  const observers: PostgresStore[] = [];
  const events: EngineEvent[] = [];
  const waiters = new Set<() => void>();
  let paper: PaperService | null = null;
  let proxy: LatencyProxy | null = null;
  const stop = async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const o of observers) await o.close().catch(() => undefined);
    await paper?.close();
    await proxy?.close();
    await db.stop();
  };
  try {
    if (options.latencyMs !== undefined && options.latencyMs > 0) proxy = await startLatencyProxy(db.port, options.latencyMs);
    const engineUrl = proxy ? proxy.via(db.url) : db.url;
    paper = await startPaperService({ port: 0, seed: 7, latencyMs: [2, 10], markets: options.markets });
    const service = paper;
    const spawnEngine = (name: string, how: EngineSpawnOptions = {}) =>
      new Promise<ClusterEngine>((resolve, reject) => {
        const args = [ENGINE_SCRIPT, name, how.databaseUrl ?? engineUrl, service.url, String(options.leaseTtlMs), String(how.clockSkewMs ?? 0), how.durability ?? 'declared'];
        const env = { ...process.env, WARDEN_CLUSTER_LIMITS: how.limits === undefined ? '' : JSON.stringify(how.limits), WARDEN_CLUSTER_LEDGER: how.ledger ?? 'fleet', WARDEN_CLUSTER_VENUE: options.venue ?? process.env.WARDEN_CLUSTER_VENUE ?? 'push' };
        const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
        children.add(child);
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4_000)));
        child.stdin!.on('error', () => undefined); // a killed engine's stdin is gone
        const engine: ClusterEngine = {
          name,
          pid: child.pid!,
          send: (command) => void child.stdin!.write(`${JSON.stringify(command)}\n`),
          alive: () => child.exitCode === null && child.signalCode === null,
          kill: (signal) => void child.kill(signal),
        };
        const timer = setTimeout(() => reject(new Error(`engine ${name} did not start within ${ENGINE_START_TIMEOUT_MS} ms: ${stderr}`)), ENGINE_START_TIMEOUT_MS);
        child.on('exit', (code, signal) => {
          clearTimeout(timer);
          if (code !== 0 && signal === null) reject(new Error(`engine ${name} exited ${code}: ${stderr}`));
        });
        createInterface({ input: child.stdout! }).on('line', (line) => {
          let event: EngineEvent;
          try {
            event = JSON.parse(line) as EngineEvent;
          } catch {
            return; // not ours (a stray print)
          }
          events.push(event);
          options.onEvent?.(event);
          if (event.type === 'ready') {
            clearTimeout(timer);
            resolve(engine);
          }
          for (const w of [...waiters]) w();
        });
      });
    const engines = await Promise.all(Array.from({ length: options.engines }, (_, i) => spawnEngine(`engine-${String.fromCharCode(97 + i)}`, options.engineOptions?.(i, db.url))));
    return {
      db,
      paper,
      engines,
      events,
      leaseTtlMs: options.leaseTtlMs,
      async spawnEngine(name, how) {
        const engine = await spawnEngine(name, how);
        engines.push(engine);
        return engine;
      },
      waitFor<T>(match: (event: EngineEvent) => T | undefined, timeoutMs: number, from = 0) {
        return new Promise<T>((resolve, reject) => {
          let seen = from;
          const check = () => {
            for (; seen < events.length; seen++) {
              const found = match(events[seen]!);
              if (found !== undefined) {
                waiters.delete(check);
                clearTimeout(timer);
                resolve(found);
                return;
              }
            }
          };
          const timer = setTimeout(() => {
            waiters.delete(check);
            reject(new Error(`no matching event within ${timeoutMs} ms`));
          }, timeoutMs);
          waiters.add(check);
          check();
        });
      },
      async observer() {
        const store = await PostgresStore.connect(db.url, { writer: `observer-${process.pid}-${observers.length}` });
        observers.push(store);
        return store;
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

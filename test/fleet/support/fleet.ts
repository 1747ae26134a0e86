/** A fleet of engine processes over one PostgreSQL and one paper broker service, for tests. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ExecutionResult } from '../../../src/index.js';
import { iso, rawSnapshot } from '../../support/fixtures.js';

const script = fileURLToPath(new URL('./engineProcess.ts', import.meta.url));
/** Bound on any one answer from an engine process (start-up included). */
const ANSWER_TIMEOUT_MS = 30_000;

export interface EngineProcess {
  readonly writer: string;
  send(command: object): void;
  /** The next message of `type`, within ANSWER_TIMEOUT_MS. */
  next<T = Record<string, unknown>>(type: string): Promise<T>;
  kill(): void;
}

export function startEngineProcess(databaseUrl: string, brokerUrl: string, writer: string): EngineProcess {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--import', 'tsx', script, databaseUrl, brokerUrl, writer], { stdio: 'pipe' });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4_000)));
  const queue: Record<string, unknown>[] = [];
  const waiting: { type: string; resolve: (m: Record<string, unknown>) => void }[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const message = JSON.parse(line) as Record<string, unknown>;
    const i = waiting.findIndex((w) => w.type === message.type);
    if (i >= 0) waiting.splice(i, 1)[0]!.resolve(message);
    else queue.push(message);
  });
  return {
    writer,
    send: (command) => child.stdin.write(`${JSON.stringify(command)}\n`),
    next: <T>(type: string) =>
      new Promise<T>((resolve, reject) => {
        const i = queue.findIndex((m) => m.type === type);
        if (i >= 0) return resolve(queue.splice(i, 1)[0] as T);
        const timer = setTimeout(() => reject(new Error(`engine ${writer} sent no ${type} within ${ANSWER_TIMEOUT_MS} ms; stderr: ${stderr}`)), ANSWER_TIMEOUT_MS);
        waiting.push({ type, resolve: (m) => (clearTimeout(timer), resolve(m as T)) });
      }),
    kill: () => child.kill('SIGKILL'),
  };
}

/** Raw snapshots valid now (the engines read the system clock), one per advisory id. */
export function freshSnapshots(ids: readonly string[], symbol = 'EURUSD'): Record<string, unknown>[] {
  const now = Date.now();
  return ids.map((advisoryId) =>
    rawSnapshot({ advisoryId, symbol, positionSize: 1, createdAt: iso(now - 60_000), expiresAt: iso(now + 3_600_000), approval: { approvedBy: 'alice', approvedAt: iso(now - 30_000) } }),
  );
}

export type Results = { results: ExecutionResult[] };

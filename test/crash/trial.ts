/**
 * One kill/restart trial: a batch of snapshots executed by a child `warden run` process against
 * the paper broker service, SIGKILLed at a random moment, then `warden recover`. Returns every
 * problem found (empty when all is well). Shared by the crash test and `npm run soak:crash`.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientOrderIdFor, freezeSnapshot, type ExecutionResult, type FrozenSnapshot } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { startPaperService } from '../../src/entries/adapters.js';
import { seededRandom } from '../../src/broker/paperBroker.js';

const SYMBOLS = ['EURUSD', 'GBPUSD', 'USDJPY', 'AUDUSD', 'USDCHF', 'NZDUSD'];

/** How far the child has got, read from its journal while it runs (read-only; WAL allows it). */
function claimsSoFar(journalPath: string): number {
  try {
    const db = new Database(journalPath, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare("SELECT count(*) AS n FROM records WHERE kind = 'claim'").get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0; // not created yet
  }
}

/** Runs the CLI; with `kill`, SIGKILLs it `afterMs` after `when()` first holds (or at `deadlineMs` regardless). */
function runWarden(args: string[], kill?: { when: () => boolean; afterMs: number; deadlineMs: number }): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/warden.mjs', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const started = Date.now();
    let armed = false;
    const poll = kill
      ? setInterval(() => {
          if (armed) return;
          if (kill.when() || Date.now() - started > kill.deadlineMs) {
            armed = true;
            setTimeout(() => child.kill('SIGKILL'), kill.afterMs);
          }
        }, 5)
      : null;
    child.on('exit', (code, signal) => {
      if (poll) clearInterval(poll);
      resolve({ code, signal, stderr });
    });
  });
}

export interface TrialOutcome {
  readonly problems: string[];
  readonly killed: boolean;
  readonly killAfterMs: number;
  readonly recordsBeforeKill: number;
  /** Executions the kill left unfinished (claimed, no result): what recovery had to resume. */
  readonly unfinishedAtKill: number;
  readonly results: number;
}

export async function crashTrial(seed: number, size = 5): Promise<TrialOutcome> {
  const random = seededRandom(seed);
  const dir = mkdtempSync(join(tmpdir(), `warden-crash-${seed}-`));
  const journalPath = join(dir, 'journal.sqlite');
  const markets = Object.fromEntries(
    SYMBOLS.map((s, i) => [s, { price: 1 + i / 10, slippageBps: 0, fillSteps: [{ afterMs: 100 + Math.floor(random() * 300), fraction: 0.5 }, { afterMs: 400 + Math.floor(random() * 600), fraction: 0.5 }] }]),
  );
  const service = await startPaperService({ port: 0, seed, latencyMs: [10, 40], markets, stateFile: join(dir, 'paper.json') });
  const problems: string[] = [];
  try {
    const now = Date.now();
    const snapshots: FrozenSnapshot[] = Array.from({ length: size }, (_, i) =>
      freezeSnapshot({
        advisoryId: `crash-${seed}-${i}`, symbol: SYMBOLS[i % SYMBOLS.length]!, side: i % 2 ? 'sell' : 'buy', positionSize: 10, referencePrice: 1 + (i % SYMBOLS.length) / 10,
        slOffsetPct: i % 2 ? 0.01 : -0.01, tpOffsetPct: i % 2 ? -0.02 : 0.02,
        createdAt: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 600_000).toISOString(),
        approval: { approvedBy: 'alice', approvedAt: new Date(now - 30_000).toISOString() },
      }),
    );
    const batch = join(dir, 'batch.json');
    writeFileSync(batch, JSON.stringify(snapshots));

    // Kill once a seeded number of executions have started, after a seeded extra delay: before a
    // send, after it, while working, before protection, during reconciliation, depending on the seed.
    const claimsBeforeKill = 1 + Math.floor(random() * size);
    const killAfterMs = Math.floor(random() * 700);
    const first = await runWarden(['run', batch, '--broker', service.url, '--journal', journalPath], {
      when: () => claimsSoFar(journalPath) >= claimsBeforeKill,
      afterMs: killAfterMs,
      deadlineMs: 20_000,
    });
    const killed = first.signal === 'SIGKILL';

    const before = new SqliteJournal(journalPath);
    const recordsBefore = before.readAll();
    await before.close();
    const finishedBefore = new Set(recordsBefore.filter((r) => r.kind === 'result').map((r) => r.executionId));
    const unfinishedAtKill = recordsBefore.filter((r) => r.kind === 'claim' && !finishedBefore.has(r.executionId)).length;

    const second = await runWarden(['recover', '--broker', service.url, '--journal', journalPath]);
    if (second.code !== 0 && second.code !== 1) problems.push(`recover exited ${second.code}: ${second.stderr.trim().split('\n').at(-1)}`);

    const journal = new SqliteJournal(journalPath);
    const records = journal.readAll();
    if (!(await journal.verify()).ok) problems.push('journal verification failed');
    // Nothing journaled before the kill is lost or changed.
    recordsBefore.forEach((r, i) => {
      if (records[i]?.hash !== r.hash) problems.push(`record ${r.sequence} changed or lost after the restart`);
    });
    const results = new Map<string, ExecutionResult>();
    for (const r of records) if (r.kind === 'result' && r.advisoryId) results.set(r.advisoryId, r.payload as ExecutionResult);
    const claimed = new Set(records.filter((r) => r.kind === 'claim').map((r) => r.advisoryId));
    const venue = service.broker.venue.snapshot();
    for (const s of snapshots) {
      const orders = venue.orders.filter((o) => o.clientOrderId === clientOrderIdFor(s));
      if (orders.length > 1) problems.push(`${s.advisoryId}: ${orders.length} orders at the broker`);
      const quantity = orders.reduce((q, o) => q + o.quantity, 0);
      if (quantity > s.positionSize) problems.push(`${s.advisoryId}: ${quantity} ordered, above ${s.positionSize}`);
      if (!claimed.has(s.advisoryId)) {
        // Killed before it started: it must not exist at the broker either.
        if (orders.length > 0) problems.push(`${s.advisoryId}: an order exists without a claim in the journal`);
        continue;
      }
      const result = results.get(s.advisoryId);
      if (!result) {
        problems.push(`${s.advisoryId}: no final status after recovery`);
        continue;
      }
      const filled = orders[0]?.filledQuantity ?? 0;
      if (filled > 0 && !(result.protectionPlaced || result.requiresManualResolution)) problems.push(`${s.advisoryId}: ${filled} filled, neither protected nor flagged`);
      if (Math.abs(filled - result.filledQuantity) > 1e-9 && !result.requiresManualResolution) problems.push(`${s.advisoryId}: broker filled ${filled}, result says ${result.filledQuantity}, not flagged`);
    }
    const unexpected = venue.orders.filter((o) => !snapshots.some((s) => clientOrderIdFor(s) === o.clientOrderId));
    if (unexpected.length > 0) problems.push(`${unexpected.length} orders at the broker belong to no snapshot`);
    await journal.close();
    return { problems, killed, killAfterMs, recordsBeforeKill: recordsBefore.length, unfinishedAtKill, results: results.size };
  } finally {
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

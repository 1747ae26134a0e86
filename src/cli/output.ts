/** What run and recover print: live progress on stderr, the results table (or JSON), the operational log. */
import type { ExecutionResult } from '../index.js';
import { createDefaultLogger } from '../engine/logger.js';
import { reasonOf } from '../journal/reasons.js';
import { opt, type Args } from './args.js';

/**
 * The operational log of run and recover: its own file (--log-file, default beside the journal),
 * never mixed into the human progress on stderr; credentials redacted as by the library.
 */
export function operationalLogger(a: Args, journalFile: string) {
  const file = opt(a, '--log-file') ?? `${journalFile}.log`;
  process.stderr.write(`  logs: ${file}\n`);
  return createDefaultLogger({ level: 'info', destination: file });
}

/** The results, one row each. */
export function table(results: readonly ExecutionResult[]): string {
  const rows = results.map((r) => [r.advisoryId ?? '(invalid)', r.status, String(r.filledQuantity), r.fillPrice?.toString() ?? '-', r.stopLoss?.toString() ?? '-', r.takeProfit?.toString() ?? '-', r.requiresManualResolution ? 'YES' : 'no', r.status === 'filled' && !r.requiresManualResolution ? '' : reasonOf(r, { detail: true })]);
  const header = ['advisory', 'status', 'filled', 'fill price', 'SL', 'TP', 'manual', 'reason'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/**
 * Live progress on stderr: one line per change of state (never a repeat), with the time since the
 * execution started and the time left to its hard deadline.
 */
export function progressPrinter() {
  const last = new Map<string, string>();
  const advisories = new Map<string, string>();
  const started = new Map<string, number>();
  const clientOrderIds = new Map<string, string>();
  const before = new Map<string, string>();
  const loops = new Map<string, { a: string; b: string; turns: number }>();
  const name = (v: unknown): string => (typeof v === 'string' ? v : Object.entries(v as object).map(([k, x]) => `${k}.${name(x)}`)[0]!);
  const inspect = (ev: { type: string; actorRef: { sessionId: string }; rootId?: string; snapshot?: unknown }) => {
    if (ev.type !== '@xstate.microstep' || ev.actorRef.sessionId !== ev.rootId) return;
    const snap = ev.snapshot as { value: unknown; context: { executionId: string; clientOrderId: string | null; snapshot: { advisoryId: string } | null; deadline: { at: number } | null } };
    const id = snap.context.executionId;
    if (snap.context.clientOrderId) clientOrderIds.set(id, snap.context.clientOrderId);
    const state = name(snap.value);
    if (last.get(id) === state) return;
    const previous = last.get(id);
    last.set(id, state);
    // A loop between two states (look up, pause, look up…) is one line and a count, not hundreds.
    const loop = loops.get(id);
    if (loop && (state === loop.a || state === loop.b)) {
      loop.turns++;
      return;
    }
    if (loop) {
      loops.delete(id);
      if (loop.turns > 0) process.stderr.write(`  ${''.padEnd(24)} … ${loop.a} ↔ ${loop.b} ${Math.ceil(loop.turns / 2)} more time(s)\n`);
    }
    if (previous !== undefined && before.get(id) === state) loops.set(id, { a: state, b: previous, turns: 0 });
    if (previous !== undefined) before.set(id, previous);
    const now = Date.now();
    if (!started.has(id)) started.set(id, now);
    const advisory = snap.context.snapshot?.advisoryId ?? '(invalid input)';
    advisories.set(id, advisory);
    const elapsed = `+${((now - started.get(id)!) / 1000).toFixed(1)} s`;
    const deadlineAt = snap.context.deadline?.at ?? null;
    const left = deadlineAt === null ? '' : deadlineAt > now ? `  ${((deadlineAt - now) / 1000).toFixed(1)} s to deadline` : '  past deadline';
    process.stderr.write(`  ${advisory.padEnd(24)} ${state.padEnd(34)} ${elapsed.padStart(8)}${left}\n`);
  };
  /** What each execution still in flight is doing, and what it will do next. */
  const inFlight = (): string[] =>
    [...last.entries()]
      .filter(([, state]) => !/^(completed|rejected|resolved|flagged)$/.test(state))
      .map(([id, state]) => {
        const next = state.startsWith('live.trading') ? 'works until filled, cancelled or its deadline; then protection and reconciliation' : 'protection and reconciliation';
        return `  ${(advisories.get(id) ?? id).padEnd(24)} ${state}: ${next}`;
      });
  /** The clientOrderId of each execution still in flight that reached the venue. */
  const live = (): string[] =>
    [...last.entries()]
      .filter(([id, state]) => state.startsWith('live.') && clientOrderIds.has(id))
      .map(([id, state]) => `  ${(advisories.get(id) ?? id).padEnd(24)} clientOrderId ${clientOrderIds.get(id)}  (${state})`);
  return { inspect, inFlight, live };
}

/** Prints the results (a table, or JSON with --json); exit 1 if any needs resolution or did not fill. */
export async function report(results: readonly ExecutionResult[], a: Args): Promise<number> {
  console.log(a.flags.has('--json') ? JSON.stringify(results, null, 2) : table(results));
  return results.some((r) => r.requiresManualResolution || (r.status !== 'filled' && r.status !== 'executed_full_late')) ? 1 : 0;
}

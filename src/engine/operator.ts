/**
 * An operator's command (kill switch, resolve) applied to a journal file from outside the engine
 * that runs on it: the CLI and the console both act through here, so both do exactly the same.
 *
 * When a process writes the journal, the command goes to it through the journal's inbox and that
 * engine applies it to its executions in flight. When nobody does, the journal is opened as its
 * writer for the moment the change takes, and closed again.
 */
import { pino } from 'pino';
import type { BrokerAdapter } from '../broker/types.js';
import { JournalError, type CommandOutcome, type OperatorCommand } from '../journal/types.js';
import { SqliteJournal } from '../journal/sqliteJournal.js';
import { createEngine } from './createEngine.js';
import { afterResolve, remainingHolds } from './holdWords.js';
import type { Engine } from './types.js';

/**
 * What became of an operator's command, and who applied it.
 *
 * @example
 * const outcome: OperatorOutcome = await applyOperatorCommand('data/warden.journal.sqlite', command);
 * if (outcome.appliedBy === 'engine') console.log(`applied by the engine in pid ${outcome.pid}`);
 */
export interface OperatorOutcome extends CommandOutcome {
  /** `engine`: the process writing the journal applied it; `direct`: nobody was, so it was written here. */
  readonly appliedBy: 'engine' | 'direct';
  /** The pid of the engine that applied it, when one did. */
  readonly pid?: number;
}

/**
 * An engine for administration over a journal: it never talks to a broker and resumes nothing.
 *
 * @example
 * const { engine } = adminEngine('data/warden.journal.sqlite', { readOnly: true });
 * console.log(engine.killSwitch.state(), engine.awaitingResolution().length);
 * await engine.close();
 */
export function adminEngine(path: string, { readOnly = false }: { readOnly?: boolean } = {}): { journal: SqliteJournal; engine: Engine } {
  const journal = new SqliteJournal(path, undefined, { readOnly });
  const refuse = () => Promise.reject(new Error('administrative engine: no broker'));
  const broker: BrokerAdapter = { name: 'none', submitOrder: refuse, cancelOrder: refuse, getOrder: refuse, getPosition: refuse, placeProtection: refuse };
  return { journal, engine: createEngine({ broker, journal, recover: false, logger: pino({ level: 'silent' }) }) };
}

/**
 * Applies `command` to the journal at `path`. Bad input (an unknown advisory, an empty reason) is
 * an outcome with `ok: false` and changes nothing; a journal that cannot be opened throws its
 * `JournalError`.
 *
 * @example
 * const outcome = await applyOperatorCommand('data/warden.journal.sqlite', { kind: 'kill_switch', state: 'active', symbol: 'EURUSD', reason: 'news', operator: 'ana' });
 * console.log(outcome.message); // "EURUSD: off → active (1 execution in flight told)"
 */
export async function applyOperatorCommand(path: string, command: OperatorCommand): Promise<OperatorOutcome> {
  const writer = SqliteJournal.writerOf(path);
  if (writer) {
    try {
      return { ...(await SqliteJournal.submitCommand(path, command)), appliedBy: 'engine', pid: writer.pid };
    } catch (e) {
      // The writer went away between the look and the hand-over: nobody holds the journal now.
      if (!(e instanceof JournalError && e.code === 'no_answer' && SqliteJournal.writerOf(path) === null)) throw e;
    }
  }
  // Limits are the running engine's: with none running, the next one starts with its own (--limits FILE).
  if (command.kind === 'limits') return { ok: false, message: `no engine is running on ${path}: limits are set when an engine starts (warden run --limits FILE)`, appliedBy: 'direct' };
  const { engine } = adminEngine(path);
  try {
    if (command.kind === 'kill_switch') {
      const change = engine.killSwitch.set(command.state, { ...(command.symbol ? { symbol: command.symbol } : {}), reason: command.reason, operator: command.operator });
      return { ok: true, message: `${change.symbol ?? 'global'}: ${change.from} → ${change.to} (no engine is running on this journal)${remainingHolds(change.remaining)}`, appliedBy: 'direct' };
    }
    const before = engine.killSwitch.holds();
    engine.resolve(command.advisoryId, { operator: command.operator, note: command.note });
    return { ok: true, message: `resolved ${command.advisoryId}${afterResolve(command.advisoryId, before, (s) => engine.killSwitch.holds(s))}`, appliedBy: 'direct' };
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message : String(e), appliedBy: 'direct' };
  } finally {
    await engine.close();
  }
}

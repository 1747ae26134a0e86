/**
 * The command inbox of a SQLite journal: operators' commands (kill switch, resolve, limits)
 * written into the journal file by another process, for the one process that writes it. The
 * operator's process inserts a command and waits for its answer; the writer polls the inbox,
 * applies each command once, and stores the answer after what it changed is on disk.
 */
import Database from 'better-sqlite3';
import { z } from 'zod';
import { LimitsSchema } from '../domain/limits.js';
import { liveWriter } from './sqliteWriterLock.js';
import { JournalError, type CommandOutcome, type OperatorCommand } from './types.js';

const CommandSchema: z.ZodType<OperatorCommand> = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('kill_switch'),
    state: z.enum(['off', 'warning', 'active']),
    symbol: z.string().min(1).max(32).optional(),
    reason: z.string().min(1).max(500),
    operator: z.string().min(1).max(100),
  }),
  z.object({ kind: z.literal('resolve'), advisoryId: z.string().min(1).max(128), operator: z.string().min(1).max(100), note: z.string().min(1).max(2000) }),
  z.object({ kind: z.literal('limits'), change: LimitsSchema, operator: z.string().min(1).max(100), reason: z.string().min(1).max(500) }),
]);

/** How often a writer looks for operators' commands. */
const COMMAND_POLL_MS = 200;

/** Operators' commands for the process that writes the journal (kill switch, resolve). Additive: older files gain it. */
export function createCommandInbox(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS commands (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, payload TEXT NOT NULL, applied_at TEXT, outcome TEXT
  )`);
}

/** See {@link SqliteJournal.submitCommand}. */
export async function submitCommand(path: string, command: OperatorCommand, options: { timeoutMs?: number } = {}): Promise<CommandOutcome> {
  const parsed = CommandSchema.safeParse(command);
  if (!parsed.success) throw new JournalError('unreadable', `not a valid command: ${parsed.error.message.slice(0, 300)}`);
  const writer = liveWriter(path);
  if (!writer) throw new JournalError('no_answer', `nobody is writing ${path}: open the journal directly`);
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 2000');
    createCommandInbox(db);
    const id = db.prepare('INSERT INTO commands (at, payload) VALUES (?, ?)').run(new Date().toISOString(), JSON.stringify(parsed.data)).lastInsertRowid;
    const read = db.prepare('SELECT applied_at, outcome FROM commands WHERE id = ?');
    const deadline = Date.now() + (options.timeoutMs ?? 3_000);
    for (;;) {
      const row = read.get(id) as { applied_at: string | null; outcome: string | null } | undefined;
      if (row?.applied_at) return JSON.parse(row.outcome ?? '{"ok":false,"message":"no outcome"}') as CommandOutcome;
      if (Date.now() >= deadline) {
        // Withdrawn, so a writer that wakes later does not act on a command nobody waits for.
        const withdrawn = db.prepare("UPDATE commands SET applied_at = ?, outcome = ? WHERE id = ? AND applied_at IS NULL").run(new Date().toISOString(), JSON.stringify({ ok: false, message: 'withdrawn: no answer in time' }), id);
        if (withdrawn.changes === 0) continue; // answered just now
        throw new JournalError('no_answer', `the process writing ${path} (pid ${writer.pid} on ${writer.host}) did not apply the command within ${options.timeoutMs ?? 3_000} ms; nothing was changed`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    db.close();
  }
}

/**
 * Polls the writer's inbox: hands each command to `handler` once and stores its answer, after
 * `settle` has put on disk what the command changed. Returns a function that stops polling.
 */
export function watchInbox(db: Database.Database, handler: (command: OperatorCommand) => CommandOutcome, hooks: { readonly closed: () => boolean; readonly settle: () => void }): () => void {
  const pending = db.prepare('SELECT id, payload FROM commands WHERE applied_at IS NULL ORDER BY id');
  const done = db.prepare('UPDATE commands SET applied_at = ?, outcome = ? WHERE id = ? AND applied_at IS NULL');
  const poll = () => {
    if (hooks.closed()) return;
    try {
      for (const row of pending.all() as { id: number; payload: string }[]) {
        let outcome: CommandOutcome;
        try {
          const parsed = CommandSchema.safeParse(JSON.parse(row.payload));
          outcome = parsed.success ? handler(parsed.data) : { ok: false, message: `refused: ${parsed.error.message.slice(0, 200)}` };
        } catch (e) {
          outcome = { ok: false, message: `refused: ${(e as Error).message?.slice(0, 200) ?? 'unreadable'}` };
        }
        // What the command changed is on disk before the operator is told it was applied.
        hooks.settle();
        done.run(new Date().toISOString(), JSON.stringify(outcome), row.id);
      }
    } catch {
      // A busy or failing database: the next poll tries again; the operator's wait is bounded.
    }
  };
  const timer = setInterval(poll, COMMAND_POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

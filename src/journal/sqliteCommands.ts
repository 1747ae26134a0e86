/**
 * The command inbox of a SQLite journal: operators' commands (kill switch, resolve, limits)
 * written into the journal file by another process, for the one process that writes it. The
 * operator's process inserts a command and waits for its answer; the writer polls the inbox,
 * takes each command, applies it once, and stores the answer after what it changed is on disk.
 *
 * A command is pending, then either taken by the writer (`taken_at`) and later answered
 * (`applied_at`, `outcome`), or withdrawn by the operator's process at its deadline (`applied_at`
 * with no `taken_at`). Taking and withdrawing are each one `UPDATE … WHERE` still pending, so only
 * one of them succeeds: a withdrawn command is never applied, and a taken one is never reported as
 * "nothing was changed".
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
/** How much longer an operator's process waits for the answer to a command the writer took just before its deadline. */
export const TAKEN_GRACE_MS = 2_000;

/** Operators' commands for the process that writes the journal (kill switch, resolve). Additive: older files gain it. */
export function createCommandInbox(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS commands (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, payload TEXT NOT NULL, applied_at TEXT, outcome TEXT, taken_at TEXT
  )`);
  // An inbox made before commands were taken: the column is added (by whichever process comes first).
  if ((db.prepare('PRAGMA table_info(commands)').all() as { name: string }[]).some((c) => c.name === 'taken_at')) return;
  try {
    db.exec('ALTER TABLE commands ADD COLUMN taken_at TEXT');
  } catch (e) {
    if (!/duplicate column/i.test((e as Error).message)) throw e;
  }
}

/** Still pending: neither taken by the writer nor withdrawn by the operator's process. */
const PENDING = 'taken_at IS NULL AND applied_at IS NULL';

/** The writer takes command `id` before applying it; false when it is no longer pending (withdrawn). */
export function takeCommand(db: Database.Database, id: number | bigint): boolean {
  return db.prepare(`UPDATE commands SET taken_at = ? WHERE id = ? AND ${PENDING}`).run(new Date().toISOString(), id).changes === 1;
}

/** The operator's process withdraws command `id` at its deadline; false when the writer took it first. */
export function withdrawCommand(db: Database.Database, id: number | bigint): boolean {
  return db.prepare(`UPDATE commands SET applied_at = ?, outcome = ? WHERE id = ? AND ${PENDING}`).run(new Date().toISOString(), JSON.stringify({ ok: false, message: 'withdrawn: no answer in time' }), id).changes === 1;
}

/** The writer stores its answer to command `id`, which it took. */
export function answerCommand(db: Database.Database, id: number | bigint, outcome: CommandOutcome): void {
  db.prepare('UPDATE commands SET applied_at = ?, outcome = ? WHERE id = ? AND taken_at IS NOT NULL AND applied_at IS NULL').run(new Date().toISOString(), JSON.stringify(outcome), id);
}

/** Where an operator sees what a command did when its answer did not come. */
const whereToLook = (command: OperatorCommand): string =>
  command.kind === 'kill_switch' ? '`warden kill-switch show`' : command.kind === 'resolve' ? '`warden flags`' : 'the journal (`warden limits show`)';

/** See {@link SqliteJournal.submitCommand}. */
export async function submitCommand(path: string, command: OperatorCommand, options: { timeoutMs?: number } = {}): Promise<CommandOutcome> {
  const parsed = CommandSchema.safeParse(command);
  if (!parsed.success) throw new JournalError('unreadable', `not a valid command: ${parsed.error.message.slice(0, 300)}`);
  const writer = liveWriter(path);
  if (!writer) throw new JournalError('no_answer', `nobody is writing ${path}: open the journal directly`);
  const timeoutMs = options.timeoutMs ?? 3_000;
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 2000');
    createCommandInbox(db);
    const id = db.prepare('INSERT INTO commands (at, payload) VALUES (?, ?)').run(new Date().toISOString(), JSON.stringify(parsed.data)).lastInsertRowid;
    const read = db.prepare('SELECT applied_at, outcome FROM commands WHERE id = ?');
    let deadline = Date.now() + timeoutMs;
    let taken = false;
    for (;;) {
      const row = read.get(id) as { applied_at: string | null; outcome: string | null } | undefined;
      if (row?.applied_at) return JSON.parse(row.outcome ?? '{"ok":false,"message":"no outcome"}') as CommandOutcome;
      if (Date.now() >= deadline) {
        if (taken) {
          throw new JournalError('taken_unanswered', `the process writing ${path} (pid ${writer.pid} on ${writer.host}) took the command but its answer did not come within ${timeoutMs + TAKEN_GRACE_MS} ms: it may have applied it; check ${whereToLook(parsed.data)}`);
        }
        // Withdrawn, so a writer that wakes later does not act on a command nobody waits for.
        if (withdrawCommand(db, id)) {
          throw new JournalError('no_answer', `the process writing ${path} (pid ${writer.pid} on ${writer.host}) did not apply the command within ${timeoutMs} ms; nothing was changed`);
        }
        // The writer took it first (or answered just now): its answer is what the operator is told.
        taken = true;
        deadline = Date.now() + TAKEN_GRACE_MS;
        continue;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    db.close();
  }
}

/**
 * Polls the writer's inbox: takes each pending command (one that was withdrawn first is left
 * alone), hands it to `handler` once, and stores its answer after `settle` has put on disk what the
 * command changed. Returns a function that stops polling.
 */
export function watchInbox(db: Database.Database, handler: (command: OperatorCommand) => CommandOutcome, hooks: { readonly closed: () => boolean; readonly settle: () => void }): () => void {
  const pending = db.prepare(`SELECT id, payload FROM commands WHERE ${PENDING} ORDER BY id`);
  // Answers not yet stored (a busy database): stored at the next poll, before anything new is taken.
  const unanswered = new Map<number, CommandOutcome>();
  const answer = () => {
    for (const [id, outcome] of unanswered) {
      answerCommand(db, id, outcome);
      unanswered.delete(id);
    }
  };
  const poll = () => {
    if (hooks.closed()) return;
    try {
      answer();
      for (const row of pending.all() as { id: number; payload: string }[]) {
        // Taken before it is applied: an operator's process that withdrew it first is never contradicted.
        if (!takeCommand(db, row.id)) continue;
        let outcome: CommandOutcome;
        try {
          const parsed = CommandSchema.safeParse(JSON.parse(row.payload));
          outcome = parsed.success ? handler(parsed.data) : { ok: false, message: `refused: ${parsed.error.message.slice(0, 200)}` };
        } catch (e) {
          outcome = { ok: false, message: `refused: ${(e as Error).message?.slice(0, 200) ?? 'unreadable'}` };
        }
        // What the command changed is on disk before the operator is told it was applied. If it
        // cannot be, the change is still in force on this engine: applied, not recorded (never "refused").
        try {
          hooks.settle();
        } catch (e) {
          const why = (e as Error).message?.slice(0, 200) ?? 'write failed';
          if (outcome.ok) outcome = { ok: true, unrecorded: true, message: `${outcome.message}: applied on this engine, but the journal could not record it (${why}); a restart will not remember it` };
        }
        unanswered.set(row.id, outcome);
        answer();
      }
    } catch {
      // A busy or failing database: the next poll tries again; the operator's wait is bounded.
    }
  };
  const timer = setInterval(poll, COMMAND_POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Where a command reads and writes: the --journal file or the --store a fleet shares, an
 * administration engine over the journal, and an operator's command applied as the console does.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { JournalError, type OperatorCommand } from '../index.js';
import { SqliteJournal } from '../entries/sqlite.js';
import { adminEngine as sharedAdminEngine, applyOperatorCommand } from '../engine/operator.js';
import { DEFAULT_JOURNAL, opt, UsageError, type Args } from './args.js';

/** The --journal file's path (default data/warden.journal.sqlite); with `mustExist`, a usage error when it is not there. */
export function journalPath(a: Args, { mustExist }: { mustExist: boolean }): string {
  const path = opt(a, '--journal') ?? DEFAULT_JOURNAL;
  if (mustExist && !existsSync(path)) throw new UsageError(`no journal at ${path} (give one with --journal FILE)`);
  return path;
}

/** The shared store's URL (--store, else WARDEN_DATABASE_URL), or null for a journal file. */
export function storeUrl(a: Args): string | null {
  const url = opt(a, '--store') ?? (process.env.WARDEN_DATABASE_URL || undefined);
  if (url === undefined) return null;
  if (opt(a, '--journal') !== undefined) throw new UsageError('give --journal FILE or --store URL, not both');
  if (!/^postgres(ql)?:\/\//.test(url)) throw new UsageError('--store must be a postgres:// or postgresql:// URL');
  return url;
}

/** Connects to the shared store (loads pg only now). */
export async function openStore(url: string) {
  let entry: typeof import('../entries/postgres.js');
  try {
    entry = await import('../entries/postgres.js');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && /'pg'/.test((e as Error).message)) throw new UsageError("--store needs the PostgreSQL driver, an optional dependency: npm install pg");
    throw e;
  }
  const { PostgresStore } = entry;
  return PostgresStore.connect(url);
}

/** The journal file, opened (read-only when asked; its folder made when writing). */
export function openJournal(a: Args, { mustExist, readOnly = false }: { mustExist: boolean; readOnly?: boolean }): SqliteJournal {
  const path = journalPath(a, { mustExist });
  if (!readOnly) mkdirSync(dirname(path), { recursive: true });
  return new SqliteJournal(path, undefined, { readOnly });
}

/**
 * Whether a journal a reading command opened has a broken chain: said on stderr first, in the
 * words `journal show` uses, so an operator never takes what follows for the journal's truth. The
 * command then exits 3 (`BROKEN_CHAIN_EXIT`), whatever it read.
 */
export async function chainBroken(journal: { verify(): Promise<{ readonly brokenAt?: number | null }> }): Promise<boolean> {
  const brokenAt = (await journal.verify()).brokenAt ?? null;
  if (brokenAt !== null) console.error(`warden: CHAIN BROKEN at record ${brokenAt}: records from there on may have been edited; what follows is read from them as stored (warden journal verify)`);
  return brokenAt !== null;
}
/** The exit of a command whose journal's chain is broken (as `journal verify` and `journal show`). */
export const BROKEN_CHAIN_EXIT = 3;

/** Applies an operator's command as the console does, and says who applied it. */
export async function operatorCommand(a: Args, command: OperatorCommand): Promise<number> {
  let outcome;
  try {
    outcome = await applyOperatorCommand(journalPath(a, { mustExist: true }), command);
  } catch (e) {
    // The engine took the command and may have applied it: not an input mistake, and never "nothing was changed".
    if (!(e instanceof JournalError && e.code === 'taken_unanswered')) throw e;
    console.error(`warden: ${e.message}`);
    return 1;
  }
  // Applied but not recorded: in force now, forgotten by a restart; exit 4, neither success nor a refusal.
  if (outcome.ok && outcome.unrecorded) {
    console.log(`${outcome.message}  (applied by the running engine, pid ${outcome.pid})`);
    console.error('warden: WARNING: the change is in force on the running engine but NOT recorded in its journal; a restart will not remember it: set it again once the journal works');
    return 4;
  }
  if (outcome.ok) {
    console.log(outcome.appliedBy === 'engine' ? `${outcome.message}  (applied by the running engine, pid ${outcome.pid})` : outcome.message);
    return 0;
  }
  // Refused, by the running engine or here: the same input gets the same exit (2), whoever judged it.
  throw new UsageError(outcome.appliedBy === 'engine' ? `the running engine (pid ${outcome.pid}) refused: ${outcome.message}` : outcome.message);
}

/** An engine for administration over the --journal file. */
export function adminEngine(a: Args, { readOnly = false }: { readOnly?: boolean } = {}) {
  return sharedAdminEngine(journalPath(a, { mustExist: true }), { readOnly });
}

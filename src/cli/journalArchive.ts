/**
 * `warden journal archive` and `warden journal verify --full --archive FILE…`: retention of a
 * SQLite journal's settled history (src/journal/archive.ts) and the auditor's check of the whole
 * chain across its archives and the live journal (src/journal/archiveAudit.ts).
 */
import { parseArgs } from 'node:util';
import { archiveJournal } from '../journal/archive.js';
import { verifyAcrossArchives } from '../journal/archiveAudit.js';
import { JournalError } from '../journal/types.js';

const DEFAULT_JOURNAL = 'data/warden.journal.sqlite';

export const JOURNAL_ARCHIVE_HELP = `usage: warden journal archive --before DATE --to FILE.jsonl.gz [--journal FILE]
       warden journal verify --full --archive FILE.jsonl.gz [--archive FILE.jsonl.gz …] [--journal FILE]

archive moves the executions settled before DATE (2026-01-31, midnight UTC, or a time with an
offset, 2026-01-31T12:00:00+01:00), none with an open flag, out of the journal into a gzip JSON
Lines file it never overwrites. The archive ends at the last record before DATE and before the
journal's last checkpoint where every execution so far has settled and no flag is open; the
journal then continues from the next record, chained to the archive's last hash, and keeps copies
of the archived records a restart still reads (kill switch changes, the limits as set). Run it
while no engine writes the journal; after a crash, run it again with the same arguments to
complete it.
verify --full --archive checks one hash chain from record 1 through every archive, in the order
they were written, into the journal. Exit 0 when intact, 3 when broken, 2 on bad input.`;

class ArchiveUsageError extends Error {}

/** A cut-off date: a calendar date (midnight UTC) or a time with its offset; anything else is refused. */
export function parseCutOff(text: string): Date {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text);
  const withOffset = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(text);
  const at = new Date(dateOnly ? `${text}T00:00:00Z` : text);
  // Date() rolls 2026-02-30 over to March: a date must read back as written.
  const real = !Number.isNaN(at.getTime()) && (!dateOnly || at.toISOString().slice(0, 10) === text);
  if (!(dateOnly || withOffset) || !real) throw new ArchiveUsageError(`--before must be a date (2026-01-31) or a time with an offset (2026-01-31T12:00:00Z), got "${text}"`);
  return at;
}

/** Runs `journal archive …` or `journal verify … --archive …` (argv after `journal`); returns the exit code. */
export async function journalArchiveCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(JOURNAL_ARCHIVE_HELP);
    return 0;
  }
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: { before: { type: 'string' }, to: { type: 'string' }, journal: { type: 'string' }, archive: { type: 'string', multiple: true }, full: { type: 'boolean' } } });
    } catch (e) {
      throw new ArchiveUsageError(`${(e as Error).message.replace(/\. To specify a positional argument.*$/s, '')}\n${JOURNAL_ARCHIVE_HELP}`);
    }
    const { positionals, values } = parsed;
    const journal = values.journal ?? DEFAULT_JOURNAL;
    if (positionals.length !== 1) throw new ArchiveUsageError(`journal ${positionals[0] ?? ''}: ${positionals.length > 1 ? `unexpected argument "${positionals[1]}"` : 'missing argument'}\n${JOURNAL_ARCHIVE_HELP}`);
    if (positionals[0] === 'archive') {
      if (values.archive !== undefined || values.full) throw new ArchiveUsageError('journal archive takes --before, --to and --journal only');
      if (!values.before) throw new ArchiveUsageError('journal archive needs --before DATE');
      if (!values.to) throw new ArchiveUsageError('journal archive needs --to FILE.jsonl.gz');
      const done = await archiveJournal(journal, { before: parseCutOff(values.before), to: values.to });
      console.log(`journal ${journal}: ${done.message}`);
      return 0;
    }
    if (positionals[0] === 'verify') {
      if (!values.full) throw new ArchiveUsageError('--archive checks the whole chain: give --full with it');
      if (values.before !== undefined || values.to !== undefined) throw new ArchiveUsageError('journal verify takes --full, --archive and --journal');
      const audit = await verifyAcrossArchives(values.archive ?? [], journal);
      console.log(`journal ${journal}: ${audit.message}`);
      return audit.ok ? 0 : 3;
    }
    throw new ArchiveUsageError(`--archive goes with journal verify --full, not journal ${positionals[0]}\n${JOURNAL_ARCHIVE_HELP}`);
  } catch (e) {
    if (!(e instanceof ArchiveUsageError || e instanceof JournalError)) throw e;
    console.error(`warden: ${e.message}`);
    return 2;
  }
}

/** `warden journal verify|show|export`: check, explain or hand over the journal. */
import { writeFileSync } from 'node:fs';
import type { ExecutionResult, JournalVerification } from '../../index.js';
import { executionTrail, renderTimeline, toJsonl } from '../../entries/journal.js';
import { SqliteJournal } from '../../entries/sqlite.js';
import { reasonOf } from '../../journal/reasons.js';
import { JOURNAL, opt, STORE, takesOnly, UsageError, type Args, type Command } from '../args.js';
import { BROKEN_CHAIN_EXIT, chainBroken, openJournal, openStore, storeUrl } from '../sources.js';

const HELP = `usage: warden journal verify [--full] [--journal FILE | --store URL]
       warden journal show ADVISORY [--journal FILE | --store URL]
       warden journal export --jsonl [--out FILE] [--journal FILE | --store URL]
       warden journal archive --before DATE --to FILE.jsonl.gz [--journal FILE]   (see journal archive --help)
       warden journal verify --full --archive FILE.jsonl.gz… [--journal FILE]`;

/** `warden journal`, its options and its help. */
export const journalCommand: Command = { help: HELP, options: { ...JOURNAL, ...STORE, full: { type: 'boolean', help: 'verify every record and checkpoint (default: from the checkpoints a writer opens from)' }, jsonl: { type: 'boolean', help: 'export as JSON Lines' }, out: { type: 'string', help: 'export to this file' } }, positionals: [1, 2], run: journal };

async function journal(a: Args): Promise<number> {
  const [action, id] = a.positional;
  // Each action's arguments, checked before the journal is opened: nothing given is silently ignored.
  if (action === 'verify') takesOnly(a, 'journal verify', { positionals: 1, options: ['--journal', '--store', '--full'] });
  else if (action === 'show') {
    takesOnly(a, 'journal show', { positionals: 2, options: ['--journal', '--store'] });
    if (!id) throw new UsageError('journal show needs an ADVISORY (or execution id)');
  } else if (action === 'export') {
    takesOnly(a, 'journal export', { positionals: 1, options: ['--journal', '--store', '--jsonl', '--out'] });
    if (!a.flags.has('--jsonl')) throw new UsageError('journal export needs --jsonl (the only format)');
  } else throw new UsageError(`journal needs verify, show or export\n${HELP}`);
  const url = storeUrl(a);
  const journal = url ? await openStore(url) : openJournal(a, { mustExist: true, readOnly: true });
  const where = journal instanceof SqliteJournal ? `journal ${journal.path}` : 'store';
  if (action === 'verify') {
    const v: JournalVerification & { writers?: number; records?: number; writer?: string; writerSequence?: number } = await journal.verify({ full: a.flags.has('--full') });
    const count = v.writers !== undefined ? `${v.records} records of ${v.writers} writer(s), hash chains` : `${journal.readAll().length} records, hash chain`;
    const from = v.from === undefined ? '' : v.afterArchive !== undefined ? ` from record ${v.from}, the first after the archive ${v.afterArchive} (with it: journal verify --full --archive)` : ` from the checkpoint at record ${v.from} (--full: every record)`;
    console.log(v.ok ? `${where}: ${count} verified${from}` : `${where}: BROKEN at record ${v.brokenAt}${v.writer !== undefined ? ` (writer ${v.writer}, its record ${v.writerSequence})` : ''}${v.reason !== undefined ? `: ${v.reason}` : ''}`);
    // The head, to be noted or kept elsewhere: removing the newest records together with the head is not seen from the file alone.
    const head = v.ok && journal instanceof SqliteJournal ? journal.head() : null;
    if (head !== null) console.log(`head: record ${head.sequence}, hash ${head.hash}`);
    await journal.close();
    return v.ok ? 0 : 3;
  }
  // A store's records are every engine's, in global order; a file's are its own.
  const records = journal instanceof SqliteJournal ? journal.readAll() : await journal.records();
  // A broken chain is still readable here (read-only), and says so first.
  const broken = await chainBroken(journal);
  await journal.close();
  if (action === 'show' && id) {
    const executions = [...new Set(records.filter((r) => r.executionId && (r.advisoryId === id || r.executionId === id)).map((r) => r.executionId!))];
    if (executions.length === 0) throw new UsageError(`no execution of ${id} in the ${where}`);
    for (const e of executions) {
      console.log(`━━ ${id} · execution ${e}\n${renderTimeline(executionTrail(records, e))}`);
      const result = records.findLast((r) => r.executionId === e && r.kind === 'result')?.payload as ExecutionResult | undefined;
      if (result) console.log(`result: ${result.status}${result.requiresManualResolution ? ', awaiting resolution' : ''}; ${reasonOf(result, { detail: true })}`);
      for (const m of result?.reconciliation?.mismatches ?? []) console.log(`  difference ${m.field}: expected ${JSON.stringify(m.expected)}, broker says ${JSON.stringify(m.actual)} — ${m.message}`);
    }
    return broken ? BROKEN_CHAIN_EXIT : 0;
  }
  if (action === 'export') {
    const out = opt(a, '--out');
    if (out) writeFileSync(out, toJsonl(records));
    else process.stdout.write(toJsonl(records));
    if (out) console.log(`exported ${records.length} records to ${out}`);
    return broken ? BROKEN_CHAIN_EXIT : 0;
  }
  throw new UsageError(`journal needs verify, show or export\n${HELP}`);
}

/**
 * `npm run trace -- JOURNAL.jsonl [ADVISORY_OR_EXECUTION_ID]`: verifies a journal's hash chain
 * and prints each execution's state timeline, so anyone can explain after the fact what
 * happened to an advisory.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { executionTrail, parseJsonl, renderTimeline, verifyChain } from '../entries/journal.js';

const USAGE = 'usage: warden trace JOURNAL.jsonl [ADVISORY_OR_EXECUTION_ID]   (in a clone also: npm run trace -- …)';

/** One line, prefixed like every `warden` command's errors. Exit codes as theirs: 2 bad input, 3 broken chain. */
const fail = (message: string, code = 2): number => {
  console.error(`warden: ${message}`);
  return code;
};

function main(argv: string[]): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(`${USAGE}\n\nVerifies the journal's hash chain and prints the state timeline of each execution\n(or only those of one advisory or execution). Write a journal with: npm start -- --journal FILE`);
    return 0;
  }
  const [file, id] = argv;
  if (!file) {
    return fail(`trace: no journal file given\n${USAGE}`);
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(`${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a journal export' : code === 'EACCES' ? 'not readable (permission denied)' : `not readable (${code ?? (e as Error).message})`}`);
  }
  let records;
  try {
    records = parseJsonl(text);
  } catch (e) {
    return fail(`${file}: ${(e as Error).message}`);
  }
  const segment = (records[0]?.sequence ?? 1) !== 1;
  const chain = verifyChain(records, { segment });
  const scope = segment ? ` (an excerpt from record ${records[0]!.sequence}: its link to earlier records is not checked)` : '';
  console.log(chain.ok ? `journal: ${records.length} records, hash chain verified${scope}` : `journal: ${records.length} records, hash chain BROKEN at record ${chain.brokenAt}: do not trust what follows it`);
  const executions = [...new Set(records.filter((r) => r.executionId && (!id || r.advisoryId === id || r.executionId === id)).map((r) => r.executionId!))];
  if (executions.length === 0) {
    return fail(`no execution${id ? ` of ${id}` : ''} in ${file}`);
  }
  for (const executionId of executions) {
    const trail = executionTrail(records, executionId);
    const first = trail.find((r) => r.advisoryId);
    console.log(`\n━━ advisory ${first?.advisoryId ?? '(invalid input)'} · execution ${executionId} · started ${trail[0]?.at}`);
    console.log(renderTimeline(trail));
  }
  return chain.ok ? 0 : 3;
}

/** `warden trace …` and `npm run trace -- …`: the exit code. */
export const runTrace = (args: string[]): number => main(args);

// Run directly (npm run trace): the arguments after the script.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = runTrace(process.argv.slice(2));

/**
 * The `warden` command line. Every command works on a durable journal (default
 * data/warden.journal.sqlite); errors are one clear line and a non-zero exit. Each command is a
 * file in `commands/`; this file only finds the command, parses its arguments and reports errors.
 */
import { JournalError, WardenUsageError } from '../index.js';
import { helpFor, parse, UsageError } from './args.js';
import { brokerLabel } from './brokers.js';
import { commandNamed, MAIN_HELP } from './commands/index.js';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(MAIN_HELP);
    return command ? 0 : 2;
  }
  // `journal archive` and `journal verify --archive` parse their own options (journalArchive.ts).
  if (command === 'journal' && (rest[0] === 'archive' || rest.includes('--archive'))) return (await import('./journalArchive.js')).journalArchiveCommand(rest);
  const spec = commandNamed(command);
  if (!spec) throw new UsageError(`unknown command "${command}" (warden --help lists them)`);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(helpFor(spec));
    return 0;
  }
  return spec.run(parse(command, spec, rest), rest);
}

// A reader that stops early (`warden … | head`) is no error: what is left to print goes nowhere, and
// the command still finishes what it started (an execution in flight is never abandoned for a pipe).
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.stdout.write = (() => true) as typeof process.stdout.write;
});

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  const known = e instanceof UsageError || e instanceof JournalError || e instanceof WardenUsageError;
  console.error(`warden: ${e instanceof WardenUsageError ? brokerLabel((e as Error).message) : (e as Error).message}`);
  process.exitCode = known ? 2 : 1;
}

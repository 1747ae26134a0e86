/** `warden trace`: explains executions from an exported journal. */
import type { Args, Command } from '../args.js';

const HELP = `usage: warden trace JOURNAL.jsonl [ADVISORY_OR_EXECUTION_ID]

Explains executions from an exported journal (warden journal export --jsonl), verifying its chain.`;

/** `warden trace`, its options and its help. */
export const traceCommand: Command = { help: HELP, options: {}, positionals: [1, 2], run: trace };

async function trace(_a: Args, rest: string[]): Promise<number> {
  return (await import('../trace.js')).runTrace(rest);
}

/** `warden console`: serves the operator console for a journal; `add-operator` gives an operator a token. */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { JournalError } from '../../index.js';
import { addOperator, DEFAULT_OPERATORS_FILE, readOperators, type ConsoleOperator } from '../../console/operators.js';
import { JOURNAL, opt, UsageError, type Args, type Command } from '../args.js';
import { journalPath } from '../sources.js';

const HELP = `usage: warden console [--journal FILE | --demo] [--port P] [--operators FILE] [--token-file FILE] [--host H --allow-remote]
       warden console add-operator NAME [--operators FILE]

Serves the operator console for the journal on http://127.0.0.1:7080/ (pages Now, Positions,
Finished, Kill switch, Flags, Advisory; Prometheus metrics at /metrics). Anyone who reaches it
reads; acting needs an operator token. add-operator gives one operator their own token (printed
once; the file, default ${DEFAULT_OPERATORS_FILE}, keeps only its digest): the journal then records
who acted. A token shared by all (each action then asks for a name) comes from WARDEN_CONSOLE_TOKEN
or --token-file (created, readable by its owner only, when missing), never from a flag. --demo
shows the newest journal npm start wrote. The console answers only at its loopback names and --host.`;

/** `warden console`, its options and its help. */
export const consoleCommand: Command = {
  help: HELP,
  options: {
    ...JOURNAL,
    demo: { type: 'boolean', help: 'the newest demo journal (data/demo-*.journal.sqlite)' },
    port: { type: 'string', help: 'port (default 7080; 0 picks a free one)' },
    host: { type: 'string', help: 'address to listen on (default 127.0.0.1)' },
    'allow-remote': { type: 'boolean', help: 'allow an address beyond loopback' },
    'token-file': { type: 'string', help: 'file holding the shared operator token (created when missing)' },
    operators: { type: 'string', help: `the named operators file (default ${DEFAULT_OPERATORS_FILE}, used when it exists)` },
  },
  positionals: [0, 2],
  run: serveConsole,
};

/** The newest journal `npm start` wrote. */
function newestDemoJournal(dir = 'data'): string {
  const found = existsSync(dir) ? readdirSync(dir).filter((f) => /^demo-\d{8}T\d{9}\.journal\.sqlite$/.test(f)).sort() : [];
  if (found.length === 0) throw new UsageError(`no demo journal in ${dir}/: run npm start first`);
  return join(dir, found.at(-1)!);
}

/** The operator token: from the environment, or from a file (created, owner-only, when missing). Never from a flag. */
function operatorToken(a: Args): string | null {
  const fromEnv = process.env.WARDEN_CONSOLE_TOKEN;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const file = opt(a, '--token-file');
  if (file === undefined) return null;
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    console.log(`operator token written to ${file} (readable by its owner only): paste it at /login to act`);
  } else if ((statSync(file).mode & 0o077) !== 0) {
    throw new UsageError(`${file} is readable by others (mode ${(statSync(file).mode & 0o777).toString(8)}): chmod 600 it first`);
  }
  return readFileSync(file, 'utf8').trim();
}

async function serveConsole(a: Args): Promise<number> {
  const [action, name] = a.positional;
  const operatorsFile = opt(a, '--operators') ?? DEFAULT_OPERATORS_FILE;
  if (action === 'add-operator') {
    if (!name) throw new UsageError(`console add-operator needs a NAME\n${HELP}`);
    let token: string;
    try {
      token = addOperator(operatorsFile, name);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    console.log(`operator ${name} added to ${operatorsFile}; their token (shown this once, give it to ${name} only):\n${token}`);
    return 0;
  }
  if (action !== undefined) throw new UsageError(`console takes no argument but add-operator NAME, got "${action}"\n${HELP}`);
  let operators: ConsoleOperator[] = [];
  if (existsSync(operatorsFile)) {
    try {
      operators = readOperators(operatorsFile);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  } else if (opt(a, '--operators') !== undefined) throw new UsageError(`no operators file at ${operatorsFile} (create it with: warden console add-operator NAME --operators ${operatorsFile})`);
  if (a.flags.has('--demo') && opt(a, '--journal') !== undefined) throw new UsageError('give --journal FILE or --demo, not both');
  const journal = a.flags.has('--demo') ? newestDemoJournal() : journalPath(a, { mustExist: true });
  const port = Number(opt(a, '--port') ?? 7080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0-65535, got ${opt(a, '--port')}`);
  const { startConsole } = await import('../../entries/console.js');
  const token = operatorToken(a);
  const host = opt(a, '--host');
  let running;
  try {
    running = await startConsole({ journal, token, operators, port, ...(host ? { host } : {}), allowRemote: a.flags.has('--allow-remote') });
  } catch (e) {
    if (e instanceof JournalError) throw e;
    throw new UsageError((e as Error).message);
  }
  const acting = [operators.length > 0 ? `${operators.length} named operator(s) sign in with their own token` : null, token !== null ? 'the shared token signs in (names typed per action)' : null].filter((x) => x !== null);
  console.log(`console at ${running.url}  (journal ${journal}; ${acting.length === 0 ? 'read-only: add an operator (warden console add-operator NAME), or set WARDEN_CONSOLE_TOKEN or --token-file, to act' : acting.join('; ')}; metrics at ${running.url}metrics)`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await running.close();
  return 0;
}

/**
 * The `warden` command line. Every command works on a durable journal (default
 * data/warden.journal.sqlite); errors are one clear line and a non-zero exit.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { describeHolds } from '../engine/holdWords.js';
import { createEngine, JournalError, PaperBroker, WardenUsageError, type BrokerAdapter, type ExecutionResult, type JournalVerification, type KillSwitchState, type OperatorCommand, type PaperBrokerState, type PaperMarket } from '../index.js';
import { CcxtBroker, HttpBroker, OandaBroker, startPaperService } from '../entries/adapters.js';
import { executionTrail, renderTimeline, toJsonl } from '../entries/journal.js';
import { SqliteJournal } from '../entries/sqlite.js';

import { restoreFromJournal } from '../engine/restore.js';
import { adminEngine as sharedAdminEngine, applyOperatorCommand } from '../engine/operator.js';
import { reasonOf } from './reasons.js';
import { LIMIT_OPTIONS, limitsChangeFrom, readLimitsFile, renderLimits } from './limits.js';
import { fleetLimitsCommand } from './fleetLimits.js';
import { parseLimits } from '../domain/limits.js';
import { PaperMarketsSchema } from '../broker/paperService.js';
import { createDefaultLogger } from '../engine/logger.js';
import { addOperator, DEFAULT_OPERATORS_FILE, readOperators, type ConsoleOperator } from '../console/operators.js';

export const DEFAULT_JOURNAL = 'data/warden.journal.sqlite';

const HELP: Record<string, string> = {
  main: `warden: execute approved trade snapshots under Warden's six safety rules

usage: warden <command> [options]      (warden <command> --help for more)

  run SNAPSHOT.json…          execute snapshots, with live progress and a results table
  recover                     resume executions a stopped process left unfinished
  kill-switch set|show        change or show the kill switches
  limits show|set             show or tighten the pre-trade limits
  flags                       list the executions awaiting resolution, with their differences
  approve keygen|sign|verify  keys and signatures for signed approvals
  trace JOURNAL.jsonl [ID]    explain executions from an exported journal
  resolve ADVISORY            clear a reconciliation flag after checking by hand
  journal verify|show|export  check, explain or hand over the journal
  paper-broker                run the paper broker as a service on loopback
  console                     the operator console in the browser (and /metrics)

--journal FILE (default ${DEFAULT_JOURNAL}): run, recover, kill-switch, flags, resolve, journal, console.
--store postgres://… (or WARDEN_DATABASE_URL) instead of --journal: run, recover, kill-switch, flags,
resolve, journal, on a PostgreSQL store shared by many engines (one journal, one claim per advisory,
one kill switch for the fleet). --broker URL|paper|ccxt:EXCHANGE [--sandbox]: run, recover.
approve, trace and paper-broker take none of these.

--broker ccxt:binanceusdm trades on a real venue through ccxt (install it: npm install ccxt).
Credentials come from the environment only: WARDEN_API_KEY and WARDEN_API_SECRET. Add
--sandbox for the venue's test environment (Binance: Demo Trading).

--broker oanda:practice (or oanda:live) trades on OANDA v20: token from OANDA_TOKEN, account from
OANDA_ACCOUNT. run --dry-run reads the account and the snapshots' instruments and sends nothing.`,
  run: `usage: warden run SNAPSHOT.json… [--broker URL|paper|ccxt:EXCHANGE [--sandbox]|oanda:practice|oanda:live [--dry-run]] [--journal FILE | --store URL] [--limits FILE] [--json]

Executes each snapshot (a JSON file holding one snapshot or an array), showing each state
change on stderr, then prints a results table (or --json). Exit 1 if any execution needs
manual resolution or did not fill.`,
  recover: `usage: warden recover --broker URL|ccxt:EXCHANGE [--sandbox] [--journal FILE | --store URL] [--json]

Resumes executions left unfinished in the journal: each order is looked up by clientOrderId
first and never resent blindly; the stored deadline still applies. --broker is required and must
be the broker the orders went to (each claim in the journal records it): any other broker would
not know the orders and would be sent them again. With --store, it takes over what engines that
stopped left unfinished on the store, once their leases expired (any running engine on the store
does the same by itself).`,
  'kill-switch': `usage: warden kill-switch set off|warning|active [--symbol S] --reason R --operator O [--journal FILE | --store URL]
       warden kill-switch show [--symbol S] [--journal FILE | --store URL]

A scope is halted by holds, each lifted only by what raised it: \`set\` changes the operators' hold
and nothing else, and prints the holds that remain (a reconciliation flag's is lifted by resolving
it; a journal, fenced or shutdown hold by a restart of that engine). \`show\` lists every hold with
what lifts it. With --store the operators' switch is the fleet's: every engine on the store applies
it to its executions.`,
  limits: `usage: warden limits show [--journal FILE | --store URL]
       warden limits set [--symbol S] [--max-quantity N] [--max-notional N] [--max-position N]
                         [--max-orders-per-minute N] [--price-collar-pct P] [--all-max-orders-per-minute N]
                         --operator O --reason R [--journal FILE | --store URL]

Pre-trade limits no approval overrides (set at start: warden run --limits FILE, strict JSON,
e.g. {"symbols": {"*": {"maxQuantity": 100000}, "EURUSD": {"priceCollarPct": 0.005}}, "maxOrdersPerMinute": 60}).
set tightens the limits of the engine running on the journal (--symbol, default "*"); it refuses
to loosen any limit, and with no engine running it changes nothing. show prints the journal's latest limits.
With --store, the fleet's: set writes the tightening for every engine on the store (each applies it
within a second and journals it); it refuses to loosen any engine's limits. show prints each engine's.`,
  resolve: `usage: warden resolve ADVISORY --operator O --note N [--journal FILE | --store URL]

With --store, any engine's flag: every engine of the fleet hears the resolution.`,
  approve: `usage: warden approve keygen --out DIR
       warden approve sign SNAPSHOT.json --key KEY.pem
       warden approve verify SNAPSHOT.json --approver PUB.pem [--approver PUB.pem …]

Keys and signatures for signed approvals (see README, "Signed approvals").`,
  trace: `usage: warden trace JOURNAL.jsonl [ADVISORY_OR_EXECUTION_ID]

Explains executions from an exported journal (warden journal export --jsonl), verifying its chain.`,
  flags: `usage: warden flags [--journal FILE | --store URL]

Lists every execution waiting for an operator's resolve(), with its reconciliation differences.
Exit 1 while any waits, 0 when none does.`,
  journal: `usage: warden journal verify [--full] [--journal FILE | --store URL]
       warden journal show ADVISORY [--journal FILE | --store URL]
       warden journal export --jsonl [--out FILE] [--journal FILE | --store URL]`,
  console: `usage: warden console [--journal FILE | --demo] [--port P] [--operators FILE] [--token-file FILE] [--host H --allow-remote]
       warden console add-operator NAME [--operators FILE]

Serves the operator console for the journal on http://127.0.0.1:7080/ (pages Now, Positions,
Finished, Kill switch, Flags, Advisory; Prometheus metrics at /metrics). Anyone who reaches it
reads; acting needs an operator token. add-operator gives one operator their own token (printed
once; the file, default ${DEFAULT_OPERATORS_FILE}, keeps only its digest): the journal then records
who acted. A token shared by all (each action then asks for a name) comes from WARDEN_CONSOLE_TOKEN
or --token-file (created, readable by its owner only, when missing), never from a flag. --demo
shows the newest journal npm start wrote. The console answers only at its loopback names and --host.`,
  'paper-broker': `usage: warden paper-broker [--port P] [--state FILE] [--markets FILE.json] [--seed N]

Serves the paper broker on 127.0.0.1 (prints its URL), persisting its book to --state so it
survives restarts. --markets is a JSON object of symbol → { price, fillAfterMs, … }.`,
};

class UsageError extends Error {}

/** The paper venue's default markets (also used by `--broker paper`). */
export const DEFAULT_MARKETS: Record<string, PaperMarket> = {
  EURUSD: { price: 1.1, fillAfterMs: 300 },
  GBPUSD: { price: 1.27, fillAfterMs: 300 },
  USDJPY: { price: 150.2, fillAfterMs: 300 },
  XAUUSD: { price: 2650, fillAfterMs: 500 },
  'BTC/USDT': { price: 97_000, fillAfterMs: 200 },
};

interface Args {
  positional: string[];
  options: Map<string, string[]>;
  flags: Set<string>;
}

/**
 * The operational log of run and recover: its own file (--log-file, default beside the journal),
 * never mixed into the human progress on stderr; credentials redacted as by the library.
 */
function operationalLogger(a: Args, journalFile: string) {
  const file = opt(a, '--log-file') ?? `${journalFile}.log`;
  process.stderr.write(`  logs: ${file}\n`);
  return createDefaultLogger({ level: 'info', destination: file });
}

/** How long executions in flight may finish after a first Ctrl-C before the command stops waiting. */
const DEFAULT_GRACE_S = 60;

type OptionSpec = { readonly type: 'string' | 'boolean'; readonly help: string; readonly multiple?: boolean };
const JOURNAL: Record<string, OptionSpec> = { journal: { type: 'string', help: `the journal file (default ${DEFAULT_JOURNAL})` } };
/** A store several engines share instead of a journal file. */
const STORE: Record<string, OptionSpec> = { store: { type: 'string', help: 'a PostgreSQL store shared by many engines (postgres://…; default $WARDEN_DATABASE_URL) instead of --journal' } };
const BROKER: Record<string, OptionSpec> = {
  broker: { type: 'string', help: 'URL of a paper/HTTP broker, "paper" (in-process), ccxt:EXCHANGE, or oanda:practice|oanda:live' },
  sandbox: { type: 'boolean', help: "with ccxt: the venue's test environment" },
};
const JSON_OUTPUT: Record<string, OptionSpec> = {
  json: { type: 'boolean', help: 'print the results as JSON' },
  'log-file': { type: 'string', help: 'where the operational log goes (default: JOURNAL.log beside the journal)' },
};

/**
 * Every option each command understands, and how many positional arguments it takes. Parsing is
 * strict: an unknown or misspelt option, a missing value or a stray argument is one clear error
 * and a non-zero exit, before anything is opened or written. `--help` lists these definitions.
 */
const COMMANDS: Record<string, { readonly options: Record<string, OptionSpec>; readonly positionals: readonly [min: number, max: number] }> = {
  run: { options: { ...BROKER, ...JOURNAL, ...STORE, ...JSON_OUTPUT, approver: { type: 'string', multiple: true, help: 'a public key (PEM file) whose signature approvals need; repeat for several' }, limits: { type: 'string', help: 'pre-trade limits (strict JSON file; see warden limits --help)' }, grace: { type: 'string', help: `after a first Ctrl-C (working orders cancelled, fills protected and reconciled), the most seconds to wait for every execution to settle (default ${DEFAULT_GRACE_S})` }, 'dry-run': { type: 'boolean', help: 'with oanda: read the account and instruments, send nothing' } }, positionals: [1, Infinity] },
  recover: { options: { ...BROKER, ...JOURNAL, ...STORE, ...JSON_OUTPUT }, positionals: [0, 0] },
  limits: {
    options: {
      ...JOURNAL,
      ...STORE,
      symbol: { type: 'string', help: 'the symbol whose limits to tighten (default "*", every symbol not listed)' },
      ...Object.fromEntries(Object.entries(LIMIT_OPTIONS).map(([option, field]) => [option, { type: 'string' as const, help: `tighten ${field}` }])),
      'all-max-orders-per-minute': { type: 'string', help: 'tighten maxOrdersPerMinute over all symbols together' },
      operator: { type: 'string', help: 'who (required to set)' },
      reason: { type: 'string', help: 'why (required to set)' },
    },
    positionals: [1, 1],
  },
  'kill-switch': {
    options: {
      ...JOURNAL,
      ...STORE,
      symbol: { type: 'string', help: 'the symbol (default: the global switch)' },
      reason: { type: 'string', help: 'why (required to set)' },
      operator: { type: 'string', help: 'who (required to set)' },
    },
    positionals: [1, 2],
  },
  flags: { options: { ...JOURNAL, ...STORE }, positionals: [0, 0] },
  approve: {
    options: {
      out: { type: 'string', help: 'keygen: the folder for the key pair' },
      key: { type: 'string', help: 'sign: the private key (PEM file)' },
      approver: { type: 'string', multiple: true, help: 'verify: a public key (PEM file); repeat for several' },
    },
    positionals: [1, 2],
  },
  trace: { options: {}, positionals: [1, 2] },
  resolve: { options: { ...JOURNAL, ...STORE, operator: { type: 'string', help: 'who checked' }, note: { type: 'string', help: 'what was done' } }, positionals: [1, 1] },
  journal: { options: { ...JOURNAL, ...STORE, full: { type: 'boolean', help: 'verify every record and checkpoint (default: from the checkpoints a writer opens from)' }, jsonl: { type: 'boolean', help: 'export as JSON Lines' }, out: { type: 'string', help: 'export to this file' } }, positionals: [1, 2] },
  console: {
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
  },
  'paper-broker': {
    options: {
      port: { type: 'string', help: 'port on 127.0.0.1 (default 7070)' },
      state: { type: 'string', help: 'file to persist the book to' },
      markets: { type: 'string', help: 'JSON file of symbol → market' },
      seed: { type: 'string', help: 'random seed' },
    },
    positionals: [0, 0],
  },
};

function parse(command: string, argv: string[]): Args {
  const spec = COMMANDS[command]!;
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: Object.fromEntries(Object.entries(spec.options).map(([k, v]) => [k, { type: v.type, multiple: v.multiple === true }])), allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.replace(/\. To specify a positional argument.*$/s, '')} (warden ${command} --help lists its options)`);
  }
  const [min, max] = spec.positionals;
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    const what = parsed.positionals.length > max ? `unexpected argument "${parsed.positionals[max]}"` : 'missing argument';
    throw new UsageError(`${command}: ${what}\n${HELP[command]}`);
  }
  const args: Args = { positional: parsed.positionals, options: new Map(), flags: new Set() };
  for (const [name, raw] of Object.entries(parsed.values)) {
    const values = Array.isArray(raw) ? raw : [raw];
    for (const value of values) {
      if (typeof value === 'string') {
        if (value === '' || value.startsWith('--')) throw new UsageError(`--${name} needs a value`);
        args.options.set(`--${name}`, [...(args.options.get(`--${name}`) ?? []), value]);
      } else if (value === true) args.flags.add(`--${name}`);
    }
  }
  return args;
}

/** A command's help: its usage text, then its options from the same definitions the parser uses. */
const helpFor = (command: string): string =>
  `${HELP[command]}\n\noptions:\n${Object.entries(COMMANDS[command]!.options)
    .map(([k, v]) => `${`  --${k}${v.type === 'string' ? ' VALUE' : ''}`.padEnd(22)}${v.help}`)
    .join('\n')}\n  --help              this text`;

const opt = (a: Args, name: string) => a.options.get(name)?.at(-1);
const required = (a: Args, name: string) => {
  const v = opt(a, name);
  if (!v) throw new UsageError(`${name} is required`);
  return v;
};

function journalPath(a: Args, { mustExist }: { mustExist: boolean }): string {
  const path = opt(a, '--journal') ?? DEFAULT_JOURNAL;
  if (mustExist && !existsSync(path)) throw new UsageError(`no journal at ${path} (give one with --journal FILE)`);
  return path;
}

/** The shared store's URL (--store, else WARDEN_DATABASE_URL), or null for a journal file. */
function storeUrl(a: Args): string | null {
  const url = opt(a, '--store') ?? (process.env.WARDEN_DATABASE_URL || undefined);
  if (url === undefined) return null;
  if (opt(a, '--journal') !== undefined) throw new UsageError('give --journal FILE or --store URL, not both');
  if (!/^postgres(ql)?:\/\//.test(url)) throw new UsageError('--store must be a postgres:// or postgresql:// URL');
  return url;
}

/** Connects to the shared store (loads pg only now). */
async function openStore(url: string) {
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

function openJournal(a: Args, { mustExist, readOnly = false }: { mustExist: boolean; readOnly?: boolean }): SqliteJournal {
  const path = journalPath(a, { mustExist });
  if (!readOnly) mkdirSync(dirname(path), { recursive: true });
  return new SqliteJournal(path, undefined, { readOnly });
}

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
    if (!name) throw new UsageError(`console add-operator needs a NAME\n${HELP.console}`);
    let token: string;
    try {
      token = addOperator(operatorsFile, name);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    console.log(`operator ${name} added to ${operatorsFile}; their token (shown this once, give it to ${name} only):\n${token}`);
    return 0;
  }
  if (action !== undefined) throw new UsageError(`console takes no argument but add-operator NAME, got "${action}"\n${HELP.console}`);
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
  const { startConsole } = await import('../entries/console.js');
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

/** A problem with the limits (a file, a field, a collar the broker cannot quote) as one usage line naming the file. */
function limitsUsage<T>(file: string | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (file === undefined || !(e instanceof WardenUsageError || (e instanceof Error && e.message.startsWith('--limits')))) throw e;
    throw new UsageError(e.message.startsWith('--limits') ? e.message : `--limits ${file}: ${e.message}`);
  }
}

/** `limits show|set`: the journal's latest limits, or a tightening for the engine running on it. */
async function limitsCommand(a: Args): Promise<number> {
  const [action] = a.positional;
  const url = storeUrl(a);
  if (url !== null && (action === 'show' || action === 'set')) return fleetLimits(a, url, action);
  if (action === 'show') {
    const journal = openJournal(a, { mustExist: true, readOnly: true });
    const records = journal.readAll();
    await journal.close();
    console.log(renderLimits(records));
    return 0;
  }
  if (action !== 'set') throw new UsageError(`limits needs "show" or "set"\n${HELP.limits}`);
  const fields = Object.fromEntries([...Object.keys(LIMIT_OPTIONS), 'all-max-orders-per-minute'].flatMap((o) => (opt(a, `--${o}`) === undefined ? [] : [[o, opt(a, `--${o}`)!]])));
  let change;
  try {
    change = limitsChangeFrom({ symbol: opt(a, '--symbol'), fields });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return operatorCommand(a, { kind: 'limits', change, operator: required(a, '--operator'), reason: required(a, '--reason') });
}

/** `limits show|set --store`: the fleet's limits (src/cli/fleetLimits.ts). */
async function fleetLimits(a: Args, url: string, action: 'show' | 'set'): Promise<number> {
  let request: Parameters<typeof fleetLimitsCommand>[1] = { action: 'show' };
  if (action === 'set') {
    const fields = Object.fromEntries([...Object.keys(LIMIT_OPTIONS), 'all-max-orders-per-minute'].flatMap((o) => (opt(a, `--${o}`) === undefined ? [] : [[o, opt(a, `--${o}`)!]])));
    try {
      request = { action, change: limitsChangeFrom({ symbol: opt(a, '--symbol'), fields }), operator: required(a, '--operator'), reason: required(a, '--reason') };
    } catch (e) {
      throw e instanceof UsageError ? e : new UsageError((e as Error).message);
    }
  }
  const store = await openStore(url);
  try {
    return await fleetLimitsCommand(store, request);
  } catch (e) {
    throw e instanceof WardenUsageError || (e instanceof Error && /^limits can only be tightened/.test(e.message)) ? new UsageError((e as Error).message) : e;
  } finally {
    await store.close();
  }
}

/** Applies an operator's command as the console does, and says who applied it. */
async function operatorCommand(a: Args, command: OperatorCommand): Promise<number> {
  const outcome = await applyOperatorCommand(journalPath(a, { mustExist: true }), command);
  if (outcome.ok) {
    console.log(outcome.appliedBy === 'engine' ? `${outcome.message}  (applied by the running engine, pid ${outcome.pid})` : outcome.message);
    return 0;
  }
  if (outcome.appliedBy === 'engine') {
    console.error(`warden: the running engine (pid ${outcome.pid}) refused: ${outcome.message}`);
    return 1;
  }
  throw new UsageError(outcome.message);
}

/** `kill-switch set|show --store`: the fleet's switch, which every engine on the store applies at once. */
async function fleetKillSwitch(a: Args, url: string, action: string | undefined, state: string | undefined): Promise<number> {
  if (action !== 'set' && action !== 'show') throw new UsageError(`kill-switch needs "set" or "show"\n${HELP['kill-switch']}`);
  const store = await openStore(url);
  try {
    if (action === 'set') {
      const symbol = opt(a, '--symbol');
      const change = await store.setKillSwitch({ state: state as KillSwitchState, ...(symbol ? { symbol } : {}), reason: required(a, '--reason'), operator: required(a, '--operator') });
      console.log(`${change.symbol ?? 'global'}: ${change.from} → ${change.to} for the fleet (change ${change.id}): every engine on the store applies it to its executions`);
      // What the operators' switch does not lift: the fleet's open flags (each engine's own holds are its own).
      const flags = (await store.openFlags()).filter((f) => change.symbol === null || f.symbol === change.symbol);
      const operatorGlobal = change.symbol === null ? 'off' : ((await store.killSwitches()).find((s) => s.symbol === null && s.type !== 'reconciliation')?.state ?? 'off');
      const remaining = [...(operatorGlobal !== 'off' ? [`  global ${operatorGlobal} — operator; lifted by an operator's \`set off\` on the global scope`] : []), ...flags.map((f) => `  ${f.symbol} warning — reconciliation (advisory ${f.result.advisoryId}); lifted by resolving its flag (\`warden resolve ${f.result.advisoryId} --store …\`)`)];
      if (remaining.length > 0) console.log(`still halted by ${remaining.length} other hold${remaining.length === 1 ? '' : 's'}:\n${remaining.join('\n')}`);
      return 0;
    }
    const only = opt(a, '--symbol');
    const switches = (await store.killSwitches()).filter((s) => s.type !== 'reconciliation' && (only === undefined || s.symbol === null || s.symbol === only));
    const flags = (await store.openFlags()).filter((f) => only === undefined || f.symbol === only);
    console.log(`global: ${switches.find((s) => s.symbol === null)?.state ?? 'off'}`);
    for (const s of switches) if (s.symbol !== null) console.log(`${s.symbol}: ${s.state}`);
    for (const f of flags) console.log(`${f.symbol}: warning — reconciliation hold for advisory ${f.result.advisoryId} (${f.result.reconciliation?.status ?? 'unavailable'}); lifted by resolving its flag`);
    for (const c of (await store.killSwitchHistory()).filter((c) => only === undefined || c.symbol === null || c.symbol === only).slice(-10)) console.log(`  ${c.at}  ${c.symbol ?? 'global'} ${c.from} → ${c.to} by ${c.operator}${c.type === 'reconciliation' ? ' (flag announcement)' : ''}: ${c.reason}`);
    return 0;
  } finally {
    await store.close();
  }
}

/** How long `recover --store` waits for the executions dead engines left to be taken over and settle. */
const FLEET_RECOVER_LIMIT_MS = 120_000;

/**
 * `recover --store`: an engine that takes over what engines that stopped left unfinished on the
 * store (each once its lease expired: looked up by clientOrderId first, the stored deadline still
 * in force), until none is left, then reports what it finished.
 */
async function fleetRecover(a: Args, url: string): Promise<number> {
  if (opt(a, '--broker') === undefined) throw new UsageError('recover --store needs --broker: the broker the unfinished orders went to (a URL or ccxt:EXCHANGE)');
  const store = await openStore(url);
  const results: ExecutionResult[] = [];
  let pending = 0;
  const engine = createEngine({
    broker: await brokerFrom(a),
    journal: store,
    logger: operationalLogger(a, join('data', 'warden-fleet')),
    inspect: progressPrinter().inspect as never,
    onTakeOver: (t) => {
      pending++;
      void t.result.then((r) => (results.push(r), pending--));
    },
  });
  await engine.ready;
  const until = Date.now() + FLEET_RECOVER_LIMIT_MS;
  // What has expired is taken over at the engine's next scan: wait until none is left and all settled.
  while (Date.now() < until && (pending > 0 || (await store.expiredLeases()).length > 0)) await new Promise((r) => setTimeout(r, 250));
  await engine.close();
  if (results.length === 0) {
    console.log('nothing to recover: no execution on the store was left unfinished by an engine that stopped');
    return 0;
  }
  return report(results, a);
}

/**
 * `resolve --store`: resolves any engine's flag. The resolution is journaled in the store, then the
 * fleet's switch for the symbol says so: lifted if this was its last open flag (and the switch is a
 * reconciliation halt), else changed to the same state. Every engine reads the flags again on that
 * change; the one that raised the flag lets its execution end.
 */
async function fleetResolve(url: string, advisoryId: string, operator: string, note: string): Promise<number> {
  const store = await openStore(url);
  try {
    const open = await store.openFlags();
    const flag = open.find((f) => f.result.advisoryId === advisoryId);
    if (!flag) throw new UsageError(`no execution of advisory ${advisoryId} is waiting for resolution on the store`);
    store.append({ kind: 'resolution', executionId: flag.result.executionId, advisoryId, snapshotHash: flag.result.snapshotHash, event: 'RESOLVE', payload: { operator, note } });
    await store.flush();
    // Tells every engine to read the flags again: the flag's hold goes with it, no other hold does.
    await store.setKillSwitch({ state: 'off', symbol: flag.symbol, type: 'reconciliation', reason: `resolved advisory ${advisoryId}`, operator });
    const others = open.filter((f) => f.symbol === flag.symbol && f.result.advisoryId !== advisoryId);
    const switches = (await store.killSwitches()).filter((s) => s.type !== 'reconciliation' && s.state !== 'off' && (s.symbol === null || s.symbol === flag.symbol));
    const held = [...others.map((f) => `the flag of advisory ${f.result.advisoryId}`), ...switches.map((s) => `the operators' ${s.symbol ?? 'global'} switch (${s.state})`)];
    console.log(`resolved ${advisoryId} (execution ${flag.result.executionId}) for the fleet; ${held.length === 0 ? `${flag.symbol} takes new orders again` : `${flag.symbol} stays halted by ${held.join(', ')}`}`);
    return 0;
  } finally {
    await store.close();
  }
}

async function brokerFrom(a: Args): Promise<BrokerAdapter> {
  const target = opt(a, '--broker') ?? 'paper';
  if (target === 'paper') return paperBroker(a);
  if (target.startsWith('ccxt:')) {
    // Never from flags: those end up in shell history and process listings.
    const apiKey = process.env.WARDEN_API_KEY;
    const secret = process.env.WARDEN_API_SECRET;
    if (!apiKey || !secret) throw new UsageError(`--broker ${target} needs WARDEN_API_KEY and WARDEN_API_SECRET in the environment`);
    return CcxtBroker.create({ exchange: target.slice('ccxt:'.length), apiKey, secret, sandbox: a.flags.has('--sandbox') });
  }
  if (target === 'oanda:practice' || target === 'oanda:live') {
    // Never from flags (shell history, process listings). OANDA_URL points at a loopback test venue.
    const token = process.env.OANDA_TOKEN;
    const accountId = process.env.OANDA_ACCOUNT;
    if (!token || !accountId) throw new UsageError(`--broker ${target} needs OANDA_TOKEN and OANDA_ACCOUNT in the environment`);
    return new OandaBroker({ environment: target === 'oanda:live' ? 'live' : 'practice', token, accountId, ...(process.env.OANDA_URL ? { restUrl: process.env.OANDA_URL } : {}) });
  }
  if (!/^https?:\/\//.test(target)) throw new UsageError(`--broker must be a URL (http://…), "paper", "ccxt:EXCHANGE" or "oanda:practice|live", got ${target}`);
  return new HttpBroker({ baseUrl: target });
}

/** `run --dry-run`: reads the OANDA account and the snapshots' instruments; opens no journal, sends no order. */
async function dryRun(a: Args, snapshots: unknown[]): Promise<number> {
  const broker = await brokerFrom(a);
  if (!(broker instanceof OandaBroker)) throw new UsageError('--dry-run needs --broker oanda:practice or oanda:live');
  const symbols = [...new Set(snapshots.map((s) => (s as { symbol?: unknown } | null)?.symbol).filter((s): s is string => typeof s === 'string'))];
  const check = await broker.checkAccount(symbols);
  console.log(`${broker.name} account ${check.accountId}: ${check.balance} ${check.currency}, ${check.openTradeCount} open trade(s), ${check.pendingOrderCount} pending order(s)${check.hedgingEnabled ? ', hedging enabled' : ''}`);
  for (const i of check.instruments) console.log(`  ${i.symbol} → ${i.instrument}: prices to ${i.displayPrecision} decimals, minimum ${i.minimumTradeSize} units`);
  console.log('dry run: nothing was sent');
  return 0;
}

/**
 * The in-process paper venue. Beside a journal file its book (positions, protective orders) is kept
 * in JOURNAL.paper.json, so a second run on the same symbol meets the position the journal says the
 * first one filled, instead of a venue that forgot it and a reconciliation flag.
 */
function paperBroker(a: Args): PaperBroker {
  const broker = new PaperBroker({ seed: Date.now() % 2 ** 31, markets: DEFAULT_MARKETS });
  if (storeUrl(a) !== null) return broker;
  const file = `${journalPath(a, { mustExist: false })}.paper.json`;
  if (existsSync(file)) {
    let state: PaperBrokerState;
    try {
      state = JSON.parse(readFileSync(file, 'utf8')) as PaperBrokerState;
      if (!state || !state.venue || !Array.isArray(state.venue.orders) || !Array.isArray(state.pendingFills)) throw new Error('unexpected shape');
    } catch (e) {
      throw new UsageError(`the paper venue's book ${file} is not readable (${(e as Error).message}); move it away to start from an empty book`);
    }
    broker.restore(state);
  }
  broker.onChange = () => {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.tmp`, JSON.stringify(broker.state()));
    renameSync(`${file}.tmp`, file);
  };
  return broker;
}

/** Raised when the broker does not answer at all: nothing was sent and nothing claimed. */
class UnreachableError extends Error {}

/** The --broker, once it is known to answer (an HTTP broker is asked for /health first). */
async function reachableBroker(a: Args): Promise<BrokerAdapter> {
  const broker = await brokerFrom(a);
  if (broker instanceof HttpBroker) {
    try {
      await broker.checkReachable();
    } catch (e) {
      throw new UnreachableError(`${(e as Error).message}; nothing was sent and no advisory was used (start the broker, then run again)`);
    }
  }
  return broker;
}

/** A broker identity as a person gives it with --broker: an HTTP broker's identity `http:URL` is its URL. */
function brokerLabel(text: string): string {
  return text.replace(/\bhttp:(?=https?:\/\/)/g, '');
}

/** An engine for administration over the --journal file. */
function adminEngine(a: Args, { readOnly = false }: { readOnly?: boolean } = {}) {
  return sharedAdminEngine(journalPath(a, { mustExist: true }), { readOnly });
}

function table(results: readonly ExecutionResult[]): string {
  const rows = results.map((r) => [r.advisoryId ?? '(invalid)', r.status, String(r.filledQuantity), r.fillPrice?.toString() ?? '-', r.stopLoss?.toString() ?? '-', r.takeProfit?.toString() ?? '-', r.requiresManualResolution ? 'YES' : 'no', r.status === 'filled' && !r.requiresManualResolution ? '' : reasonOf(r, { detail: true })]);
  const header = ['advisory', 'status', 'filled', 'fill price', 'SL', 'TP', 'manual', 'reason'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/**
 * Live progress on stderr: one line per change of state (never a repeat), with the time since the
 * execution started and the time left to its hard deadline.
 */
function progressPrinter() {
  const last = new Map<string, string>();
  const advisories = new Map<string, string>();
  const started = new Map<string, number>();
  const clientOrderIds = new Map<string, string>();
  const before = new Map<string, string>();
  const loops = new Map<string, { a: string; b: string; turns: number }>();
  const name = (v: unknown): string => (typeof v === 'string' ? v : Object.entries(v as object).map(([k, x]) => `${k}.${name(x)}`)[0]!);
  const inspect = (ev: { type: string; actorRef: { sessionId: string }; rootId?: string; snapshot?: unknown }) => {
    if (ev.type !== '@xstate.microstep' || ev.actorRef.sessionId !== ev.rootId) return;
    const snap = ev.snapshot as { value: unknown; context: { executionId: string; clientOrderId: string | null; snapshot: { advisoryId: string } | null; deadline: { at: number } | null } };
    const id = snap.context.executionId;
    if (snap.context.clientOrderId) clientOrderIds.set(id, snap.context.clientOrderId);
    const state = name(snap.value);
    if (last.get(id) === state) return;
    const previous = last.get(id);
    last.set(id, state);
    // A loop between two states (look up, pause, look up…) is one line and a count, not hundreds.
    const loop = loops.get(id);
    if (loop && (state === loop.a || state === loop.b)) {
      loop.turns++;
      return;
    }
    if (loop) {
      loops.delete(id);
      if (loop.turns > 0) process.stderr.write(`  ${''.padEnd(24)} … ${loop.a} ↔ ${loop.b} ${Math.ceil(loop.turns / 2)} more time(s)\n`);
    }
    if (previous !== undefined && before.get(id) === state) loops.set(id, { a: state, b: previous, turns: 0 });
    if (previous !== undefined) before.set(id, previous);
    const now = Date.now();
    if (!started.has(id)) started.set(id, now);
    const advisory = snap.context.snapshot?.advisoryId ?? '(invalid input)';
    advisories.set(id, advisory);
    const elapsed = `+${((now - started.get(id)!) / 1000).toFixed(1)} s`;
    const deadlineAt = snap.context.deadline?.at ?? null;
    const left = deadlineAt === null ? '' : deadlineAt > now ? `  ${((deadlineAt - now) / 1000).toFixed(1)} s to deadline` : '  past deadline';
    process.stderr.write(`  ${advisory.padEnd(24)} ${state.padEnd(34)} ${elapsed.padStart(8)}${left}\n`);
  };
  /** What each execution still in flight is doing, and what it will do next. */
  const inFlight = (): string[] =>
    [...last.entries()]
      .filter(([, state]) => !/^(completed|rejected|resolved|flagged)$/.test(state))
      .map(([id, state]) => {
        const next = state.startsWith('live.trading') ? 'works until filled, cancelled or its deadline; then protection and reconciliation' : 'protection and reconciliation';
        return `  ${(advisories.get(id) ?? id).padEnd(24)} ${state}: ${next}`;
      });
  /** The clientOrderId of each execution still in flight that reached the venue. */
  const live = (): string[] =>
    [...last.entries()]
      .filter(([id, state]) => state.startsWith('live.') && clientOrderIds.has(id))
      .map(([id, state]) => `  ${(advisories.get(id) ?? id).padEnd(24)} clientOrderId ${clientOrderIds.get(id)}  (${state})`);
  return { inspect, inFlight, live };
}

/**
 * Waits for every execution. A first SIGINT/SIGTERM winds the engine down without abandoning
 * anything: a `shutdown` hold (new snapshots refused), the cancel of every working entry order
 * (rule 3 DURING), protection for whatever filled and one reconciliation each; the command exits
 * once every execution has settled, or when `graceS` runs out. A second signal exits at once and
 * names every order still live at the venue with the command that resumes it. The journal is
 * intact either way: every record is on disk before anything it describes is sent.
 */
async function settleOrInterrupt(
  engine: { shutdown(o: { reason: string }): Promise<unknown> },
  pending: readonly Promise<ExecutionResult>[],
  graceS: number,
  resumeHint: string,
  shown: { inFlight: () => string[]; live: () => string[] },
): Promise<{ results: (ExecutionResult | null)[]; interrupted: boolean }> {
  const results: (ExecutionResult | null)[] = pending.map(() => null);
  pending.forEach((p, i) => void p.then((r) => (results[i] = r)));
  let interrupted = false;
  let onFirst: (signal: string) => void = () => undefined;
  const liveNow = () => {
    const live = shown.live();
    return live.length === 0 ? 'No order of this run is live at the venue.' : `Still live at the venue, unwatched until resumed:\n${live.join('\n')}\n${resumeHint}`;
  };
  const second = (signal: string) => {
    process.stderr.write(`\nwarden: ${signal} again: stopped at once (journal intact).\n${liveNow()}\n`);
    process.exit(130);
  };
  const graceOver = new Promise<void>((resolve) => {
    onFirst = (signal: string) => {
      interrupted = true;
      const waiting = results.filter((r) => r === null).length;
      process.stderr.write(
        `\nwarden: ${signal}: taking no new snapshots; cancelling the working orders of ${waiting} execution(s) in flight. ` +
          `Whatever already filled is protected and reconciled; the command exits when every execution has settled (at most ${graceS} s). ` +
          'Press Ctrl-C again to exit at once (the journal stays intact; live orders are listed).\n',
      );
      for (const line of shown.inFlight()) process.stderr.write(`${line}\n`);
      process.once('SIGINT', second);
      process.once('SIGTERM', second);
      void engine.shutdown({ reason: `${signal} during warden run` }).catch(() => undefined);
      setTimeout(resolve, graceS * 1000).unref();
    };
  });
  const first = (signal: string) => onFirst(signal);
  process.once('SIGINT', first);
  process.once('SIGTERM', first);
  await Promise.race([Promise.all(pending), graceOver]);
  process.off('SIGINT', first);
  process.off('SIGTERM', first);
  process.off('SIGINT', second);
  process.off('SIGTERM', second);
  if (interrupted && results.some((r) => r === null)) process.stderr.write(`\nwarden: the grace period ended with executions in flight.\n${liveNow()}\n`);
  return { results, interrupted };
}

async function report(results: readonly ExecutionResult[], a: Args): Promise<number> {
  console.log(a.flags.has('--json') ? JSON.stringify(results, null, 2) : table(results));
  return results.some((r) => r.requiresManualResolution || (r.status !== 'filled' && r.status !== 'executed_full_late')) ? 1 : 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(HELP.main);
    return command ? 0 : 2;
  }
  if (!HELP[command]) throw new UsageError(`unknown command "${command}" (warden --help lists them)`);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(helpFor(command));
    return 0;
  }
  const a = parse(command, rest);
  switch (command) {
    case 'run': {
      if (a.positional.length === 0) throw new UsageError('run needs at least one SNAPSHOT.json');
      const snapshots = a.positional.flatMap((file) => {
        let json: unknown;
        try {
          json = JSON.parse(readFileSync(file, 'utf8'));
        } catch (e) {
          throw new UsageError(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'not JSON'}`);
        }
        return Array.isArray(json) ? json : [json];
      });
      // Limits are read and checked before anything is opened: a mistake in them changes nothing.
      const limitsFile = opt(a, '--limits');
      const limits = limitsFile === undefined ? undefined : limitsUsage(limitsFile, () => parseLimits(readLimitsFile(limitsFile)));
      if (a.flags.has('--dry-run')) return dryRun(a, snapshots);
      const url = storeUrl(a);
      const approvers = (a.options.get('--approver') ?? []).map((file) => {
        try {
          return readFileSync(file, 'utf8');
        } catch (e) {
          throw new UsageError(`--approver ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'not readable'}`);
        }
      });
      // A broker that cannot be reached is said once, before any advisory is claimed (and so used up).
      const broker = await reachableBroker(a);
      const journal = url ? await openStore(url) : openJournal(a, { mustExist: false });
      const logBeside = journal instanceof SqliteJournal ? journal.path : join('data', 'warden-fleet');
      const shown = progressPrinter();
      const engine = limitsUsage(limitsFile, () =>
        createEngine({
          broker,
          journal,
          logger: operationalLogger(a, logBeside),
          inspect: shown.inspect as never,
          ...(approvers.length > 0 ? { approvers } : {}),
          ...(limits !== undefined ? { limits } : {}),
        }),
      );
      await engine.recovery;
      const graceS = Number(opt(a, '--grace') ?? DEFAULT_GRACE_S);
      if (!Number.isFinite(graceS) || graceS < 0 || graceS > 600) throw new UsageError(`--grace must be 0-600 seconds, got ${opt(a, '--grace')}`);
      const brokerArg = opt(a, '--broker') ?? 'paper';
      const resumeHint =
        brokerArg === 'paper'
          ? 'The in-process paper venue ended with this process: its orders cannot be resumed.'
          : journal instanceof SqliteJournal
            ? `Resume what is unfinished with: warden recover --broker ${brokerArg}${a.flags.has('--sandbox') ? ' --sandbox' : ''} --journal ${journal.path}`
            : 'Another engine on the store takes what is unfinished over once its lease expires.';
      const { results, interrupted } = await settleOrInterrupt(engine, snapshots.map((s) => engine.execute(s)), graceS, resumeHint, shown);
      const done = results.filter((r): r is ExecutionResult => r !== null);
      if (interrupted) {
        console.log(done.length > 0 ? table(done) : 'no execution finished');
        const open = results.length - done.length;
        if (open > 0) {
          console.log(`\n${open} execution(s) still in flight when the grace period ended.\n${resumeHint}`);
          process.exit(130);
        }
        await engine.close();
        process.exit(130);
      }
      await engine.close();
      return report(done, a);
    }
    case 'recover': {
      const url = storeUrl(a);
      if (url) return fleetRecover(a, url);
      const journal = openJournal(a, { mustExist: true });
      if (opt(a, '--broker') === undefined) {
        // Never a silent default: a fresh paper broker has never seen the orders and would be sent them again.
        const unfinished = restoreFromJournal(journal.restartRecords()).unfinished;
        await journal.close();
        if (unfinished.length === 0) {
          console.log('nothing to recover: every execution in the journal has finished');
          return 0;
        }
        const brokers = [...new Set(unfinished.map((u) => (u.broker ? brokerLabel(u.broker) : 'not recorded (an older journal)')))].join(', ');
        throw new UsageError(`recover needs --broker: ${unfinished.length} unfinished execution(s) were sent to ${brokers}; name that broker (a URL or ccxt:EXCHANGE)`);
      }
      let broker: BrokerAdapter;
      try {
        broker = await reachableBroker(a);
      } catch (e) {
        await journal.close();
        throw e;
      }
      const engine = createEngine({ broker, journal, logger: operationalLogger(a, journal.path), inspect: progressPrinter().inspect as never });
      const results = await engine.recovery;
      await engine.close();
      if (results.length === 0) {
        console.log('nothing to recover: every execution in the journal has finished');
        return 0;
      }
      return report(results, a);
    }
    case 'kill-switch': {
      const [action, state] = a.positional;
      const url = storeUrl(a);
      if (url) return fleetKillSwitch(a, url, action, state);
      if (action === 'set') {
        const symbol = opt(a, '--symbol');
        return operatorCommand(a, { kind: 'kill_switch', state: state as KillSwitchState, ...(symbol ? { symbol } : {}), reason: required(a, '--reason'), operator: required(a, '--operator') });
      }
      if (action !== 'show') throw new UsageError(`kill-switch needs "set" or "show"\n${HELP['kill-switch']}`);
      const { engine } = adminEngine(a, { readOnly: true });
      const only = opt(a, '--symbol');
      const holds = engine.killSwitch.holds(only);
      const symbols = only !== undefined ? [only] : [...new Set([...engine.killSwitch.history().map((c) => c.symbol), ...holds.map((h) => h.symbol)].filter((s): s is string => s !== null))].sort();
      console.log(`global: ${engine.killSwitch.state()}`);
      for (const s of symbols) console.log(`${s}: ${engine.killSwitch.state(s)}`);
      console.log(holds.length === 0 ? 'holds: none' : `holds:\n${describeHolds(holds).map((l) => `  ${l}`).join('\n')}`);
      const history = engine.killSwitch.history().filter((c) => only === undefined || c.symbol === null || c.symbol === only);
      for (const c of history.slice(-10)) console.log(`  ${c.at}  ${c.symbol ?? 'global'} ${c.from} → ${c.to} by ${c.operator}${c.hold ? ` (${c.hold.action} ${c.hold.kind})` : ''}: ${c.reason}`);
      await engine.close();
      return 0;
    }
    case 'limits':
      return limitsCommand(a);
    case 'resolve': {
      const [advisoryId] = a.positional;
      if (!advisoryId) throw new UsageError(`resolve needs an ADVISORY\n${HELP.resolve}`);
      const operator = required(a, '--operator');
      const note = required(a, '--note');
      const url = storeUrl(a);
      if (url) return fleetResolve(url, advisoryId, operator, note);
      return operatorCommand(a, { kind: 'resolve', advisoryId, operator, note });
    }
    case 'approve':
      return (await import('./approve.js')).runApprove(rest);
    case 'trace':
      return (await import('./trace.js')).runTrace(rest);
    case 'flags': {
      const url = storeUrl(a);
      let waiting: ExecutionResult[];
      if (url) {
        // Every engine's flags: results awaiting resolution that no resolution record followed.
        const store = await openStore(url);
        const records = await store.records();
        await store.close();
        const resolved = new Set(records.filter((r) => r.kind === 'resolution').map((r) => r.executionId));
        waiting = records.filter((r) => r.kind === 'result' && (r.payload as ExecutionResult).requiresManualResolution && !resolved.has(r.executionId)).map((r) => r.payload as ExecutionResult);
      } else {
        const { engine } = adminEngine(a, { readOnly: true });
        waiting = engine.awaitingResolution();
        await engine.close();
      }
      if (waiting.length === 0) {
        console.log('no execution awaits resolution');
        return 0;
      }
      for (const r of waiting) {
        console.log(`${r.advisoryId} · ${r.status} · filled ${r.filledQuantity}${r.fillPrice === null ? '' : ` at ${r.fillPrice}`} · ${reasonOf(r, { detail: true })}`);
        for (const m of r.reconciliation?.mismatches ?? []) console.log(`  difference ${m.field}: expected ${JSON.stringify(m.expected)}, broker says ${JSON.stringify(m.actual)} — ${m.message}`);
        console.log(`  resolve with: warden resolve ${r.advisoryId} --operator NAME --note "what was done"${url ? ' --store URL' : ''}`);
      }
      return 1;
    }
    case 'journal': {
      const [action, id] = a.positional;
      const url = storeUrl(a);
      const journal = url ? await openStore(url) : openJournal(a, { mustExist: true, readOnly: true });
      const where = journal instanceof SqliteJournal ? `journal ${journal.path}` : 'store';
      if (action === 'verify') {
        const v: JournalVerification & { writers?: number; records?: number; writer?: string; writerSequence?: number } = await journal.verify({ full: a.flags.has('--full') });
        const count = v.writers !== undefined ? `${v.records} records of ${v.writers} writer(s), hash chains` : `${journal.readAll().length} records, hash chain`;
        console.log(v.ok ? `${where}: ${count} verified${v.from !== undefined ? ` from the checkpoint at record ${v.from} (--full: every record)` : ''}` : `${where}: BROKEN at record ${v.brokenAt}${v.writer !== undefined ? ` (writer ${v.writer}, its record ${v.writerSequence})` : ''}`);
        await journal.close();
        return v.ok ? 0 : 3;
      }
      // A store's records are every engine's, in global order; a file's are its own.
      const records = journal instanceof SqliteJournal ? journal.readAll() : await journal.records();
      // A broken chain is still readable here (read-only), and says so first.
      const brokenAt = (await journal.verify()).brokenAt ?? null;
      await journal.close();
      if (brokenAt !== null) console.error(`warden: CHAIN BROKEN at record ${brokenAt}: records from there on may have been edited; shown as stored`);
      if (action === 'show') {
        if (!id) throw new UsageError('journal show needs an ADVISORY (or execution id)');
        const executions = [...new Set(records.filter((r) => r.executionId && (r.advisoryId === id || r.executionId === id)).map((r) => r.executionId!))];
        if (executions.length === 0) throw new UsageError(`no execution of ${id} in the ${where}`);
        for (const e of executions) {
          console.log(`━━ ${id} · execution ${e}\n${renderTimeline(executionTrail(records, e))}`);
          const result = records.findLast((r) => r.executionId === e && r.kind === 'result')?.payload as ExecutionResult | undefined;
          if (result) console.log(`result: ${result.status}${result.requiresManualResolution ? ', awaiting resolution' : ''}; ${reasonOf(result, { detail: true })}`);
          for (const m of result?.reconciliation?.mismatches ?? []) console.log(`  difference ${m.field}: expected ${JSON.stringify(m.expected)}, broker says ${JSON.stringify(m.actual)} — ${m.message}`);
        }
        return brokenAt === null ? 0 : 3;
      }
      if (action === 'export') {
        if (!a.flags.has('--jsonl')) throw new UsageError('journal export needs --jsonl (the only format)');
        const out = opt(a, '--out');
        if (out) writeFileSync(out, toJsonl(records));
        else process.stdout.write(toJsonl(records));
        if (out) console.log(`exported ${records.length} records to ${out}`);
        return brokenAt === null ? 0 : 3;
      }
      throw new UsageError(`journal needs verify, show or export\n${HELP.journal}`);
    }
    case 'console':
      return serveConsole(a);
    case 'paper-broker': {
      const port = Number(opt(a, '--port') ?? 7070);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0-65535, got ${opt(a, '--port')}`);
      const marketsFile = opt(a, '--markets');
      let markets = DEFAULT_MARKETS;
      if (marketsFile) {
        let json: unknown;
        try {
          json = JSON.parse(readFileSync(marketsFile, 'utf8'));
        } catch (e) {
          throw new UsageError(`${marketsFile}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not JSON (${(e as Error).message})`}`);
        }
        const parsed = PaperMarketsSchema.safeParse(json);
        if (!parsed.success) throw new UsageError(`${marketsFile}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; ')}`);
        markets = parsed.data as Record<string, PaperMarket>;
      }
      const stateFile = opt(a, '--state');
      const service = await startPaperService({ port, markets, seed: Number(opt(a, '--seed') ?? 1), ...(stateFile ? { stateFile } : {}) });
      console.log(`paper broker listening on ${service.url}${stateFile ? ` (state in ${stateFile})` : ''}`);
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', () => resolve());
        process.once('SIGINT', () => resolve());
      });
      await service.close();
      return 0;
    }
  }
  return 2;
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

/**
 * Every `warden` command by name, and the overview `warden --help` prints. A new command is one
 * file in this folder exporting a `Command`, one line in `COMMANDS` and one in `MAIN_HELP`.
 */
import { DEFAULT_JOURNAL, type Command } from '../args.js';
import { approveCommand } from './approve.js';
import { consoleCommand } from './console.js';
import { flagsCommand } from './flags.js';
import { journalCommand } from './journal.js';
import { killSwitchCommand } from './killSwitch.js';
import { limitsCommand } from './limits.js';
import { paperBrokerCommand } from './paperBroker.js';
import { recoverCommand } from './recover.js';
import { resolveCommand } from './resolve.js';
import { runCommand } from './run.js';
import { traceCommand } from './trace.js';

/** The commands, by the name typed after `warden`. */
export const COMMANDS: Readonly<Record<string, Command>> = {
  run: runCommand,
  recover: recoverCommand,
  'kill-switch': killSwitchCommand,
  limits: limitsCommand,
  resolve: resolveCommand,
  approve: approveCommand,
  trace: traceCommand,
  flags: flagsCommand,
  journal: journalCommand,
  console: consoleCommand,
  'paper-broker': paperBrokerCommand,
};

/** The command named, or undefined (never a name inherited from Object). */
export const commandNamed = (name: string): Command | undefined => (Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined);

/** What `warden --help` prints. */
export const MAIN_HELP = `warden: execute approved trade snapshots under Warden's six safety rules

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
OANDA_ACCOUNT. run --dry-run reads the account and the snapshots' instruments and sends nothing.`;

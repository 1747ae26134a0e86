/** `warden run`: executes snapshots with live progress, then a results table; Ctrl-C winds down without abandoning anything. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine, type ExecutionResult } from '../../index.js';
import { OandaBroker } from '../../entries/adapters.js';
import { SqliteJournal } from '../../entries/sqlite.js';
import { parseLimits } from '../../domain/limits.js';
import { readLimitsFile } from '../limits.js';
import { BROKER, JOURNAL, JSON_OUTPUT, opt, STORE, UsageError, type Args, type Command } from '../args.js';
import { brokerFrom, reachableBroker } from '../brokers.js';
import { operationalLogger, progressPrinter, report, table } from '../output.js';
import { openJournal, openStore, storeUrl } from '../sources.js';
import { limitsUsage } from './limits.js';

const HELP = `usage: warden run SNAPSHOT.json… [--broker URL|paper|ccxt:EXCHANGE [--sandbox]|oanda:practice|oanda:live [--dry-run]] [--journal FILE | --store URL] [--limits FILE] [--json]

Executes each snapshot (a JSON file holding one snapshot or an array), showing each state
change on stderr, then prints a results table (or --json). Exit 1 if any execution needs
manual resolution or did not fill.`;

/** How long executions in flight may finish after a first Ctrl-C before the command stops waiting. */
const DEFAULT_GRACE_S = 60;

/** `warden run`, its options and its help. */
export const runCommand: Command = {
  help: HELP,
  options: {
    ...BROKER,
    ...JOURNAL,
    ...STORE,
    ...JSON_OUTPUT,
    approver: { type: 'string', multiple: true, help: 'a public key (PEM file) whose signature approvals need; repeat for several' },
    limits: { type: 'string', help: 'pre-trade limits (strict JSON file; see warden limits --help)' },
    grace: { type: 'string', help: `after a first Ctrl-C (working orders cancelled, fills protected and reconciled), the most seconds to wait for every execution to settle (default ${DEFAULT_GRACE_S})` },
    'dry-run': { type: 'boolean', help: 'with oanda: read the account and instruments, send nothing' },
  },
  positionals: [1, Infinity],
  run,
};

async function run(a: Args): Promise<number> {
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

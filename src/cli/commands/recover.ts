/** `warden recover`: resumes executions a stopped process (or, with --store, a stopped engine) left unfinished. */
import { join } from 'node:path';
import { createEngine, type BrokerAdapter, type ExecutionResult } from '../../index.js';
import { identityOf } from '../../engine/claims.js';
import { restoreFromJournal } from '../../engine/restore.js';
import { BROKER, JOURNAL, JSON_OUTPUT, opt, STORE, UsageError, type Args, type Command } from '../args.js';
import { brokerFrom, brokerLabel, reachableBroker } from '../brokers.js';
import { operationalLogger, progressPrinter, report } from '../output.js';
import { openJournal, openStore, storeUrl } from '../sources.js';

const HELP = `usage: warden recover --broker URL|ccxt:EXCHANGE [--sandbox] [--journal FILE | --store URL] [--json]

Resumes executions left unfinished in the journal: each order is looked up by clientOrderId
first and never resent blindly; the stored deadline still applies. --broker is required and must
be the broker the orders went to (each claim in the journal records it): any other broker would
not know the orders and would be sent them again. With --store, it takes over what engines that
stopped left unfinished on the store, once their leases expired (any running engine on the store
does the same by itself); those sent to another broker are named and left alone (exit 2 when
none is this broker's, 1 when some were left).`;

/** `warden recover`, its options and its help. */
export const recoverCommand: Command = { help: HELP, options: { ...BROKER, ...JOURNAL, ...STORE, ...JSON_OUTPUT }, positionals: [0, 0], run: recover };

async function recover(a: Args): Promise<number> {
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
  const broker = await brokerFrom(a);
  // The executions engines that stopped left, and where their orders went: an engine takes over
  // only those sent to its own broker, so the others are named here, never left to a log.
  const mine = identityOf(broker);
  const left = await Promise.all((await store.expiredLeases()).map(async (l) => ({ executionId: l.executionId, broker: (await store.claimOf(l.executionId))?.broker ?? null })));
  const elsewhere = left.filter((l) => l.broker !== null && l.broker !== mine);
  const otherBrokers = [...new Set(elsewhere.map((l) => brokerLabel(l.broker!)))].join(', ');
  if (elsewhere.length > 0 && elsewhere.length === left.length) {
    await store.close();
    throw new UsageError(`recover --store: ${elsewhere.length} unfinished execution(s) were sent to ${otherBrokers}, not to ${brokerLabel(mine)}; name that broker with --broker (as the claims record it)`);
  }
  const ours = (executionId: string) => !elsewhere.some((l) => l.executionId === executionId);
  const results: ExecutionResult[] = [];
  let pending = 0;
  const engine = createEngine({
    broker,
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
  while (Date.now() < until && (pending > 0 || (await store.expiredLeases()).some((l) => ours(l.executionId)))) await new Promise((r) => setTimeout(r, 250));
  await engine.close();
  if (elsewhere.length > 0) console.error(`warden: ${elsewhere.length} other unfinished execution(s) were sent to ${otherBrokers}: not recovered here; run recover --store again with that --broker`);
  if (results.length === 0) {
    console.log('nothing to recover: no execution on the store was left unfinished by an engine that stopped');
    return elsewhere.length > 0 ? 1 : 0;
  }
  const code = await report(results, a);
  return elsewhere.length > 0 ? Math.max(1, code) : code;
}

/** `warden limits show|set`: the journal's latest pre-trade limits, or a tightening for the engine running on it. */
import { WardenUsageError } from '../../index.js';
import { LIMIT_OPTIONS, limitsChangeFrom, renderLimits } from '../limits.js';
import { JOURNAL, opt, required, STORE, symbolOption, takesOnly, UsageError, type Args, type Command } from '../args.js';
import { BROKEN_CHAIN_EXIT, chainBroken, openJournal, openStore, operatorCommand, storeUrl } from '../sources.js';
import { fleetLimitsCommand } from '../fleetLimits.js';

const HELP = `usage: warden limits show [--journal FILE | --store URL]
       warden limits set [--symbol S] [--max-quantity N] [--max-notional N] [--max-position N]
                         [--max-orders-per-minute N] [--price-collar-pct P] [--all-max-orders-per-minute N]
                         --operator O --reason R [--journal FILE | --store URL]

Pre-trade limits no approval overrides (set at start: warden run --limits FILE, strict JSON,
e.g. {"symbols": {"*": {"maxQuantity": 100000}, "EURUSD": {"priceCollarPct": 0.005}}, "maxOrdersPerMinute": 60}).
set tightens the limits of the engine running on the journal (--symbol, default "*"); it refuses
to loosen any limit, and with no engine running it changes nothing. show prints the journal's latest limits.
With --store, the fleet's: set writes the tightening for every engine on the store (each applies it
within a second and journals it); it refuses to loosen any engine's limits. show prints each engine's.`;

/** `warden limits`, its options and its help. */
export const limitsCommand: Command = {
  help: HELP,
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
  run: limits,
};

/** A problem with the limits (a file, a field, a collar the broker cannot quote) as one usage line naming the file. */
export function limitsUsage<T>(file: string | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (file === undefined || !(e instanceof WardenUsageError || (e instanceof Error && e.message.startsWith('--limits')))) throw e;
    throw new UsageError(e.message.startsWith('--limits') ? e.message : `--limits ${file}: ${e.message}`);
  }
}

/** `limits show|set`: the journal's latest limits, or a tightening for the engine running on it. */
async function limits(a: Args): Promise<number> {
  const [action] = a.positional;
  // show reads; an option of set given to it (--symbol, --max-position, …) would be ignored: refused instead.
  if (action === 'show') takesOnly(a, 'limits show', { positionals: 1, options: ['--journal', '--store'] });
  else if (action !== 'set') throw new UsageError(`limits needs "show" or "set"\n${HELP}`);
  const url = storeUrl(a);
  if (url !== null) return fleetLimits(a, url, action);
  if (action === 'show') {
    const journal = openJournal(a, { mustExist: true, readOnly: true });
    const broken = await chainBroken(journal);
    // The restart set holds the limits a restart carries on, archived or not (retained copies); the journal's own records, every one it holds.
    const records = [...journal.restartRecords(), ...journal.readAll()];
    await journal.close();
    console.log(renderLimits(records));
    return broken ? BROKEN_CHAIN_EXIT : 0;
  }
  const fields = Object.fromEntries([...Object.keys(LIMIT_OPTIONS), 'all-max-orders-per-minute'].flatMap((o) => (opt(a, `--${o}`) === undefined ? [] : [[o, opt(a, `--${o}`)!]])));
  const symbol = symbolOption(a, { orAll: true });
  let change;
  try {
    change = limitsChangeFrom({ symbol, fields });
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
      request = { action, change: limitsChangeFrom({ symbol: symbolOption(a, { orAll: true }), fields }), operator: required(a, '--operator'), reason: required(a, '--reason') };
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

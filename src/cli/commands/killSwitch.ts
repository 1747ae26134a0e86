/** `warden kill-switch set|show`: the operators' hold on a journal, or the fleet's switch on a store. */
import type { KillSwitchState } from '../../index.js';
import { describeHolds } from '../../engine/holdWords.js';
import { JOURNAL, required, STORE, symbolOption, takesOnly, UsageError, type Args, type Command } from '../args.js';
import { adminEngine, BROKEN_CHAIN_EXIT, chainBroken, openStore, operatorCommand, storeUrl } from '../sources.js';

const HELP = `usage: warden kill-switch set off|warning|active [--symbol S] --reason R --operator O [--journal FILE | --store URL]
       warden kill-switch show [--symbol S] [--journal FILE | --store URL]

A scope is halted by holds, each lifted only by what raised it: \`set\` changes the operators' hold
and nothing else, and prints the holds that remain (a reconciliation flag's is lifted by resolving
it; a journal, fenced or shutdown hold by a restart of that engine). \`show\` lists every hold with
what lifts it. With --store the operators' switch is the fleet's: every engine on the store applies
it to its executions.`;

/** `warden kill-switch`, its options and its help. */
export const killSwitchCommand: Command = {
  help: HELP,
  options: {
    ...JOURNAL,
    ...STORE,
    symbol: { type: 'string', help: 'the symbol (default: the global switch)' },
    reason: { type: 'string', help: 'why (required to set)' },
    operator: { type: 'string', help: 'who (required to set)' },
  },
  positionals: [1, 2],
  run: killSwitch,
};

const STATES: readonly string[] = ['off', 'warning', 'active'];

async function killSwitch(a: Args): Promise<number> {
  const [action, state] = a.positional;
  // What each action does not understand is refused before anything is opened.
  if (action === 'set') {
    takesOnly(a, 'kill-switch set', { positionals: 2, options: ['--journal', '--store', '--symbol', '--reason', '--operator'] });
    if (state === undefined || !STATES.includes(state)) throw new UsageError(`kill-switch set needs a state: off, warning or active${state === undefined ? '' : ` (got "${state}")`}`);
  } else if (action === 'show') takesOnly(a, 'kill-switch show', { positionals: 1, options: ['--journal', '--store', '--symbol'] });
  else throw new UsageError(`kill-switch needs "set" or "show"\n${HELP}`);
  const symbol = symbolOption(a);
  const url = storeUrl(a);
  if (url) return fleetKillSwitch(a, url, action, state as KillSwitchState, symbol);
  if (action === 'set') return operatorCommand(a, { kind: 'kill_switch', state: state as KillSwitchState, ...(symbol ? { symbol } : {}), reason: required(a, '--reason'), operator: required(a, '--operator') });
  const { journal, engine } = adminEngine(a, { readOnly: true });
  const broken = await chainBroken(journal);
  const holds = engine.killSwitch.holds(symbol);
  const symbols = symbol !== undefined ? [symbol] : [...new Set([...engine.killSwitch.history().map((c) => c.symbol), ...holds.map((h) => h.symbol)].filter((s): s is string => s !== null))].sort();
  console.log(`global: ${engine.killSwitch.state()}`);
  for (const s of symbols) console.log(`${s}: ${engine.killSwitch.state(s)}`);
  console.log(holds.length === 0 ? 'holds: none' : `holds:\n${describeHolds(holds).map((l) => `  ${l}`).join('\n')}`);
  const history = engine.killSwitch.history().filter((c) => symbol === undefined || c.symbol === null || c.symbol === symbol);
  for (const c of history.slice(-10)) console.log(`  ${c.at}  ${c.symbol ?? 'global'} ${c.from} → ${c.to} by ${c.operator}${c.hold ? ` (${c.hold.action} ${c.hold.kind})` : ''}: ${c.reason}`);
  await engine.close();
  return broken ? BROKEN_CHAIN_EXIT : 0;
}

/** `kill-switch set|show --store`: the fleet's switch, which every engine on the store applies at once. */
async function fleetKillSwitch(a: Args, url: string, action: 'set' | 'show', state: KillSwitchState, symbol: string | undefined): Promise<number> {
  const store = await openStore(url);
  try {
    if (action === 'set') {
      const change = await store.setKillSwitch({ state, ...(symbol ? { symbol } : {}), reason: required(a, '--reason'), operator: required(a, '--operator') });
      console.log(`${change.symbol ?? 'global'}: ${change.from} → ${change.to} for the fleet (change ${change.id}): every engine on the store applies it to its executions`);
      // What the operators' switch does not lift: the fleet's open flags (each engine's own holds are its own).
      const flags = (await store.openFlags()).filter((f) => change.symbol === null || f.symbol === change.symbol);
      const operatorGlobal = change.symbol === null ? 'off' : ((await store.killSwitches()).find((s) => s.symbol === null && s.type !== 'reconciliation')?.state ?? 'off');
      const remaining = [...(operatorGlobal !== 'off' ? [`  global ${operatorGlobal} — operator; lifted by an operator's \`set off\` on the global scope`] : []), ...flags.map((f) => `  ${f.symbol} warning — reconciliation (advisory ${f.result.advisoryId}); lifted by resolving its flag (\`warden resolve ${f.result.advisoryId} --store …\`)`)];
      if (remaining.length > 0) console.log(`still halted by ${remaining.length} other hold${remaining.length === 1 ? '' : 's'}:\n${remaining.join('\n')}`);
      return 0;
    }
    const switches = (await store.killSwitches()).filter((s) => s.type !== 'reconciliation' && (symbol === undefined || s.symbol === null || s.symbol === symbol));
    const flags = (await store.openFlags()).filter((f) => symbol === undefined || f.symbol === symbol);
    console.log(`global: ${switches.find((s) => s.symbol === null)?.state ?? 'off'}`);
    for (const s of switches) if (s.symbol !== null) console.log(`${s.symbol}: ${s.state}`);
    for (const f of flags) console.log(`${f.symbol}: warning — reconciliation hold for advisory ${f.result.advisoryId} (${f.result.reconciliation?.status ?? 'unavailable'}); lifted by resolving its flag`);
    for (const c of (await store.killSwitchHistory()).filter((c) => symbol === undefined || c.symbol === null || c.symbol === symbol).slice(-10)) console.log(`  ${c.at}  ${c.symbol ?? 'global'} ${c.from} → ${c.to} by ${c.operator}${c.type === 'reconciliation' ? ' (flag announcement)' : ''}: ${c.reason}`);
    return 0;
  } finally {
    await store.close();
  }
}

/** `warden resolve`: clears a reconciliation flag after an operator checked by hand. */
import { positionDifference } from '../../rules/reconciliation.js';
import { JOURNAL, required, STORE, UsageError, type Args, type Command } from '../args.js';
import { openStore, operatorCommand, storeUrl } from '../sources.js';

const HELP = `usage: warden resolve ADVISORY --operator O --note N [--journal FILE | --store URL]

With --store, any engine's flag: every engine of the fleet hears the resolution.`;

/** `warden resolve`, its options and its help. */
export const resolveCommand: Command = { help: HELP, options: { ...JOURNAL, ...STORE, operator: { type: 'string', help: 'who checked' }, note: { type: 'string', help: 'what was done' } }, positionals: [1, 1], run: resolve };

async function resolve(a: Args): Promise<number> {
  const [advisoryId] = a.positional;
  if (!advisoryId) throw new UsageError(`resolve needs an ADVISORY\n${HELP}`);
  const operator = required(a, '--operator');
  const note = required(a, '--note');
  const url = storeUrl(a);
  if (url) return fleetResolve(url, advisoryId, operator, note);
  return operatorCommand(a, { kind: 'resolve', advisoryId, operator, note });
}

/**
 * `resolve --store`: resolves any engine's flag. The resolution is journaled in the store (with the
 * venue's position figure it adopts, if its reconciliation found one: the store moves the fleet's
 * position in the same transaction), then the
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
    // The venue's position figure of that reconciliation becomes the fleet's (rule 6), in the resolution's own transaction.
    const positionAdjustment = positionDifference(flag.result.reconciliation, flag.symbol);
    store.append({ kind: 'resolution', executionId: flag.result.executionId, advisoryId, snapshotHash: flag.result.snapshotHash, event: 'RESOLVE', payload: { operator, note, ...(positionAdjustment ? { positionAdjustment } : {}) } });
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

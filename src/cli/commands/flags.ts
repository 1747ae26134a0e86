/** `warden flags`: every execution waiting for an operator's resolve(), with its differences. */
import type { ExecutionResult } from '../../index.js';
import { reasonOf } from '../../journal/reasons.js';
import { JOURNAL, STORE, type Args, type Command } from '../args.js';
import { adminEngine, BROKEN_CHAIN_EXIT, chainBroken, openStore, storeUrl } from '../sources.js';

const HELP = `usage: warden flags [--journal FILE | --store URL]

Lists every execution waiting for an operator's resolve(), with its reconciliation differences.
Exit 1 while any waits, 0 when none does; with --journal, 3 when the journal's chain is broken (the
listing is then read from records that may have been edited; warden journal verify --store
checks a store's).`;

/** `warden flags`, its options and its help. */
export const flagsCommand: Command = { help: HELP, options: { ...JOURNAL, ...STORE }, positionals: [0, 0], run: flags };

async function flags(a: Args): Promise<number> {
  const url = storeUrl(a);
  let waiting: ExecutionResult[];
  let broken = false;
  if (url) {
    // Every engine's flags: results awaiting resolution that no resolution record followed.
    const store = await openStore(url);
    const records = await store.records();
    await store.close();
    const resolved = new Set(records.filter((r) => r.kind === 'resolution').map((r) => r.executionId));
    waiting = records.filter((r) => r.kind === 'result' && (r.payload as ExecutionResult).requiresManualResolution && !resolved.has(r.executionId)).map((r) => r.payload as ExecutionResult);
  } else {
    const { journal, engine } = adminEngine(a, { readOnly: true });
    broken = await chainBroken(journal);
    waiting = engine.awaitingResolution();
    await engine.close();
  }
  if (waiting.length === 0) {
    console.log('no execution awaits resolution');
    return broken ? BROKEN_CHAIN_EXIT : 0;
  }
  for (const r of waiting) {
    console.log(`${r.advisoryId} · ${r.status} · filled ${r.filledQuantity}${r.fillPrice === null ? '' : ` at ${r.fillPrice}`} · ${reasonOf(r, { detail: true })}`);
    for (const m of r.reconciliation?.mismatches ?? []) console.log(`  difference ${m.field}: expected ${JSON.stringify(m.expected)}, broker says ${JSON.stringify(m.actual)} — ${m.message}`);
    console.log(`  resolve with: warden resolve ${r.advisoryId} --operator NAME --note "what was done"${url ? ' --store URL' : ''}`);
  }
  return broken ? BROKEN_CHAIN_EXIT : 1;
}

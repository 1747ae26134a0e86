/**
 * `npm start`: nine scenarios against PaperBroker on a virtual clock (30 s deadlines pass in
 * milliseconds). Each prints its state timeline from the journal; a table closes the run.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino } from 'pino';
import { createEngine, freezeSnapshot, PaperBroker, type ExecutionResult, type PaperMarket } from '../index.js';
import { executionTrail, renderTimeline, toJsonl } from '../entries/journal.js';
import { SqliteJournal } from '../entries/sqlite.js';
import { VirtualClock } from '../testing/index.js';
import { reasonOf } from '../journal/reasons.js';

const option = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const value = process.argv[i + 1];
  if (!value || value.startsWith('--')) {
    console.error(`demo: ${name} needs a file name`);
    process.exit(2);
  }
  return value;
};
/** Also write the run's records as JSON Lines, the forensic hand-off format. */
const jsonlFile = option('--jsonl');

/**
 * The nine scenarios span about 10 minutes of simulated time (deadlines, then a minute between
 * scenarios). The simulated clock starts a little longer than that before now, so the journal's times read as real
 * ones that have just happened: none lies in the future.
 */
const SIMULATED_SPAN_MS = 12 * 60_000;
const REAL_START = Date.now();
const START = REAL_START - SIMULATED_SPAN_MS;
const RUN = new Date(REAL_START).toISOString().replace(/[-:.Z]/g, ''); // e.g. 20261124T101500123
/**
 * Every run writes a fresh durable journal (data/demo-<time>.journal.sqlite): the scenarios set
 * switches and open positions, and a second run over the first one's record would inherit them.
 */
const journalPath = option('--journal') ?? `${option('--data') ?? 'data'}/demo-${RUN}.journal.sqlite`;
if (existsSync(journalPath)) {
  console.error(`demo: ${journalPath} exists; the demo writes a fresh journal each run (omit --journal, or name a new file)`);
  process.exit(2);
}
const clock = new VirtualClock(START);
const iso = (ms: number) => new Date(ms).toISOString();

interface Scenario {
  readonly name: string;
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly market: PaperMarket;
  /** Runs around the execution: may set kill switches before, during or after. */
  readonly setup?: () => void;
  readonly after?: (result: ExecutionResult) => void;
}

const scenarios: Scenario[] = [
  { name: 'clean fill (long)', symbol: 'EURUSD', side: 'buy', market: { price: 1.1, fillAfterMs: 150 } },
  { name: 'clean fill (short)', symbol: 'GBPUSD', side: 'sell', market: { price: 1.27, fillAfterMs: 150 } },
  {
    name: 'kill switch before',
    symbol: 'USDJPY',
    side: 'buy',
    market: { price: 150.2 },
    setup: () => engine.killSwitch.set('active', { symbol: 'USDJPY', reason: 'central bank announcement', operator: 'ops' }),
    after: () => engine.killSwitch.set('off', { symbol: 'USDJPY', reason: 'announcement over', operator: 'ops' }),
  },
  {
    name: 'kill switch during (cancel)',
    symbol: 'AUDUSD',
    side: 'buy',
    market: { price: 0.66, fillAfterMs: 20_000 },
    setup: () => void clock.setTimeout(() => engine.killSwitch.set('active', { symbol: 'AUDUSD', reason: 'risk limit hit', type: 'risk_limit', operator: 'risk-bot' }), 2_000),
    after: () => engine.killSwitch.set('off', { symbol: 'AUDUSD', reason: 'limit reset', operator: 'ops' }),
  },
  {
    name: 'kill switch after (position stays)',
    symbol: 'USDCHF',
    side: 'sell',
    market: { price: 0.88, fillAfterMs: 150 },
    setup: () => (armAfterFill = 'USDCHF'),
    after: () => engine.killSwitch.set('off', { symbol: 'USDCHF', reason: 'reviewed', operator: 'ops' }),
  },
  { name: 'no fill → timeout', symbol: 'NZDUSD', side: 'buy', market: { price: 0.59, noLiquidity: true } },
  { name: 'late fill after the deadline', symbol: 'USDCAD', side: 'buy', market: { price: 1.4, fillAfterMs: 29_995 } },
  {
    name: 'partial fill at the deadline',
    symbol: 'EURGBP',
    side: 'sell',
    market: { price: 0.86, fillSteps: [{ afterMs: 3_000, fraction: 0.4 }, { afterMs: 60_000, fraction: 0.6 }] },
  },
  {
    name: 'reconciliation mismatch',
    symbol: 'XAUUSD',
    side: 'buy',
    market: { price: 2650, fillAfterMs: 150 },
    after: (r) => {
      console.log(`\n  ${r.reconciliation?.mismatches.map((m) => `mismatch ${m.field}: expected ${String(m.expected)}, broker says ${String(m.actual)}`).join('\n  ')}`);
      console.log(`  symbol XAUUSD kill switch is now '${engine.killSwitch.state('XAUUSD')}' until an operator resolves it`);
      // Left for an operator, as on a real desk: the console's Flags page (npm run console) or `warden resolve`.
      console.log(`  resolve it on the console's Flags page (npm run console), or: npx warden resolve ${r.advisoryId} --operator NAME --note "what was checked" --journal ${journalPath}`);
    },
  },
];

const broker = new PaperBroker({
  clock,
  seed: 2026,
  latencyMs: [20, 20],
  markets: Object.fromEntries(scenarios.map((s) => [s.symbol, s.market])),
  // A position someone opened by hand: the reconciliation scenario finds it.
  initialPositions: { XAUUSD: { quantity: 2, averagePrice: 2601.5 } },
});

let armAfterFill: string | null = null;
mkdirSync(dirname(journalPath), { recursive: true });
const journal = new SqliteJournal(journalPath, clock);
const engine = createEngine({
  broker,
  journal,
  clock,
  logger: pino({ level: 'silent' }),
  // Sets the kill switch the moment an order has filled: rule 3 AFTER.
  inspect: (ev) => {
    if (armAfterFill && ev.type === '@xstate.microstep' && JSON.stringify((ev.snapshot as unknown as { value: unknown }).value).includes('protecting')) {
      const symbol = armAfterFill;
      armAfterFill = null;
      queueMicrotask(() => engine.killSwitch.set('active', { symbol, reason: 'desk closing', operator: 'ops' }));
    }
  },
});

const rows: string[][] = [];
let failure: unknown = null;
try {
  for (const [i, s] of scenarios.entries()) {
    const now = clock.now();
    const snapshot = freezeSnapshot({
      advisoryId: `demo-${RUN}-${i + 1}`,
      symbol: s.symbol,
      side: s.side,
      positionSize: s.symbol === 'XAUUSD' ? 1 : 10_000,
      referencePrice: s.market.price,
      slOffsetPct: s.side === 'buy' ? -0.005 : 0.005,
      tpOffsetPct: s.side === 'buy' ? 0.01 : -0.01,
      createdAt: iso(now - 60_000),
      expiresAt: iso(now + 15 * 60_000),
      approval: { approvedBy: 'alice', approvedAt: iso(now - 30_000) },
    });
    console.log(`\n━━ ${i + 1}. ${s.name} — ${s.side} ${snapshot.positionSize} ${s.symbol} @ ${s.market.price}`);
    s.setup?.();
    const result = await clock.run(engine.execute(snapshot));
    console.log(renderTimeline(executionTrail(await engine.journal.records(), result.executionId)));
    rows.push([
      s.name,
      result.status,
      String(result.filledQuantity),
      result.fillPrice === null ? '-' : result.fillPrice.toFixed(5),
      result.stopLoss === null ? '-' : result.stopLoss.toFixed(5),
      result.takeProfit === null ? '-' : result.takeProfit.toFixed(5),
      result.killSwitch.phase ? `${result.killSwitch.state} ${result.killSwitch.phase}` : '-',
      result.requiresManualResolution ? 'YES' : 'no',
      reasonOf(result, { detail: false }),
    ]);
    s.after?.(result);
    await clock.advance(60_000);
  }
} catch (e) {
  failure = e; // the table below still shows what ran
}

const header = ['scenario', 'status', 'filled', 'fill price', 'SL', 'TP', 'kill switch', 'manual', 'reason'];
const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
console.log(`\n${line(header)}\n${widths.map((w) => '─'.repeat(w)).join('  ')}\n${rows.map(line).join('\n')}`);
const verification = await engine.journal.verify();
console.log(`\njournal: ${(await engine.journal.records()).length} records in all, hash chain ${verification.ok ? 'verified' : `BROKEN at ${verification.brokenAt}`}`);
const mine = (await engine.journal.records()).filter((r) => r.at >= new Date(START).toISOString());
console.log(`journal: ${journalPath} (durable, this run's own; its advisories are demo-${RUN}-1…9)`);
console.log('see it in the browser: npm run console');
if (jsonlFile) {
  writeFileSync(jsonlFile, toJsonl(mine));
  console.log(`this run's records written to ${jsonlFile}; explain an advisory with: npm run trace -- ${jsonlFile} demo-${RUN}-7`);
}
if (clock.now() > Date.now()) console.error(`demo: the simulated run ended ${Math.ceil((clock.now() - Date.now()) / 1000)} s ahead of the wall clock; SIMULATED_SPAN_MS needs raising`);
await engine.close();
if (failure !== null) {
  console.error(`\ndemo: stopped after ${rows.length} of ${scenarios.length} scenarios: ${failure instanceof Error ? failure.message : String(failure)}`);
  process.exitCode = 1;
}

/**
 * `npm run bench [-- --quick]`: the four benchmarks, with figures written to docs/performance.md.
 * Run with --expose-gc (the npm script does) so heap figures are taken after a collection.
 */
import { writeFileSync } from 'node:fs';
import { benchConcurrency } from './concurrency.js';
import { benchJournal } from './journal.js';
import { benchKillSwitch, killSwitchRuns } from './killSwitch.js';
import { benchOverhead } from './overhead.js';
import { benchImportCost } from './importCost.js';
import { benchJournalOpen, journalOpenSection } from './journalOpen.js';
import { benchJournalMemory } from './journalMemory.js';
import { fmt, machine, quick, range } from './util.js';

const command = `npm run bench${quick ? ' -- --quick' : ''}`;
console.log(`${command} on ${machine()}\n1. engine overhead`);
const overhead = await benchOverhead();
console.log('2. kill-switch reaction');
const kill = await benchKillSwitch();
console.log('3. concurrency and memory');
const conc = await benchConcurrency();
console.log('4. journal');
const journal = await benchJournal();
console.log('4b. heap held by the in-memory journal');
const journalMemory = await benchJournalMemory();
console.log('4c. opening a large journal');
const journalOpen = benchJournalOpen();
console.log('5. import cost of the root entry');
const importCost = benchImportCost();

const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
const k1000 = kill.find((k) => k.n === 1_000 && !k.batch);
const k10000 = kill.find((k) => k.n === 10_000 && !k.batch);
const doc = `# Performance

Measured with \`${command}\` on ${machine()}. The machine is shared and noisy. Figures are medians
with (min–max) over several runs, and every comparison is against a baseline run in the same
process. Regenerate this file with the same command.

## 1. Engine overhead per execution

A full happy path (validate, submit, fill, protect, reconcile, result) against an instant
in-memory broker. The baseline is a plain async function making the same broker calls and doing
the same rule arithmetic (SL/TP, slippage, reconciliation diff), with no statechart and no journal.
${overhead.rounds} rounds of ${overhead.perRound} executions each, alternated with the baseline.

| | µs per execution |
|---|---|
| baseline (same broker calls and rules, nothing else) | ${range(overhead.baseline)} |
| XState floor (\`bench/floor.ts\`: the same microsteps, actors and 30 s timer, a lean 17-record SHA-256 chain, zod on the four answers) | ${range(overhead.floor)} |
| \`engine.execute\` (statechart, journal of every transition and call, result) | ${range(overhead.warden)} |
| ratio to the baseline | ${range(overhead.ratio, 1, '×')} |
| ratio to the XState floor (target ≤ 1.25×) | ${range(overhead.floorRatio, 2, '×')} |

**Targets: ≤ 100 µs and ≤ 3× the baseline. Both are missed**, by about ${fmt(overhead.warden.median / 100, 1)}× and ${fmt(overhead.ratio.median / 3, 0)}×.

Where the time goes (\`node --cpu-prof\`):

| part | µs per execution |
|---|---|
| the XState actor alone (about 10 macrosteps, 6 invoked child actors) | about 280 |
| the hash-chained journal (17 records: SHA-256, JSON, payload sanitising) | about 200 |
| the engine's wiring (inspection, ledger, result) | about 50 |

What was changed:

- The journal hash no longer sorts keys recursively (about 6 %).
- A position ledger replaces a scan over every execution ever run; that scan cost about 150 µs
  at 4,000 executions and kept growing.
- A push is matched on \`clientOrderId\` before it is parsed.

What would close the gap:

- Fewer journal records per execution, e.g. one record per macrostep rather than per microstep,
  and hashing in batches (a group commit of the chain).
- Fewer \`assign\` calls on a large context.
- No inspection events unless an inspector is attached, which means journaling transitions by
  another route.

Against a real broker, an execution makes at least four round trips of 5 to 200 ms, so Warden's
own ${fmt(overhead.warden.median / 1000, 2)} ms is about ${fmt((overhead.warden.median / 1000 / 80) * 100, 1)} % of an execution against a nearby venue (4 × 20 ms).

## 2. Kill-switch reaction

N executions working (acknowledged, never filled), ${killSwitchRuns} runs each (\`bench/killSwitch.ts\`). From
\`killSwitch.set('active')\`: the time until the adapter has been asked to cancel the last of them,
the longest the event loop was held at a stretch meanwhile, and the time until every execution has
heard of the switch and is in \`stopping\`. "batch" is a venue with \`cancelOrders\` (one call for all).

| working executions | ms until every cancel is requested | per execution | longest event-loop hold (ms) | ms until every execution is told |
|---|---|---|---|---|
${kill.map((k) => `| ${k.n.toLocaleString('en')}${k.batch ? ', batch' : ''} | ${range(k.ms, 2)} | ${fmt(k.perExecutionUs, 1)} µs | ${range(k.blockMs, 1)} | ${range(k.toldMs, 0)} |`).join('\n')}

Targets: every cancel requested within 10 ms at N = 1,000 and 100 ms at N = 10,000, without holding
the event loop longer. ${k1000 ? (k1000.ms.median <= 10 ? `**Met at 1,000** (${fmt(k1000.ms.median, 2)} ms).` : `**Missed at 1,000**: ${fmt(k1000.ms.median, 2)} ms.`) : ''} ${k10000 ? (k10000.ms.median <= 100 ? `**Met at 10,000** (${fmt(k10000.ms.median, 1)} ms).` : `**Missed at 10,000**: ${fmt(k10000.ms.median, 1)} ms.`) : ''}
Before this change the switch was delivered to each execution in turn inside \`set()\`, each
running a macrostep, writing its records and starting its own cancel: about 180 ms for 1,000 and
2.2 s for 10,000, all of it holding the event loop.

How: the engine asks the chart which orders the switch cancels (\`killSwitchCancelTarget\`, the
same rule as the region's \`always\`), writes one \`broker.request\` record \`cancelOrders\` naming
them all (at most 1,000 a record), and sends them through the checked boundary at once. Then it
tells the executions in slices of a few milliseconds (\`KILL_SWITCH\` with \`cancelRequested\`);
each goes through stopping, look-up and reconciliation as before. An execution that would hear
anything else first (an answer, a push, a poll, its own timer) is told first. Telling every
execution still costs about 200 µs each (the last column): that is spread out, not avoided.

## 3. Concurrency and memory

${conc.n.toLocaleString('en')} executions (${conc.runs} runs) against the paper broker with realistic latency (acknowledgement after 50 ms, fill
after 200 ms) on real timers. The journal counts records and keeps none, so memory is the
executions' own (with the paper broker's book). Heap is measured after a forced collection
${conc.gcExposed ? '' : '(not available in this run: figures include garbage) '}at the peak.

| arrival | executions/s | peak in flight | heap per in-flight execution | event-loop delay p99 / max |
|---|---|---|---|---|
| all ${conc.n.toLocaleString('en')} started at once | ${range(conc.allAtOnce.perSecond, 0)} | ${conc.allAtOnce.peakInFlight.toLocaleString('en')} | ${kib(conc.allAtOnce.bytesPerExecution.median)} (${kib(conc.allAtOnce.bytesPerExecution.min)}–${kib(conc.allAtOnce.bytesPerExecution.max)}) | ${fmt(conc.allAtOnce.p99Ms.median, 0)} / ${fmt(conc.allAtOnce.maxMs.median, 0)} ms |
| bursts of ${conc.spread.burst} per tick | ${range(conc.spread.perSecond, 0)} | ${conc.spread.peakInFlight.toLocaleString('en')} | | ${range(conc.spread.p99Ms, 1)} / ${fmt(conc.spread.maxMs.median, 1)} ms |

Targets: ≤ 20 KB per execution and no event-loop stall above 50 ms.

- **Heap: ${conc.allAtOnce.bytesPerExecution.median <= 20_000 ? 'met' : 'missed'}.** ${Math.round(conc.allAtOnce.bytesPerExecution.median).toLocaleString('en')} bytes (median) per execution with all ${conc.n.toLocaleString('en')} in flight, the paper broker's book included.
  An XState actor with six child actors and a 30-field context is most of it.
- **Event-loop stalls: missed.**
  Starting ${conc.n.toLocaleString('en')} executions in one synchronous loop blocks for about
  n × the start cost. Even with arrivals spread out, a single thread that completes about
  ${fmt(conc.spread.perSecond.median, 0)} executions/s at roughly ${fmt(1_000_000 / conc.spread.perSecond.median, 0)} µs of CPU each is close to saturation. The paper
  broker's timers also fire in waves (every order of a burst fills in the same millisecond).
- **What would close it:** less CPU per execution (section 1); yielding between starts; spreading
  executions over worker threads.

The engine changes found by this benchmark are kept: reports are matched on \`clientOrderId\`
before parsing (every execution hears every push), and the per-symbol position ledger. The paper
broker's \`position()\` scanned every protective order ever placed, which was half the CPU here;
it is now indexed by symbol.

## 4. Journal

Records per second, single writer, ${journal.runs} runs. \`SqliteJournal\` writes in batches
(group commit): everything appended in one turn of the event loop goes to disk in one transaction
with one fsync (WAL, \`synchronous=FULL\`), and a send waits for the batch holding its intent. A
figure counts a record only once \`flush()\` has confirmed it on disk.

| journal | records/s |
|---|---|
| \`MemoryJournal\` (hashing and JSON only: the CPU bound) | ${range(journal.memory, 0)} |
| \`SqliteJournal\`, every record awaited alone (one fsync each: one execution's sends, one at a time) | ${range(journal.sqlite, 0)} |
| \`SqliteJournal\`, batches of 100 records | ${range(journal.batch100, 0)} |
| \`SqliteJournal\`, batches of 1,000 records (target ≥ 50,000) | ${range(journal.batch1000, 0)} |

One execution waits for at most three fsyncs (its claim and submit request share one batch, then
protection), however many records it writes; with many executions in flight they share batches,
so the durable rate is bounded by hashing, not by the disk.

### Heap held by the in-memory journal

${journalMemory.n.toLocaleString('en')} finished executions against an instant broker, engine and journal still alive, heap after a
forced collection${journalMemory.gcExposed ? '' : ' (not available in this run: figures include garbage)'} (\`bench/journalMemory.ts\`):

| journal | records kept | heap per execution | of which the journal |
|---|---|---|---|
${journalMemory.rows.map((r) => `| ${r.label} | ${r.kept.toLocaleString('en')} | ${kib(r.bytesPerExecution)} | ${kib(r.journalBytesPerExecution)} |`).join('\n')}

\`MemoryJournal\` keeps the last \`maxRecords\` records (default 100,000) and drops the oldest, so
what it holds stops growing at about ${fmt((journalMemory.rows.find((r) => r.kept === 100_000)?.journalBytesPerExecution ?? 0) * journalMemory.n / 1024 / 1024, 0)} MiB with the default bound, whatever the number of
executions. Without a bound it grew by the figure in the second row for every execution, forever.
The baseline row is what the engine itself keeps per finished execution (its advisory claims and
position ledger).

${journalOpenSection(journalOpen)}
## 5. Import cost of the root entry

\`import 'warden'\` from the compiled package (tsc into a temporary folder), in a fresh \`node\`
process, ${importCost.runs} times: ${range(importCost.ms, 0)} ms. It loads ${importCost.cjsModules} CommonJS modules (pino and its
helpers), and ${importCost.native.length === 0 ? '**no native module and no optional dependency**' : `**${importCost.native.join(', ')}** (a defect)`}: SQLite is at
\`warden/sqlite\`, ccxt only inside \`CcxtBroker.create\` (\`warden/adapters\`). The installed
package's own figures (tarball and install size, install time) are printed by
\`npm run release:check\`.

## 6. Against the original

The Python original handled one snapshot at a time and learned of fills by polling every 100 ms.
So an execution cost at least one 100 ms polling interval after the fill, and throughput was
bounded by one execution in flight: a few per second against a real venue. Warden learns of fills
by push as well as polling, runs executions concurrently (section 3), and its own CPU per execution
(section 1) is a small fraction of one such polling interval.
`;
writeFileSync('docs/performance.md', doc);
console.log('\nwrote docs/performance.md');
process.exit(0);

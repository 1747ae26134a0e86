/**
 * `npm run bench [-- --quick]`: every benchmark, each target with its figure and pass or miss
 * (printed, and written to docs/performance.md with the rest).
 * Run with --expose-gc (the npm script does) so heap figures are taken after a collection.
 */
import { writeFileSync } from 'node:fs';
import { benchConcurrency } from './concurrency.js';
import { benchJournal } from './journal.js';
import { benchKillSwitch, killSwitchRuns, killSwitchTargetMs, venueName } from './killSwitch.js';
import { benchOverhead } from './overhead.js';
import { benchImportCost } from './importCost.js';
import { benchJournalOpen, journalOpenSection, RESTART_TARGET_MS, restartFigure } from './journalOpen.js';
import { benchJournalMemory } from './journalMemory.js';
import { benchBreakdown } from './breakdown.js';
import { benchHeapBreakdown, HEAP_PARTS } from './heapBreakdown.js';
import { benchLatency } from './latency.js';
import { benchPollLatency } from './pollLatency.js';
import { fmt, machine, quick, range } from './util.js';

const command = `npm run bench${quick ? ' -- --quick' : ''}`;
console.log(`${command} on ${machine()}\n1. engine overhead`);
const overhead = await benchOverhead();
console.log('2. kill-switch reaction');
const kill = await benchKillSwitch();
console.log('3. concurrency and memory');
const conc = await benchConcurrency();
console.log('3b. what an in-flight execution holds (heap snapshots)');
const heap = await benchHeapBreakdown();
const heapLast = heap.runs.at(-1)!;
const heapPart = (prefix: string) => `${(heapLast.parts.filter((p) => p.part.startsWith(prefix)).reduce((a, p) => a + p.bytes, 0) / 1024).toFixed(1)} KiB`;
console.log('4. journal');
const journal = await benchJournal();
console.log('4b. heap held by the in-memory journal');
const journalMemory = await benchJournalMemory();
console.log('4c. restarting over a large journal');
const journalOpen = await benchJournalOpen();
console.log('5. import cost of the root entry');
const importCost = benchImportCost();
console.log('6. latency and durable throughput');
const latency = await benchLatency();
console.log('7. a poll-only venue');
const poll = await benchPollLatency();
console.log('8. where an execution\'s CPU goes (sampling profiler)');
const breakdown = await benchBreakdown();

const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
const k1000 = kill.find((k) => k.n === 1_000 && !k.batch && k.venue === 'held');
const killMissed = kill.filter((k) => !k.cancelsMet);
const holdMissed = kill.filter((k) => !k.holdMet);

/** Issue-level targets, each with its measured figure (medians). */
const targets: { target: string; figure: string; met: boolean | null }[] = [
  { target: '`engine.execute` ≤ 1.25× the XState floor (section 1)', figure: `${fmt(overhead.floorRatio.median, 2)}× (${fmt(overhead.warden.median, 0)} µs against ${fmt(overhead.floor.median, 0)} µs)`, met: overhead.floorRatio.median <= 1.25 },
  // Every venue speed and cancel kind is its own target: a figure that holds only when answers are held back is not the figure.
  ...kill.map((k) => ({
    target: `kill switch, ${k.n.toLocaleString('en')} working${k.batch ? ', batch cancel' : ''}, venue ${venueName(k.venue)}: every cancel requested ≤ ${killSwitchTargetMs(k.n)} ms (section 2)`,
    figure: `${fmt(k.ms.median, 2)} ms`,
    met: k.cancelsMet,
  })),
  // The loop hold meanwhile, over every variant: one standing target.
  {
    target: 'kill switch: the event loop never held longer than 10 ms at 1,000 working and 100 ms at 10,000, in every variant (section 2)',
    figure: `${kill.length - holdMissed.length} of ${kill.length} variants within (longest hold, medians: ${kill.map((k) => fmt(k.blockMs.median, 1)).join(', ')} ms)`,
    met: holdMissed.length === 0,
  },
  { target: `restart over ${journalOpen.million.records.toLocaleString('en')} journal records with 10 unfinished: ready and resuming ≤ ${RESTART_TARGET_MS} ms, memory independent of history (section 4c)`, figure: restartFigure(journalOpen), met: journalOpen.met },
  { target: 'durable journal ≥ 50,000 fsync\'d records/s with group commit (section 4)', figure: `${fmt(journal.batch1000.median, 0)} records/s in batches of 1,000`, met: journal.batch1000.median >= 50_000 },
  { target: `heap ≤ 10 KB per in-flight execution, ${conc.n.toLocaleString('en')} in flight (section 3)`, figure: kib(conc.allAtOnce.bytesPerExecution.median), met: conc.allAtOnce.bytesPerExecution.median <= 10_000 },
  { target: `${conc.n.toLocaleString('en')} executions started at once: event-loop delay p99 ≤ 50 ms (section 3)`, figure: `${fmt(conc.allAtOnce.p99Ms.median, 1)} ms`, met: conc.allAtOnce.p99Ms.median <= 50 },
  { target: '≥ 2,000 executions/s per engine, durable journal, instant broker (section 6)', figure: `${fmt(latency.perSecond.median, 0)}/s`, met: latency.perSecond.median >= 2_000 },
  { target: 'poll-only venue: a fill in the first seconds known ≤ 100 ms after it happens, p99 (section 7)', figure: `${fmt(poll.p99.median, 0)} ms (p50 ${fmt(poll.p50.median, 0)} ms)`, met: poll.p99.median <= 100 },
  { target: 'execute() → submitOrder called, durable journal (section 6; reported, no target)', figure: `p50 ${fmt(latency.toSubmit.p50.median, 0)} µs, p99 ${fmt(latency.toSubmit.p99.median, 0)} µs`, met: null },
  { target: 'fill known → placeProtection called, durable journal (section 6; reported, no target)', figure: `p50 ${fmt(latency.fillToProtection.p50.median, 0)} µs, p99 ${fmt(latency.fillToProtection.p99.median, 0)} µs`, met: null },
];
const verdict = (met: boolean | null) => (met === null ? 'reported' : met ? '**met**' : '**missed**');
console.log(`\ntargets (${command}):`);
for (const t of targets) console.log(`  ${met(t.met)}  ${t.target.replace(/`/g, '')}: ${t.figure}`);
function met(m: boolean | null): string {
  return m === null ? 'INFO' : m ? 'PASS' : 'MISS';
}

const doc = `# Performance

Measured with \`${command}\` on ${machine()}. The machine is shared and noisy. Figures are medians
with (min–max) over several runs, and every comparison is against a baseline run in the same
process. Regenerate this file with the same command.

## Targets

| target | measured | |
|---|---|---|
${targets.map((t) => `| ${t.target} | ${t.figure} | ${verdict(t.met)} |`).join('\n')}

## 1. Engine overhead per execution

A full happy path (validate, submit, fill, protect, reconcile, result) against an instant
in-memory broker. The baseline is a plain async function making the same broker calls and doing
the same rule arithmetic (SL/TP, slippage, reconciliation diff), with no statechart and no journal.
${overhead.rounds} rounds of ${overhead.perRound} executions each, alternated with the baseline and the floors; each block is
timed from a forced garbage collection, so one row's garbage is not collected in another's time.

| | µs per execution |
|---|---|
| baseline (same broker calls and rules, nothing else) | ${range(overhead.baseline)} |
| XState floor (\`bench/floor.ts\`: the same microsteps, actors and 30 s timer, a lean 17-record SHA-256 chain, zod on the four answers) | ${range(overhead.floor)} |
| the floor with an XState inspection observer attached, doing nothing | ${range(overhead.floorInspected)} |
| the floor with that observer and Warden's \`MemoryJournal\` for its 17 records (full records, payloads made JSON-safe and redacted, kept) | ${range(overhead.floorJournaled)} |
| \`engine.execute\` (statechart, journal of every transition and call, result) | ${range(overhead.warden)} |
| ratio to the baseline | ${range(overhead.ratio, 1, '×')} |
| ratio to the XState floor (target ≤ 1.25×) | ${range(overhead.floorRatio, 2, '×')} |

The two middle rows take the floor one step towards Warden each, in the same alternated rounds:
XState's inspection events alone add ${fmt(overhead.floorInspected.median - overhead.floor.median, 0)} µs (${fmt((overhead.floorInspected.median / overhead.floor.median - 1) * 100, 0)} %), and Warden's records instead of the lean chain ${fmt(overhead.floorJournaled.median - overhead.floorInspected.median, 0)} µs more.

Where the time goes, measured (\`bench/breakdown.ts\`: the V8 sampling profiler in this process over
${breakdown.executions.toLocaleString('en')} executions, each sample's self time attributed by the file it ran in; profiling adds
its own cost, so the total is above the figure in the table):

| part | µs per execution | share |
|---|---|---|
${breakdown.parts.map((p) => `| ${p.part} | ${fmt(p.us, 0)} | ${fmt(p.share * 100, 1)} % |`).join('\n')}
| total | ${fmt(breakdown.usPerExecution, 0)} | |

What stands between the engine and the floor, measured: the two middle rows put the floor's
chart under an inspection observer and Warden's journal records; together they account for
${fmt(overhead.floorJournaled.median - overhead.floor.median, 0)} µs of the ${fmt(overhead.warden.median - overhead.floor.median, 0)} µs between the floor and the engine. The rest is Warden's chart
and the engine around it. In the profile above the interpreter alone (XState) takes ${fmt(breakdown.parts.find((p) => p.part.startsWith('XState'))?.us ?? 0, 0)} µs,
against ${fmt(overhead.floor.median, 0)} µs for the whole floor: Warden's chart has a claim, a push-feed and a poller actor
per execution, eventless guards on the trading region re-checked after every event, and an
18-key context copied on every \`assign\`; every microstep reaches the journal through the
inspection observer (the journal records every transition, targetless ones included, in causal
order), about eight transition records come on top of the broker calls' own, and validation,
the engine's wiring and the garbage of all of it follow. Measured by hand (not part of this
command; the engine has no switch for it): with the engine's observer replaced by one that does
nothing, an execution cost about 15 % less, and with no observer at all (so no transition
records) about 25 % less, still above twice the floor. Tried and kept: the journal hash no longer
sorts keys; a position ledger instead of a scan over every execution; pushes routed by
\`clientOrderId\` before they are parsed; the snapshot parsed once per execution; records built as
one literal (one hidden class for all); a one-shot SHA-256 and the credential-key check
remembered per key. Tried and dropped: encoding each payload once for both the hash and the file
(no difference measurable here). The next steps: transition records the machine writes itself
(entry actions, as the floor does), and the push feed and poller as one engine-wide service
instead of two actors per execution.

Against a real broker, an execution makes at least four round trips of 5 to 200 ms, so Warden's
own ${fmt(overhead.warden.median / 1000, 2)} ms is about ${fmt((overhead.warden.median / 1000 / 80) * 100, 1)} % of an execution against a nearby venue (4 × 20 ms).

## 2. Kill-switch reaction

N executions working (acknowledged, never filled), ${killSwitchRuns} runs each (\`bench/killSwitch.ts\`). From
\`killSwitch.set('active')\`: the time until the adapter has been asked to cancel the last of them,
the longest the event loop was held at a stretch meanwhile, and the time until every execution has
heard of the switch and is in \`stopping\`. "batch" is a venue with \`cancelOrders\` (one call for all).
Venues of four speeds: one that holds its cancel answers back until the measurement is over (the
reference), and venues that answer at once, after 1 ms and after 10 ms (look-ups too). The variants
alternate run by run in the same process; "× reference" is each median over the reference's
(cancels requested / loop hold / all told).

| working executions | venue | ms until every cancel is requested | per execution | longest event-loop hold (ms) | ms until every execution is told | × reference | |
|---|---|---|---|---|---|---|---|
${kill.map((k) => `| ${k.n.toLocaleString('en')}${k.batch ? ', batch' : ''} | ${venueName(k.venue)} | ${range(k.ms, 2)} | ${fmt(k.perExecutionUs, 1)} µs | ${range(k.blockMs, 1)} | ${range(k.toldMs, 0)} | ${k.venue === 'held' ? 'reference' : `${fmt(k.ratio.ms, 2)} / ${fmt(k.ratio.blockMs, 2)} / ${fmt(k.ratio.toldMs, 2)}`} | ${k.cancelsMet ? 'PASS' : 'FAIL'}${k.holdMet ? '' : ' (hold over)'} |`).join('\n')}

Targets, in every variant: every cancel requested within 10 ms at N = 1,000 and 100 ms at N = 10,000
(PASS); and, a standing target printed beside it, no stretch of the event loop held longer than that
meanwhile. Cancels: ${killMissed.length === 0 ? `**met in all ${kill.length} variants.**` : `**missed in ${killMissed.length} of ${kill.length}**: ${killMissed.map((k) => `${k.n.toLocaleString('en')}${k.batch ? ' batch' : ''}, ${venueName(k.venue)}`).join('; ')}.`}
Loop hold: ${holdMissed.length === 0 ? `**met in all ${kill.length} variants.**` : `**over the bar in ${holdMissed.length} of ${kill.length}**: ${holdMissed.map((k) => `${k.n.toLocaleString('en')}${k.batch ? ' batch' : ''}, ${venueName(k.venue)}`).join('; ')}.`}
Delivering the switch to each execution in turn inside \`set()\` instead (each running a
macrostep, writing its records and starting its own cancel) would hold the event loop for the
whole of the last column's time before the last cancel was even requested.

How: the engine asks the chart which orders the switch cancels (\`killSwitchCancelTarget\`, the
same rule as the region's \`always\`), writes one \`broker.request\` record \`cancelOrders\` naming
them all (at most 1,000 a record), and sends them through the checked boundary at once, with the
engine's loop budget paused until the last is sent. Then it tells the executions in the next turns,
through the loop budget ahead of any waiting answer (\`KILL_SWITCH\` with \`cancelRequested\`).
The cancels' own answers wait in the same line as any answer, behind those tells: before, they
were taken in the moment they came, so a venue that answered within a turn had its first answers
(each telling its execution and moving it on) run ahead of executions not yet told, and held the
loop for as many answers as had come. Each execution goes through stopping, look-up and
reconciliation as before. An execution that would hear
anything else first (an answer, a push, a poll, its claim's answer, its own timer) is told first. Telling every
execution still costs ${k1000 ? fmt((k1000.toldMs.median * 1000) / k1000.n, 0) : '?'} µs each at 1,000 (the last column): that is spread out, not avoided.

## 3. Concurrency and memory

${conc.n.toLocaleString('en')} executions (${conc.runs} runs) against the paper broker with realistic latency (acknowledgement after 50 ms, fill
after 200 ms) on real timers. The journal counts records and keeps none, so memory is the
executions' own (with the paper broker's book). Heap is measured after a forced collection
${conc.gcExposed ? '' : '(not available in this run: figures include garbage) '}at the peak.

| arrival | executions/s | peak in flight | heap per in-flight execution | event-loop delay p99 / max |
|---|---|---|---|---|
| all ${conc.n.toLocaleString('en')} started at once | ${range(conc.allAtOnce.perSecond, 0)} | ${conc.allAtOnce.peakInFlight.toLocaleString('en')} | ${kib(conc.allAtOnce.bytesPerExecution.median)} (${kib(conc.allAtOnce.bytesPerExecution.min)}–${kib(conc.allAtOnce.bytesPerExecution.max)}) | ${fmt(conc.allAtOnce.p99Ms.median, 0)} / ${fmt(conc.allAtOnce.maxMs.median, 0)} ms |
| bursts of ${conc.spread.burst} per tick | ${range(conc.spread.perSecond, 0)} | ${conc.spread.peakInFlight.toLocaleString('en')} | | ${range(conc.spread.p99Ms, 1)} / ${fmt(conc.spread.maxMs.median, 1)} ms |

Targets: ≤ 10 KB per in-flight execution, and an event-loop delay p99 ≤ 50 ms with all started
at once. Heap: **${conc.allAtOnce.bytesPerExecution.median <= 10_000 ? 'met' : 'missed'}** (${Math.round(conc.allAtOnce.bytesPerExecution.median).toLocaleString('en')} bytes, the paper broker's book included).
For reference, the XState floor of section 1 (the same states and actors, a context of five keys,
no journal kept) holds ${kib(conc.allAtOnce.floorBytesPerExecution.median)} (${kib(conc.allAtOnce.floorBytesPerExecution.min)}–${kib(conc.allAtOnce.floorBytesPerExecution.max)}) per execution with ${conc.n.toLocaleString('en')} in flight (its submit
pending, its push-feed actor and 30 s timer live)${conc.allAtOnce.floorBytesPerExecution.median >= 8_000 ? ": an XState actor with its invoked children is\nalready about the size of the target before any of Warden's work" : ''} (see "What an in-flight execution holds"
below for Warden's parts).
Loop delay: **${conc.allAtOnce.p99Ms.median <= 50 ? 'met' : 'missed'}** (${fmt(conc.allAtOnce.p99Ms.median, 1)} ms p99). An engine's work shares one budget per turn of
the event loop (\`src/engine/loopBudget.ts\`): starts and broker answers run at once while the
turn's 5 ms slice lasts; beyond it they queue, answers and pushes first in arrival order, and are
let in one at a time in the turns that follow, as many per turn as fit in the slice, so the ${conc.n.toLocaleString('en')} acknowledgements and fills that land in one timers phase are
spread over the turns that follow instead of holding the loop for all of them. (Slicing the starts
alone leaves the answers of thousands of executions to hold the loop for tens of milliseconds at
a time all through the run.) What is left is
\`execute()\` itself: reading and freezing ${conc.n.toLocaleString('en')} inputs in the caller's own loop is one block of
about 0.2 s, by design (rule 1: the input is read when it is handed over).

What this benchmark shaped: one subscription at the adapter for all executions, each push
routed by its \`clientOrderId\` (a listener per execution would hear every push: O(in flight)
per push), the per-symbol position ledger, and the paper broker's \`position()\` indexed by
symbol (a scan over every protective order ever placed was half the CPU here).

### What an in-flight execution holds

\`bench/heapBreakdown.ts\`, each measurement in a fresh \`node --expose-gc\` process: N executions on the default
engine (its \`MemoryJournal\` included; \`pollIntervalMs: 1_000\` as above) against a paper broker that never
fills, all working at once. A V8 heap snapshot (\`writeHeapSnapshot\`) is taken before they start and
another once all are working, each after a forced collection; the bench parses both (nodes, edges,
strings), computes the dominator tree, and gives every object's size to the nearest part that
dominates it: a part's figure is what it retains, and what several parts hold together falls to
"other". Bytes per execution are the difference between the two snapshots over N. "tsx" is the
sources as this command runs them (and as section 3 measures them); "compiled" is the tsc output the
package ships.

| part | ${heap.runs.map((r) => `${r.code}, ${r.n.toLocaleString('en')}`).join(' | ')} | largest kinds in it (${heapLast.code}, ${heapLast.n.toLocaleString('en')}; bytes) |
|---|${heap.runs.map(() => '---|').join('')}---|
${HEAP_PARTS.map((part) => `| ${part} | ${heap.runs.map((r) => kib(r.parts.find((p) => p.part === part)!.bytes)).join(' | ')} | ${heapLast.parts.find((p) => p.part === part)!.largest.map((k) => `${k.kind.replace(/\|/g, '\\|')} ${fmt(k.bytes, 0)}`).join(', ')} |`).join('\n')}
| **total per execution** (heapUsed alike) | ${heap.runs.map((r) => `**${kib(r.bytesPerExecution)}** (${kib(r.heapUsedPerExecution)})`).join(' | ')} | |
| executions in flight at the second snapshot (execution contexts) | ${heap.runs.map((r) => r.inFlight.toLocaleString('en')).join(' | ')} |
| journal records written (and held) per execution | ${heap.runs.map((r) => fmt(r.perExecution.journalRecords, 1)).join(' | ')} |
| XState actors / Node \`Timeout\`s / promises / closures per execution | ${heap.runs.map((r) => `${fmt(r.perExecution.actors, 1)} / ${fmt(r.perExecution.timeouts, 1)} / ${fmt(r.perExecution.promises, 1)} / ${fmt(r.perExecution.closures, 0)}`).join(' | ')} |
| objects in dictionary mode per execution (of which contexts), their bytes | ${heap.runs.map((r) => `${fmt(Math.max(0, r.perExecution.dictionaryObjects), 1)} (${fmt(Math.max(0, r.perExecution.dictionaryContexts), 1)}), ${kib(Math.max(0, r.perExecution.dictionaryBytes))}`).join(' | ')} |

Measured with \`${command}\` on ${machine()}. Fewer executions than the 10,000 of the target, to
keep this under a minute: here a snapshot of 10,000 working executions took about 30 s to write, and
with this journal the last of 5,000 or 10,000 started more than 30 s after the first, whose hard
timeout had ended them by then. The figure per execution is the same at any N but for the journal:
it holds more records per execution the longer the start takes (polls), and at most 100,000 in all
(its default bound: about ten per execution at 10,000).

The largest kinds by self size (no dominators), per execution, ${heap.runs.at(-1)!.code} at ${heap.runs.at(-1)!.n.toLocaleString('en')}:

| constructor or kind | bytes | count |
|---|---|---|
${heap.runs.at(-1)!.kinds.map((k) => `| ${k.kind.replace(/\|/g, '\\|')} | ${fmt(k.bytes, 0)} | ${fmt(k.count, 1)} |`).join('\n')}

What stands between these figures and 10 KB, in the order of their size (compiled figures):
- the journal: ${heapPart('journal')} for ${fmt(heapLast.perExecution.journalRecords, 1)} records (one per poll answer too, so it grows while an
  execution works). Each record built as \`{ ...body, hash }\` gets a hidden class of its own: the heap
  snapshot shows one V8 \`Map\` and \`DescriptorArray\` (about 384 bytes) per record, which one object
  literal with every field, \`hash\` included, does not make (more than half of the "(object shape)" row above);
- the XState actors: ${heapPart('XState actors')} for ${fmt(heapLast.perExecution.actors, 0)} actors per execution (the execution and its two callback actors),
  each with its mailbox, action scope closures and, for the root, a system and scheduler;
- closures and their scopes: ${heapPart('closures')} (${fmt(heapLast.perExecution.closures, 0)} closures per execution in all, counting those inside the actors);
- the context: ${heapPart('the context object')} for the object alone, in dictionary mode (${fmt(heapLast.perExecution.dictionaryContexts, 0)} per execution):
  its keys are too many for a fast object; its contents (the frozen snapshot, attempts, order) are small.

Under tsx (section 3's figure) every named function made per execution also gets \`Object.defineProperty(fn,
'name')\` from esbuild's \`keepNames\`, which turns it into a dictionary-mode object with a hidden class of
its own: that is the difference between the tsx and compiled columns, not code the package runs.

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

## 6. Latency a trader feels, and durable throughput

\`bench/latency.ts\`, ${latency.runs} runs, with the durable journal (\`SqliteJournal\`, group commit, fsync on) and an
instant broker. One execution at a time (${latency.executions} each run):

| | p50 | p99 |
|---|---|---|
| \`execute()\` called → the adapter's \`submitOrder\` called (validation, claim, intent on disk) | ${range(latency.toSubmit.p50, 0)} µs | ${range(latency.toSubmit.p99, 0)} µs |
| fill known (the adapter's answer) → \`placeProtection\` called (levels, request on disk) | ${range(latency.fillToProtection.p50, 0)} µs | ${range(latency.fillToProtection.p99, 0)} µs |

Both wait for one fsync of the batch holding the request. With ${latency.concurrent} executions in flight at a time:
${range(latency.perSecond, 0)} completed executions per second, every record fsynced. That is bounded by
CPU per execution (section 1), not by the disk: the batches are shared (section 4).

## 7. A poll-only venue

\`bench/pollLatency.ts\`: a venue that pushes nothing, ${poll.executions} executions each run (${poll.runs} runs), each order filling at a
random moment in its first ${fmt(poll.fillWithinMs / 1000, 0)} s. From the fill to the first look-up that sees it: p50 ${range(poll.p50, 0)} ms,
p99 ${range(poll.p99, 0)} ms. Look-ups are every 50 ms for an order's first 1.5 s, then every thirtieth of its
age, up to \`pollIntervalMs\` (default 500 ms): fast while a fill is likely, cheap for the venue later.
\`CcxtBroker\` also hears fills pushed through ccxt pro's \`watchOrders\`.

## 8. Against the original

The Python original handled one snapshot at a time and learned of fills by polling every 100 ms.
So an execution cost at least one 100 ms polling interval after the fill, and throughput was
bounded by one execution in flight: a few per second against a real venue. Warden learns of fills
by push as well as polling, runs executions concurrently (section 3), and its own CPU per execution
(section 1) is a small fraction of one such polling interval.
`;
writeFileSync('docs/performance.md', doc);
console.log('\nwrote docs/performance.md');
process.exit(0);

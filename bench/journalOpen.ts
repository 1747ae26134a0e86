/**
 * 4c. Restarting over a large journal: journals of finished executions (claim, 18 broker records,
 * result) with 10 executions left unfinished among them (claimed and sent, spread through the
 * history) and a few kill switch changes, with the checkpoints a writer makes. They are built once
 * by direct SQL inserts of valid chained records (bench/journalBuild.ts) and cached in
 * bench/.cache/ (git-ignored); each run measures a copy. In a fresh process: an engine is created
 * over the file (the writer opens and verifies it, restores what a restart needs) until the first
 * unfinished order is looked up at the broker — "ready and resuming". Wall time and resident
 * memory added; a journal without checkpoints (every record verified) is the reference.
 *
 * `npx tsx bench/journalOpen.ts [--quick] [--no-ten-million]` runs this section alone and prints PASS
 * or FAIL at 1,000,000 records, with the 10,000,000-record figure beside it. The 10,000,000-record
 * journal (about 4.7 GiB) is built the first time in a few minutes (progress printed) and cached;
 * `--no-ten-million` leaves it out (see TEN_MILLION_NOTE).
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_CHECKPOINT_EVERY } from '../src/journal/sqliteJournal.js';
import { cachedJournal, isCached, UNFINISHED } from './journalBuild.js';
import { machine, quick, stats, type Stat } from './util.js';

/** The restart target: ready and resuming within this, at a million records. */
export const RESTART_TARGET_MS = 200;
const tenMillion = !process.argv.includes('--no-ten-million');
export const TEN_MILLION_NOTE =
  '10,000,000 records left out (`--no-ten-million`): the journal is about 4.7 GiB in bench/.cache/ (and a copy as large while measured), built once in about 2 minutes of CPU (5 minutes at load 12 on 2 cores)';

/** A fresh process: an engine over the journal, until the first unfinished order is looked up. */
const probe = (path: string) => `
  const { SqliteJournal } = await import(${JSON.stringify(new URL('../src/entries/sqlite.ts', import.meta.url).href)});
  const { createEngine } = await import(${JSON.stringify(new URL('../src/index.ts', import.meta.url).href)});
  const { pino } = await import('pino');
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const t = performance.now();
  let resumingAt = 0;
  const first = new Promise((resolve) => {
    // The first call about an unfinished order (a look-up, or a cancel once its window has passed) is the resumption.
    const resuming = () => { if (resumingAt === 0) { resumingAt = performance.now(); resolve(); } return new Promise(() => {}); };
    const broker = {
      name: 'bench',
      submitOrder: () => new Promise(() => {}),
      cancelOrder: resuming,
      getOrder: resuming,
      getPosition: (symbol) => Promise.resolve({ symbol, quantity: 0, averagePrice: null, stopLoss: null, takeProfit: null }),
      placeProtection: () => new Promise(() => {}),
    };
    globalThis.engine = createEngine({ broker, journal: new SqliteJournal(${JSON.stringify(path)}), logger: pino({ level: 'silent' }) });
  });
  await first;
  const ms = resumingAt - t;
  const cpu = process.cpuUsage(cpu0);
  const rss = process.memoryUsage().rss - rss0;
  console.log(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, rssMiB: rss / 1048576 }));
  process.exit(0);`;

export interface JournalOpenCase {
  readonly label: string;
  readonly records: number;
  readonly mib: number;
  readonly checkpointEvery: number | null;
  readonly ms: Stat;
  /** CPU time of the process over the same span (all its threads): what the machine's load does not inflate. */
  readonly cpuMs: Stat;
  readonly rssMiB: Stat;
}

export interface JournalOpenResult {
  readonly cases: readonly JournalOpenCase[];
  readonly runs: number;
  /** The million-record case with checkpoints. */
  readonly million: JournalOpenCase;
  /** The ten-million-record case with checkpoints, unless left out. */
  readonly tenMillion?: JournalOpenCase;
  /** Ready and resuming at a million records within RESTART_TARGET_MS, and memory no more than 1.5× that at 100,000. */
  readonly met: boolean;
  /** The same at ten million records (reported beside the target), when measured. */
  readonly tenMillionMet?: boolean;
  /** The machine's one-minute load average when the measurements started and ended (a shared machine inflates wall times). */
  readonly load: readonly [start: number, end: number];
}

export async function benchJournalOpen(): Promise<JournalOpenResult> {
  mkdirSync('.scratch', { recursive: true });
  const dir = mkdtempSync(join('.scratch', 'open-'));
  const runs = quick ? 3 : 5;
  const loadAtStart = loadavg()[0]!;
  const cases: JournalOpenCase[] = [];
  const every = DEFAULT_CHECKPOINT_EVERY.toLocaleString('en');
  try {
    const plan: { label: string; records: number; every: number | null }[] = [
      { label: '100,000 records, no checkpoint (every record verified: the reference)', records: 100_000, every: null },
      { label: `100,000 records, a checkpoint every ${every} (the default)`, records: 100_000, every: DEFAULT_CHECKPOINT_EVERY },
      { label: `1,000,000 records, a checkpoint every ${every} (the default)`, records: 1_000_000, every: DEFAULT_CHECKPOINT_EVERY },
      ...(tenMillion ? [{ label: `10,000,000 records, a checkpoint every ${every} (the default)`, records: 10_000_000, every: DEFAULT_CHECKPOINT_EVERY }] : []),
    ];
    for (const p of plan) {
      const long = p.records >= 1_000_000;
      if (!isCached(p.records, p.every)) console.log(`  building ${p.records.toLocaleString('en')} records once into bench/.cache/${long ? ` (about ${Math.ceil(p.records / 2_500_000)} min on a busy 2-core machine; cached for later runs)` : ''}`);
      const progress = long
        ? (written: number, perSecond: number, last: boolean) => {
            if (last || written % 1_000_000 < 100_000) console.log(`    ${written.toLocaleString('en')} records written, ${Math.round(perSecond).toLocaleString('en')} records/s${last ? '; making the indexes' : ''}`);
          }
        : undefined;
      const built = cachedJournal(p.records, p.every, progress ? { progress } : {});
      console.log(`  ${built.cached ? 'cached' : `built in ${(built.buildMs / 1000).toFixed(0)} s and cached`}: ${built.path.slice(process.cwd().length + 1)}`);
      // Each case measures a copy: a restart appends (recovery records), and the cached file stays as built.
      const path = join(process.cwd(), dir, `j-${p.records}-${p.every ?? 'none'}.sqlite`);
      const copying = performance.now();
      copyFileSync(built.path, path);
      if (long) console.log(`  copied in ${((performance.now() - copying) / 1000).toFixed(1)} s`);
      const ms: number[] = [];
      const cpu: number[] = [];
      const rss: number[] = [];
      for (let i = 0; i < runs; i++) {
        const out = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', probe(path)], { encoding: 'utf8', maxBuffer: 1 << 20 })) as { ms: number; cpuMs: number; rssMiB: number };
        ms.push(out.ms);
        cpu.push(out.cpuMs);
        rss.push(out.rssMiB);
      }
      const c: JournalOpenCase = { label: p.label, records: built.records, mib: built.mib, checkpointEvery: p.every, ms: stats(ms), cpuMs: stats(cpu), rssMiB: stats(rss) };
      cases.push(c);
      console.log(`  ${c.label} (${built.records.toLocaleString('en')} records, ${built.mib.toFixed(0)} MiB): ready and resuming in ${c.ms.median.toFixed(0)} ms (${c.ms.min.toFixed(0)}–${c.ms.max.toFixed(0)}; CPU ${c.cpuMs.median.toFixed(0)} ms), +${c.rssMiB.median.toFixed(0)} MiB (${c.rssMiB.min.toFixed(0)}–${c.rssMiB.max.toFixed(0)})`);
      rmSync(path, { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (!tenMillion) console.log(`  ${TEN_MILLION_NOTE}`);
  const million = cases[2]!;
  const hundredK = cases[1]!;
  const memoryFlat = (c: JournalOpenCase) => c.rssMiB.median <= Math.max(1.5 * hundredK.rssMiB.median, hundredK.rssMiB.median + 10);
  const within = (c: JournalOpenCase) => c.ms.median <= RESTART_TARGET_MS && memoryFlat(c);
  const ten = cases[3];
  return { cases, runs, million, met: within(million), ...(ten ? { tenMillion: ten, tenMillionMet: within(ten) } : {}), load: [loadAtStart, loadavg()[0]!] };
}

/** The figure beside the target: the million-record restart, and the ten-million one when measured. */
export function restartFigure(r: JournalOpenResult): string {
  const c = (x: JournalOpenCase) => `${x.ms.median.toFixed(0)} ms (CPU ${x.cpuMs.median.toFixed(0)} ms), +${x.rssMiB.median.toFixed(0)} MiB`;
  const ten = r.tenMillion ? `; 10,000,000: ${c(r.tenMillion)}${r.tenMillionMet ? '' : ' (over)'}` : '; 10,000,000 not measured';
  return `${c(r.million)} (+${r.cases[1]!.rssMiB.median.toFixed(0)} MiB at 100,000)${ten}`;
}

/** The docs/performance.md section for these figures. */
export function journalOpenSection(r: JournalOpenResult): string {
  const reference = r.cases[0]!;
  const row = (c: JournalOpenCase) =>
    `| ${c.label} | ${c.mib.toFixed(0)} | ${c.ms.median.toFixed(0)} (${c.ms.min.toFixed(0)}–${c.ms.max.toFixed(0)}) | ${c.cpuMs.median.toFixed(0)} | ${(c.ms.median / reference.ms.median).toFixed(2)}× | ${c.rssMiB.median.toFixed(0)} (${c.rssMiB.min.toFixed(0)}–${c.rssMiB.max.toFixed(0)}) |`;
  return `### Restarting over a large journal

Journals of finished executions (20 records each) with ${UNFINISHED} unfinished executions spread through
them, with the checkpoints a writer makes, built once by SQL inserts of the records a writer would write
(checked record for record against \`SqliteJournal\` by test/journal/journalBuild.test.ts) and
cached in \`bench/.cache/\` (git-ignored; \`bench/journalBuild.ts\`); in a fresh process, an engine created over a copy of the file until
the first unfinished order is looked up at the broker (ready and resuming), ${r.runs} runs each, wall
time and the process's CPU time (\`bench/journalOpen.ts\`; load average ${r.load[0].toFixed(1)} → ${r.load[1].toFixed(1)} on a
shared machine: wall times grow with the load, CPU time much less):

| journal | MiB | ms until ready and resuming | CPU ms | × reference | resident memory added (MiB) |
|---|---|---|---|---|---|
${r.cases.map(row).join('\n')}

Target: ready and resuming in ≤ ${RESTART_TARGET_MS} ms at 1,000,000 records, with memory independent of
history: **${r.met ? 'met' : 'missed'}** (${restartFigure(r)}).
A writer verifies from the checkpoint before the last (about two intervals of records), checks the
records it lists for a restart, and refuses a last checkpoint that does not follow from it; the
restart reads the last checkpoint, the records it lists and the records after it. Advisories
settled before the last checkpoint are not loaded: the engine asks the journal's claim index
(\`hasClaimed\`) when an advisory comes in, so an advisory still executes once for the file's whole
life. What still grows with history: the kill switch records every checkpoint lists (one short
reference per change). ${r.cases.length < 4 ? TEN_MILLION_NOTE + '.' : ''}
`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const load = () => loadavg().map((x) => x.toFixed(1)).join(', ');
  console.log(`npx tsx bench/journalOpen.ts${process.argv.slice(2).map((a) => ` ${a}`).join('')} on ${machine()}, load average ${load()}`);
  const r = await benchJournalOpen();
  console.log(`  load average at the end: ${load()}`);
  console.log(`\n${r.met ? 'PASS' : 'FAIL'}  restart over ${r.million.records.toLocaleString('en')} records with ${UNFINISHED} unfinished: ready and resuming ≤ ${RESTART_TARGET_MS} ms, memory independent of history: ${restartFigure(r)}`);
}

/**
 * 3b. Where an in-flight execution's heap goes, measured from real V8 heap snapshots: N executions
 * on the default engine (its in-memory journal included) against a paper broker that never fills,
 * all working at once. A snapshot before they start and one with all of them working, each after
 * a forced collection; both parsed here (nodes, edges, strings), the dominator tree computed, and
 * every object's self size given to the nearest part that dominates it (so a part's figure is
 * what it retains, objects held by several parts fall to the part that holds them all). The
 * difference between the two snapshots, divided by N, is the figure per execution.
 *
 * Each measurement runs in a child process (nothing of the other benchmarks in its heap, and the
 * executions never need stopping), once on the sources under tsx, as `npm run bench` runs them,
 * and once on the tsc output the package ships. */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';
import { pino } from 'pino';
import type { JournalEntry, JournalRecord, MemoryJournal } from '../src/index.js';
/** As bench/util.ts has it; not imported from there, which would load the sources into a child measuring the compiled package. */
const quick = process.argv.includes('--quick');

const execFileAsync = promisify(execFile);

const gc = () => {
  const collect = (globalThis as { gc?: () => void }).gc;
  collect?.();
  collect?.();
};

/** A parsed heap snapshot: flat typed arrays, as V8 writes them. */
interface Graph {
  readonly nodeCount: number;
  readonly nodeFields: number;
  readonly nodes: Uint32Array;
  readonly edgeFields: number;
  readonly edges: Uint32Array;
  /** Index into `edges` of each node's first edge (nodeCount + 1 entries). */
  readonly firstEdge: Uint32Array;
  readonly strings: readonly string[];
  readonly nodeTypes: readonly string[];
  readonly edgeTypes: readonly string[];
}

/** Reads the unsigned integers of the JSON array that starts after `key` into a typed array. */
function readNumbers(buf: Buffer, key: string, from: number, count: number): { values: Uint32Array; end: number } {
  let i = buf.indexOf(key, from);
  if (i < 0) throw new Error(`heap snapshot: no ${key}`);
  i += key.length;
  const values = new Uint32Array(count);
  let n = 0;
  let x = 0;
  let inNumber = false;
  for (; ; i++) {
    const c = buf[i]!;
    if (c >= 48 && c <= 57) {
      x = x * 10 + (c - 48);
      inNumber = true;
    } else {
      if (inNumber) values[n++] = x;
      x = 0;
      inNumber = false;
      if (c === 93) break; // ]
    }
  }
  if (n !== count) throw new Error(`heap snapshot: ${key} has ${n} values, expected ${count}`);
  return { values, end: i };
}

function parseSnapshot(file: string): Graph {
  const buf = readFileSync(file);
  const headerEnd = buf.indexOf('"nodes":[');
  const header = JSON.parse(`${buf.toString('utf8', 0, headerEnd).replace(/,\s*$/, '')}}`) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] }; node_count: number; edge_count: number };
  };
  const { meta, node_count: nodeCount, edge_count: edgeCount } = header.snapshot;
  const nodeFields = meta.node_fields.length;
  const edgeFields = meta.edge_fields.length;
  const { values: nodes, end } = readNumbers(buf, '"nodes":[', headerEnd, nodeCount * nodeFields);
  const { values: edges, end: edgesEnd } = readNumbers(buf, '"edges":[', end, edgeCount * edgeFields);
  const stringsAt = buf.indexOf('"strings":[', edgesEnd) + '"strings":'.length;
  const strings = JSON.parse(buf.toString('utf8', stringsAt, buf.lastIndexOf(']') + 1)) as string[];
  const firstEdge = new Uint32Array(nodeCount + 1);
  for (let i = 0, e = 0; i < nodeCount; i++) {
    firstEdge[i] = e;
    e += nodes[i * nodeFields + 4]! * edgeFields;
    firstEdge[i + 1] = e;
  }
  return { nodeCount, nodeFields, nodes, edgeFields, edges, firstEdge, strings, nodeTypes: meta.node_types[0], edgeTypes: meta.edge_types[0] };
}

/**
 * Immediate dominators, by Lengauer and Tarjan's algorithm (path compression), from the
 * snapshot's root; weak edges do not retain. Vertices are numbered 1.. in depth-first preorder:
 * `vertex[p]` is the node numbered p, `idom[p]` the number of its immediate dominator (a smaller
 * number: a dominator is always visited first). `count` vertices are reachable.
 */
function dominators(g: Graph): { vertex: Uint32Array; idom: Uint32Array; count: number } {
  const weak = g.edgeTypes.indexOf('weak');
  const { nodeCount: n, edges, edgeFields: EF, firstEdge, nodeFields: NF } = g;
  const pre = new Uint32Array(n); // node -> preorder number (0: not reached)
  const vertex = new Uint32Array(n + 1);
  const parent = new Uint32Array(n + 1);
  const stack = new Uint32Array(n + 1);
  const cursor = new Uint32Array(n + 1);
  let count = 0;
  let sp = 0;
  pre[0] = ++count;
  vertex[count] = 0;
  stack[sp] = 0;
  cursor[sp++] = firstEdge[0]!;
  while (sp > 0) {
    const node = stack[sp - 1]!;
    const c = cursor[sp - 1]!;
    if (c >= firstEdge[node + 1]!) {
      sp--;
      continue;
    }
    cursor[sp - 1] = c + EF;
    if (edges[c] === weak) continue;
    const to = edges[c + 2]! / NF;
    if (pre[to] !== 0) continue;
    pre[to] = ++count;
    vertex[count] = to;
    parent[count] = pre[node]!;
    stack[sp] = to;
    cursor[sp++] = firstEdge[to]!;
  }
  // Predecessors of each vertex, as vertex numbers.
  const predStart = new Uint32Array(count + 2);
  for (let from = 0; from < n; from++) {
    if (pre[from] === 0) continue;
    for (let e = firstEdge[from]!; e < firstEdge[from + 1]!; e += EF) if (edges[e] !== weak) predStart[pre[edges[e + 2]! / NF]! + 1]!++;
  }
  for (let v = 1; v <= count + 1; v++) predStart[v]! += predStart[v - 1]!;
  const fill = predStart.slice();
  const preds = new Uint32Array(predStart[count + 1]!);
  for (let from = 0; from < n; from++) {
    const pf = pre[from]!;
    if (pf === 0) continue;
    for (let e = firstEdge[from]!; e < firstEdge[from + 1]!; e += EF) if (edges[e] !== weak) preds[fill[pre[edges[e + 2]! / NF]!]!++] = pf;
  }
  const semi = new Uint32Array(count + 1);
  const label = new Uint32Array(count + 1);
  const ancestor = new Uint32Array(count + 1);
  const idom = new Uint32Array(count + 1);
  const bucketHead = new Uint32Array(count + 1);
  const bucketNext = new Uint32Array(count + 1);
  for (let v = 1; v <= count; v++) {
    semi[v] = v;
    label[v] = v;
  }
  const evaluate = (v: number): number => {
    if (ancestor[v] === 0) return v;
    // Compress the path from v up to the root of its tree in the forest.
    let depth = 0;
    for (let x = v; ancestor[ancestor[x]!] !== 0; x = ancestor[x]!) stack[depth++] = x;
    while (depth > 0) {
      const x = stack[--depth]!;
      const a = ancestor[x]!;
      if (semi[label[a]!]! < semi[label[x]!]!) label[x] = label[a]!;
      ancestor[x] = ancestor[a]!;
    }
    return label[v]!;
  };
  for (let w = count; w >= 2; w--) {
    for (let r = predStart[w]!; r < predStart[w + 1]!; r++) {
      const u = evaluate(preds[r]!);
      if (semi[u]! < semi[w]!) semi[w] = semi[u]!;
    }
    bucketNext[w] = bucketHead[semi[w]!]!;
    bucketHead[semi[w]!] = w;
    const p = parent[w]!;
    ancestor[w] = p;
    for (let v = bucketHead[p]!; v !== 0; v = bucketNext[v]!) {
      const u = evaluate(v);
      idom[v] = semi[u]! < semi[v]! ? u : p;
    }
    bucketHead[p] = 0;
  }
  idom[1] = 1;
  for (let w = 2; w <= count; w++) if (idom[w] !== semi[w]) idom[w] = idom[idom[w]!]!;
  return { vertex, idom, count };
}

/** Parts a reader can act on. The nearest dominating object that names a part takes the bytes. */
export const HEAP_PARTS = [
  'XState actors (Actor, its system, mailbox, observers, invoked child actors)',
  'XState snapshot objects (value, children, tags; not the context)',
  'the context object itself (its keys and property store)',
  'context: the frozen snapshot',
  'context: attempts and order',
  'context: its other keys',
  'journal records held by `MemoryJournal`',
  'timers (Node `Timeout`, the per-execution timer handles)',
  'paper broker (venue book, orders, subscriptions)',
  'promises not held by one of the above',
  'closures and their scopes not held by one of the above',
  'engine maps and sets (running, ids, ledger, fan-out)',
  'other (strings and objects held by several parts, code)',
] as const;
type Part = (typeof HEAP_PARTS)[number];

interface Summary {
  /** Bytes by part (self sizes summed over the objects each part dominates). */
  readonly parts: Map<Part, number>;
  /** Bytes and count by constructor or kind (self sizes, no dominators). */
  readonly kinds: Map<string, { bytes: number; count: number }>;
  /** Bytes by part and kind, keyed `part|kind`. */
  readonly partKinds: Map<string, number>;
  readonly total: number;
  readonly counts: { contexts: number; dictionaryContexts: number; dictionaryObjects: number; dictionaryBytes: number; actors: number; timeouts: number; promises: number; closures: number };
}

function summarize(g: Graph): Summary {
  const { nodes, edges, strings, nodeFields: NF, edgeFields: EF, firstEdge, nodeTypes, edgeTypes } = g;
  const T = (t: string) => nodeTypes.indexOf(t);
  const [OBJECT, CLOSURE, ARRAY] = [T('object'), T('closure'), T('array')];
  const [PROPERTY, INTERNAL] = [edgeTypes.indexOf('property'), edgeTypes.indexOf('internal')];
  const type = (i: number) => nodes[i * NF]!;
  const name = (i: number) => strings[nodes[i * NF + 1]!]!;
  const size = (i: number) => nodes[i * NF + 3]!;
  const edgeName = (e: number) => strings[edges[e + 1]!];
  const target = (e: number) => edges[e + 2]! / NF;
  const property = (i: number, key: string): number => {
    for (let e = firstEdge[i]!; e < firstEdge[i + 1]!; e += EF) if (edges[e] === PROPERTY && edgeName(e) === key) return target(e);
    return -1;
  };
  const n = g.nodeCount;

  // Own labels: -1 none; strong parts win over weak ones wherever they are on the dominator chain.
  const strongOf = new Int8Array(n).fill(-1);
  const weakOf = new Int8Array(n).fill(-1);
  const P = (p: Part) => HEAP_PARTS.indexOf(p);
  let contexts = 0;
  let dictionaryContexts = 0;
  let dictionaryObjects = 0;
  let dictionaryBytes = 0;
  let actors = 0;
  let timeouts = 0;
  let promises = 0;
  let closures = 0;
  const isDictionary = (i: number) => {
    for (let e = firstEdge[i]!; e < firstEdge[i + 1]!; e += EF) {
      if (edges[e] === INTERNAL && edgeName(e) === 'properties') {
        const t = target(e);
        return type(t) === ARRAY && name(t) === '(object properties)' ? size(t) : 0;
      }
    }
    return 0;
  };
  for (let i = 0; i < n; i++) {
    const t = type(i);
    if (t === CLOSURE) {
      weakOf[i] = P('closures and their scopes not held by one of the above');
      closures++;
      continue;
    }
    if (t !== OBJECT) continue;
    const nm = name(i);
    const dict = isDictionary(i);
    if (dict > 0) {
      dictionaryObjects++;
      dictionaryBytes += dict + size(i);
    }
    switch (nm) {
      case 'Actor':
        strongOf[i] = P('XState actors (Actor, its system, mailbox, observers, invoked child actors)');
        actors++;
        continue;
      case 'Timeout':
        strongOf[i] = P('timers (Node `Timeout`, the per-execution timer handles)');
        timeouts++;
        continue;
      case 'MemoryJournal':
      case 'WatchedJournal':
        strongOf[i] = P('journal records held by `MemoryJournal`');
        continue;
      case 'PaperBroker':
      case 'Venue':
        strongOf[i] = P('paper broker (venue book, orders, subscriptions)');
        continue;
      case 'Promise':
        weakOf[i] = P('promises not held by one of the above');
        promises++;
        continue;
      case 'Map':
      case 'Set':
        weakOf[i] = P('engine maps and sets (running, ids, ledger, fan-out)');
        continue;
      case 'system / Context':
        weakOf[i] = P('closures and their scopes not held by one of the above');
        continue;
    }
    if (nm !== 'Object') continue;
    // The kill switch fan-out's timer handle: { cancelled, handle }.
    if (property(i, 'cancelled') >= 0 && property(i, 'handle') >= 0) {
      strongOf[i] = P('timers (Node `Timeout`, the per-execution timer handles)');
      continue;
    }
    // An XState machine snapshot: { status, value, historyValue, context, children, ... }.
    const context = property(i, 'context');
    if (context < 0 || property(i, 'historyValue') < 0 || property(i, 'status') < 0) continue;
    strongOf[i] = P('XState snapshot objects (value, children, tags; not the context)');
    if (strongOf[context] === P('the context object itself (its keys and property store)')) continue;
    strongOf[context] = P('the context object itself (its keys and property store)');
    contexts++;
    if (isDictionary(context) > 0) dictionaryContexts++;
    for (let e = firstEdge[context]!; e < firstEdge[context + 1]!; e += EF) {
      if (edges[e] !== PROPERTY) continue;
      const key = edgeName(e);
      const to = target(e);
      if (type(to) !== OBJECT && type(to) !== ARRAY) continue;
      strongOf[to] = P(key === 'snapshot' ? 'context: the frozen snapshot' : key === 'attempts' || key === 'order' ? 'context: attempts and order' : 'context: its other keys');
    }
  }

  const { vertex, idom, count } = dominators(g);
  const strongAt = new Int8Array(count + 1).fill(-1);
  const weakAt = new Int8Array(count + 1).fill(-1);
  const byKind = new Map<number, { bytes: number; count: number }>();
  /** Bytes by part and kind: part × 1e11 + the kind's key. */
  const byPartKind = new Map<number, number>();
  const parts = new Map<Part, number>(HEAP_PARTS.map((p) => [p, 0]));
  let total = 0;
  const other = P('other (strings and objects held by several parts, code)');
  for (let v = 1; v <= count; v++) {
    const i = vertex[v]!;
    const up = v === 1 ? 0 : idom[v]!;
    strongAt[v] = strongOf[i]! >= 0 ? strongOf[i]! : strongAt[up]!;
    weakAt[v] = weakOf[i]! >= 0 ? weakOf[i]! : weakAt[up]!;
    const label = strongAt[v]! >= 0 ? strongAt[v]! : weakAt[v]! >= 0 ? weakAt[v]! : other;
    const bytes = size(i);
    total += bytes;
    parts.set(HEAP_PARTS[label]!, parts.get(HEAP_PARTS[label]!)! + bytes);
    const t = type(i);
    // The kind: type × 1e9, plus 1 + the name's string index for objects and arrays.
    const key = t * 1e9 + (t === OBJECT || t === ARRAY ? nodes[i * NF + 1]! + 1 : 0);
    const k = byKind.get(key);
    if (k) {
      k.bytes += bytes;
      k.count++;
    } else byKind.set(key, { bytes, count: 1 });
    const inPart = label * 1e11 + key;
    byPartKind.set(inPart, (byPartKind.get(inPart) ?? 0) + bytes);
  }
  const kindName = (key: number) => {
    const t = Math.floor(key / 1e9);
    const named = strings[key - t * 1e9 - 1];
    return t === OBJECT ? named! : t === ARRAY ? `(array) ${named || '(no name)'}` : `(${nodeTypes[t]!})`;
  };
  const kinds = new Map<string, { bytes: number; count: number }>();
  for (const [key, k] of byKind) {
    const kind = kindName(key);
    const sum = kinds.get(kind) ?? { bytes: 0, count: 0 };
    kinds.set(kind, { bytes: sum.bytes + k.bytes, count: sum.count + k.count });
  }
  const partKinds = new Map<string, number>();
  for (const [key, bytes] of byPartKind) {
    const label = Math.floor(key / 1e11);
    const kind = `${HEAP_PARTS[label]!}|${kindName(key - label * 1e11)}`;
    partKinds.set(kind, (partKinds.get(kind) ?? 0) + bytes);
  }
  return { parts, kinds, partKinds, total, counts: { contexts, dictionaryContexts, dictionaryObjects, dictionaryBytes, actors, timeouts, promises, closures } };
}

function snapshotSummary(file: string): Summary {
  const summary = summarize(parseSnapshot(file));
  rmSync(file, { force: true });
  return summary;
}

export interface HeapBreakdownRun {
  /** `tsx`: the sources as `npm run bench` runs them (section 3); `compiled`: the tsc output the package ships. */
  readonly code: 'tsx' | 'compiled';
  readonly n: number;
  /** Execution contexts in the second snapshot beyond the first: n when every execution was still in flight. */
  readonly inFlight: number;
  /** Heap bytes per in-flight execution: the snapshots' totals (live objects only), after minus before, over n. */
  readonly bytesPerExecution: number;
  /** `process.memoryUsage().heapUsed` after minus before, over n, for comparison with section 3. */
  readonly heapUsedPerExecution: number;
  /** Each part, with the three kinds that weigh most in it (bytes per execution). */
  readonly parts: readonly { readonly part: Part; readonly bytes: number; readonly largest: readonly { readonly kind: string; readonly bytes: number }[] }[];
  /** The largest constructors or kinds by self size, per execution. */
  readonly kinds: readonly { readonly kind: string; readonly bytes: number; readonly count: number }[];
  /** Per execution. */
  readonly perExecution: { readonly journalRecords: number; readonly contexts: number; readonly dictionaryContexts: number; readonly dictionaryObjects: number; readonly dictionaryBytes: number; readonly actors: number; readonly timeouts: number; readonly promises: number; readonly closures: number };
  readonly seconds: number;
}

/** What the measurement needs of Warden, from the sources or from the compiled package. */
interface Warden {
  createEngine: typeof import('../src/index.js').createEngine;
  MemoryJournal: typeof MemoryJournal;
  PaperBroker: typeof import('../src/index.js').PaperBroker;
  freezeSnapshot: typeof import('../src/index.js').freezeSnapshot;
}

/** Runs in a child process, so that the heap holds nothing of the other benchmarks and the executions need no stopping. */
async function measure(w: Warden, code: HeapBreakdownRun['code'], n: number): Promise<HeapBreakdownRun> {
  const started = performance.now();
  /** The engine's default journal, counting the executions that reached `working`. */
  class WatchedJournal extends w.MemoryJournal {
    working = 0;
    override append(entry: JournalEntry): JournalRecord {
      if (entry.kind === 'transition' && entry.to === 'live.trading.working') this.working++;
      return super.append(entry);
    }
  }
  const t0 = Date.now();
  let serial = 0;
  const snapshot = (symbol: string) =>
    w.freezeSnapshot({
      advisoryId: `heap-${process.pid}-${++serial}`, symbol, side: 'buy', positionSize: 1, referencePrice: 1.1, slOffsetPct: -0.01, tpOffsetPct: 0.02,
      createdAt: new Date(t0 - 60_000).toISOString(), expiresAt: new Date(t0 + 86_400_000).toISOString(),
      approval: { approvedBy: 'bench', approvedAt: new Date(t0 - 30_000).toISOString() },
    });
  const symbols = 200;
  const markets = Object.fromEntries(Array.from({ length: symbols }, (_, i) => [`H${i}`, { price: 1.1, noLiquidity: true }]));
  const broker = new w.PaperBroker({ seed: 1, latencyMs: [1, 1], markets });
  const journal = new WatchedJournal();
  // The default engine: default options but a silent logger, and the journal it would make itself (watched).
  const engine = w.createEngine({ broker, journal, logger: pino({ level: 'silent' }), pollIntervalMs: 1_000 });
  // Warm-up: every code path of a working execution compiled, every shape made, before the baseline.
  const warm = Array.from({ length: 50 }, (_, i) => engine.execute(snapshot(`H${i % symbols}`)));
  while (journal.working < 50) await new Promise((r) => setTimeout(r, 5));
  engine.killSwitch.set('active', { reason: 'bench: end the warm-up', operator: 'bench' });
  await Promise.all(warm);
  engine.killSwitch.set('off', { reason: 'bench: warm-up over', operator: 'bench' });
  const dir = tmpdir();
  const recordsBefore = journal.size;
  const workingBefore = journal.working;
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const before = writeHeapSnapshot(join(dir, `warden-heap-${process.pid}-before.heapsnapshot`));
  const results: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) results.push(engine.execute(snapshot(`H${i % symbols}`)));
  while (journal.working - workingBefore < n) await new Promise((r) => setTimeout(r, 5));
  const journalRecords = (journal.size - recordsBefore) / n;
  gc();
  const heapAfter = process.memoryUsage().heapUsed;
  const after = writeHeapSnapshot(join(dir, `warden-heap-${process.pid}-after.heapsnapshot`));
  // The executions are left working: the process ends after the figures.
  const a = snapshotSummary(before);
  const b = snapshotSummary(after);
  if (Math.abs(b.counts.contexts - a.counts.contexts - n) > n / 100) throw new Error(`heap breakdown: ${b.counts.contexts - a.counts.contexts} of ${n} executions in flight at the snapshot`);
  const perN = (x: number) => x / n;
  const kinds = [...b.kinds]
    .map(([kind, k]) => ({ kind, bytes: perN(k.bytes - (a.kinds.get(kind)?.bytes ?? 0)), count: perN(k.count - (a.kinds.get(kind)?.count ?? 0)) }))
    .sort((x, y) => y.bytes - x.bytes)
    .slice(0, 12);
  const c = (k: keyof Summary['counts']) => perN(b.counts[k] - a.counts[k]);
  return {
    code,
    n,
    inFlight: b.counts.contexts - a.counts.contexts,
    bytesPerExecution: perN(b.total - a.total),
    heapUsedPerExecution: perN(heapAfter - heapBefore),
    parts: HEAP_PARTS.map((part) => ({
      part,
      bytes: perN(b.parts.get(part)! - a.parts.get(part)!),
      largest: [...b.partKinds]
        .filter(([key]) => key.startsWith(`${part}|`))
        .map(([key, bytes]) => ({ kind: key.slice(part.length + 1), bytes: perN(bytes - (a.partKinds.get(key) ?? 0)) }))
        .sort((x, y) => y.bytes - x.bytes)
        .slice(0, 3)
        .filter((k) => k.bytes >= 16),
    })),
    kinds,
    perExecution: { journalRecords, contexts: c('contexts'), dictionaryContexts: c('dictionaryContexts'), dictionaryObjects: c('dictionaryObjects'), dictionaryBytes: c('dictionaryBytes'), actors: c('actors'), timeouts: c('timeouts'), promises: c('promises'), closures: c('closures') },
    seconds: (performance.now() - started) / 1000,
  };
}

export interface HeapBreakdown {
  readonly runs: readonly HeapBreakdownRun[];
  readonly gcExposed: boolean;
}

const CHILD = '--heap-breakdown-child';

/** One measurement in a fresh `node --expose-gc --import tsx` process; `entry` is the Warden module it loads. */
async function inChild(code: HeapBreakdownRun['code'], entry: string, n: number): Promise<HeapBreakdownRun> {
  const { stdout } = await execFileAsync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), CHILD, code, entry, String(n)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as HeapBreakdownRun;
}

export async function benchHeapBreakdown(): Promise<HeapBreakdown> {
  // The compiled package (tsc, as it ships), inside the project so it resolves the project's node_modules.
  mkdirSync('.scratch', { recursive: true });
  const out = mkdtempSync(join('.scratch', 'heap-'));
  try {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', out], { stdio: 'inherit' });
    const compiled = join(process.cwd(), out, 'src', 'index.js');
    const sources = fileURLToPath(new URL('../src/index.ts', import.meta.url));
    const n = quick ? 1_000 : 2_000;
    const print = (r: HeapBreakdownRun) => console.log(`  ${r.code}, ${r.n.toLocaleString('en')} in flight (${r.inFlight.toLocaleString('en')} contexts in the snapshot): ${(r.bytesPerExecution / 1024).toFixed(1)} KiB each (heapUsed ${(r.heapUsedPerExecution / 1024).toFixed(1)} KiB), ${r.seconds.toFixed(1)} s`);
    // Two processes at a time (one per core): the figures are bytes, not times.
    const runs = await Promise.all([
      inChild('tsx', sources, n).then((r) => (print(r), [r])),
      (async () => {
        const small = quick ? [] : [await inChild('compiled', compiled, n / 2).then((r) => (print(r), r))];
        return [...small, await inChild('compiled', compiled, n).then((r) => (print(r), r))];
      })(),
    ]);
    return { runs: runs.flat(), gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function' };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

if (process.argv[2] === CHILD) {
  const [code, entry, n] = process.argv.slice(3) as [HeapBreakdownRun['code'], string, string];
  const w = (await import(pathToFileURL(entry).href)) as Warden;
  console.log(JSON.stringify(await measure(w, code, Number(n))));
  process.exit(0);
}

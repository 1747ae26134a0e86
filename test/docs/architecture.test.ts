/**
 * The shape of the code, checked over the import graph of `src/` and `machines/`: no circle, no
 * import that climbs a layer (docs/architecture.md, "Each folder has one job"), no file over 400
 * lines but the chart's own config, and a root entry that lists its names.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const MAX_LINES = 400;
/** The chart's config reads as the specification: one file, whatever its length. */
const LONG_ALLOWED = new Set(['machines/execution.machine.ts']);

/**
 * Layers, lowest first: a file may import its own folder and any folder of a lower layer, never
 * one above. The rows of docs/architecture.md's table, in its order.
 */
const LAYERS: readonly string[] = [
  'src/domain',
  'src/rules',
  'src/broker',
  'src/journal',
  'machines',
  'src/engine',
  'src/store/postgres',
  'src/testing',
  'src/console',
  // The root entry gathers the contract; the subpath entries and the CLI are its consumers.
  'src/index.ts',
  'src/entries',
  'src/cli',
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? sourceFiles(path) : e.name.endsWith('.ts') ? [path] : [];
  });
}

const FILES = [...sourceFiles('src'), ...sourceFiles('machines')].map((f) => f.split('\\').join('/'));
/** Every relative import of a file (type-only ones included: a circle of types is still a circle), resolved to a file. */
function importsOf(file: string): string[] {
  // TypeScript's own scanner: imports, re-exports and import() calls, never text in a comment.
  const specs = ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
  const out: string[] = [];
  for (const spec of specs) {
    if (!spec.startsWith('.')) continue;
    const target = normalize(join(dirname(file), spec)).split('\\').join('/').replace(/\.js$/, '.ts');
    out.push(FILES.includes(target) ? target : `${target}/index.ts`);
  }
  return out;
}

const GRAPH = new Map(FILES.map((f) => [f, importsOf(f).filter((t) => FILES.includes(t))]));

function layerOf(file: string): number {
  const i = LAYERS.findIndex((a) => file === a || file.startsWith(`${a}/`));
  if (i < 0) throw new Error(`${file} is in no layer: add its folder to LAYERS and to docs/architecture.md`);
  return i;
}

/** Strongly connected components of more than one file (or a file importing itself): the circles. */
function circles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      for (let w = stack.pop()!; ; w = stack.pop()!) {
        on.delete(w);
        scc.push(w);
        if (w === v) break;
      }
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('architecture', () => {
  it('reads every file of src/ and machines/, and every import resolves to one of them', () => {
    expect(FILES.length).toBeGreaterThan(50);
    const unresolved = FILES.flatMap((f) => importsOf(f).filter((t) => !FILES.includes(t)).map((t) => `${f} -> ${t}`));
    expect(unresolved).toEqual([]);
  });

  it('has no import circle', () => {
    expect(circles(GRAPH).map((c) => c.join(' <-> '))).toEqual([]);
  });

  it('finds a circle when there is one (the check itself)', () => {
    expect(circles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual([['a', 'b', 'c']]);
  });

  it('has no upward import: a file imports only its own layer and those below', () => {
    const upward = [...GRAPH].flatMap(([from, tos]) => tos.filter((to) => layerOf(to) > layerOf(from)).map((to) => `${from} -> ${to}`));
    expect(upward).toEqual([]);
  });

  it(`has no file over ${MAX_LINES} lines but the chart's config`, () => {
    const long = FILES.filter((f) => !LONG_ALLOWED.has(f))
      .map((f) => [f, readFileSync(f, 'utf8').split('\n').length - 1] as const)
      .filter(([, n]) => n > MAX_LINES)
      .map(([f, n]) => `${f}: ${n} lines`);
    expect(long).toEqual([]);
  });

  it('the root entry lists its names: no `export *` from a module (only the `rules` namespace)', () => {
    const index = readFileSync('src/index.ts', 'utf8');
    expect(index.match(/^export \*(?! as rules from)/gm) ?? []).toEqual([]);
  });

  it("keeps Warden's own parts out of the root entry", async () => {
    const root = await import('../../src/index.js');
    for (const name of ['checkedBroker', 'KillSwitchBoard', 'Venue', 'REDACT_PATHS', 'createDefaultLogger', 'seededRandom', 'toJournalPayload', 'OrderReportSchema']) {
      expect(Object.keys(root), name).not.toContain(name);
    }
    for (const name of ['createEngine', 'freezeSnapshot', 'PaperBroker', 'MemoryJournal', 'BrokerError', 'executionMachine', 'createExecutionMachine', 'SnapshotValidationError', 'HARD_TIMEOUT_MS', 'KillSwitchState', 'ErrorCode', 'rules']) {
      expect(Object.keys(root), name).toContain(name);
    }
  });
});

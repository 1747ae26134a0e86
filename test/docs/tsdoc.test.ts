/**
 * Every public export of the package's entry points carries TSDoc with an `@example`: the
 * declaration a consumer's editor shows (the first one, aliases resolved) must have the tag.
 */
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The package's entry points, as `exports` in package.json names them. */
const ENTRIES = ['src/index.ts', 'src/entries/sqlite.ts', 'src/entries/adapters.ts', 'src/entries/journal.ts', 'src/entries/console.ts', 'src/entries/postgres.ts', 'src/testing/index.ts'];

interface Export {
  readonly entry: string;
  readonly name: string;
  /** Where the documented declaration lives, relative to the repository. */
  readonly file: string;
  readonly hasExample: boolean;
}

function publicExports(): Export[] {
  const program = ts.createProgram(
    ENTRIES.map((e) => resolve(ROOT, e)),
    { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, noEmit: true, skipLibCheck: true },
  );
  const checker = program.getTypeChecker();
  const out: Export[] = [];
  for (const entry of ENTRIES) {
    const source = program.getSourceFile(resolve(ROOT, entry));
    if (!source) throw new Error(`entry point not found: ${entry}`);
    const module = checker.getSymbolAtLocation(source);
    if (!module) throw new Error(`entry point is not a module: ${entry}`);
    for (const exp of checker.getExportsOfModule(module)) {
      const target = exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp;
      let decl: ts.Node | undefined = target.declarations?.[0];
      if (!decl) continue;
      // `export * as name from '…'` resolves to a whole module: its doc is on that export statement.
      if (ts.isSourceFile(decl)) decl = exp.declarations?.find(ts.isNamespaceExport)?.parent ?? decl;
      const tags = ts.getJSDocTags(decl).map((t) => t.tagName.text);
      out.push({ entry, name: exp.name, file: relative(ROOT, decl.getSourceFile().fileName), hasExample: tags.includes('example') });
    }
  }
  return out;
}

describe('TSDoc on the public API', () => {
  const exports = publicExports();

  it('finds the exports of every entry point', () => {
    for (const entry of ENTRIES) expect(exports.some((e) => e.entry === entry), entry).toBe(true);
  });

  it('gives every public export an @example', () => {
    const missing = exports.filter((e) => !e.hasExample);
    expect(missing.map((e) => `${e.entry}: ${e.name} (declared in ${e.file})`)).toEqual([]);
  });
});

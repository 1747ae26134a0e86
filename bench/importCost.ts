/**
 * 6. What `import 'warden'` costs: the root entry compiled (tsc, as the package ships it), then
 * imported by a fresh `node` process several times; wall time of the import and the CommonJS
 * modules it loaded (none may be native or optional).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { quick, stats, type Stat } from './util.js';

export function benchImportCost(): { ms: Stat; runs: number; cjsModules: number; native: string[] } {
  // Inside the project (git-ignored .scratch/), so the build resolves the project's node_modules as an installed package would its own.
  mkdirSync('.scratch', { recursive: true });
  const out = mkdtempSync(join('.scratch', 'import-'));
  try {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', out], { stdio: 'inherit' });
    const entry = join(process.cwd(), out, 'src', 'index.js');
    const probe = `import { createRequire } from 'node:module'; const t = performance.now(); await import(${JSON.stringify(entry)}); const ms = performance.now() - t; console.log(JSON.stringify({ ms, cjs: Object.keys(createRequire(import.meta.url).cache) }));`;
    const runs = quick ? 3 : 7;
    const ms: number[] = [];
    let cjs: string[] = [];
    for (let i = 0; i < runs; i++) {
      const r = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' })) as { ms: number; cjs: string[] };
      ms.push(r.ms);
      cjs = r.cjs;
      console.log(`  import round ${i + 1}/${runs}: ${r.ms.toFixed(1)} ms`);
    }
    return { ms: stats(ms), runs, cjsModules: cjs.length, native: cjs.filter((p) => /better-sqlite3|[\\/]ccxt[\\/]|\.node$/.test(p)) };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

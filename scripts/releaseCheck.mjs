#!/usr/bin/env node
/**
 * `npm run release:check`: the package a user installs works. Builds, packs, installs the tarball
 * into a fresh project in a temporary folder (as a user would, from the npm registry for its
 * dependencies), and there: imports `warden`, `warden/sqlite`, `warden/testing` from ESM, checks
 * that the root entry loads no native module and no optional dependency, type-checks a TypeScript
 * file against the shipped types (moduleResolution node16 and bundler), runs one execution with a
 * durable journal, and runs `npx warden --help` and `npx warden journal verify` on that journal.
 * Exits non-zero on a missing file, a missing type or a broken bin. Prints its measurements.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const work = mkdtempSync(join(tmpdir(), 'warden-release-'));
const started = Date.now();
const step = (what) => console.log(`release check [${((Date.now() - started) / 1000).toFixed(1)} s] ${what}`);
const run = (cmd, args, cwd, extra = {}) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 300_000, ...extra });

function duBytes(dir) {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += duBytes(p);
    else if (e.isFile()) total += statSync(p).size;
  }
  return total;
}
const mib = (b) => `${(b / 1024 / 1024).toFixed(1)} MiB`;

try {
  step('building (tsc -p tsconfig.build.json)');
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], root);

  step('packing');
  const [packed] = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', work], root));
  const tarball = join(work, packed.filename);
  console.log(`  ${packed.filename}: ${(packed.size / 1024).toFixed(0)} KiB packed, ${(packed.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${packed.entryCount} files`);
  for (const needed of ['bin/warden.mjs', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/entries/sqlite.js', 'dist/src/testing/index.js', 'dist/src/cli/warden.js', 'README.md']) {
    if (!packed.files.some((f) => f.path === needed)) throw new Error(`the tarball is missing ${needed}`);
  }

  step('installing the tarball into a fresh project');
  const consumer = join(work, 'consumer');
  mkdirSync(consumer);
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'warden-consumer', private: true, type: 'module', allowScripts: { 'better-sqlite3': true } }, null, 2),
  );
  const installStarted = Date.now();
  run(npm, ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball, '@types/node@20.19.25'], consumer);
  const installSeconds = (Date.now() - installStarted) / 1000;
  console.log(`  installed in ${installSeconds.toFixed(1)} s; node_modules ${mib(duBytes(join(consumer, 'node_modules')))}`);

  step('the root entry loads no native module and no optional dependency');
  const probe = `
    import { createRequire } from 'node:module';
    const t = performance.now();
    await import('warden');
    const ms = performance.now() - t;
    const cjs = Object.keys(createRequire(import.meta.url).cache);
    console.log(JSON.stringify({ ms, cjs }));`;
  const loaded = JSON.parse(run(process.execPath, ['--input-type=module', '-e', probe], consumer));
  const offending = loaded.cjs.filter((p) => /better-sqlite3|[\\/]ccxt[\\/]|[\\/]pg[\\/]|chromium|puppeteer|prom-client|[\\/]hono[\\/]/.test(p));
  if (offending.length > 0) throw new Error(`import 'warden' loaded ${offending.join(', ')}`);
  console.log(`  import 'warden': ${loaded.ms.toFixed(0)} ms, ${loaded.cjs.length} CommonJS modules, none native or optional`);

  step('one execution with a durable journal, from ESM');
  const journalPath = join(consumer, 'data', 'warden.journal.sqlite');
  writeFileSync(
    join(consumer, 'run.mjs'),
    `import { mkdirSync } from 'node:fs';
import { createEngine, PaperBroker } from 'warden';
import { SqliteJournal } from 'warden/sqlite';
import { ScriptedBroker, VirtualClock } from 'warden/testing';
if (typeof ScriptedBroker !== 'function' || typeof VirtualClock !== 'function') throw new Error('warden/testing is incomplete');
mkdirSync('data', { recursive: true });
const engine = createEngine({ broker: new PaperBroker({ seed: 7, markets: { EURUSD: { price: 1.1, fillAfterMs: 50 } } }), journal: new SqliteJournal(${JSON.stringify(journalPath)}) });
const now = Date.now();
const result = await engine.execute({
  advisoryId: 'release-check', symbol: 'EURUSD', side: 'buy', positionSize: 1, referencePrice: 1.1, slOffsetPct: -0.01, tpOffsetPct: 0.02,
  createdAt: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 600_000).toISOString(),
  approval: { approvedBy: 'release', approvedAt: new Date(now - 30_000).toISOString() },
});
const verified = await engine.journal.verify();
await engine.close();
if (result.status !== 'filled' || !result.protectionPlaced || result.requiresManualResolution || !verified.ok) {
  console.error(JSON.stringify(result, null, 2));
  process.exit(1);
}
console.log('filled, protected, reconciled; journal verified');
const { startConsole } = await import('warden/console');
const served = await startConsole({ journal: ${JSON.stringify(journalPath)}, port: 0 });
const page = await (await fetch(served.url)).text();
const metrics = await (await fetch(new URL('/metrics', served.url))).text();
await served.close();
if (!page.includes('release-check') || !/warden_executions_total\\{status="filled"\\} 1/.test(metrics)) {
  console.error(page.slice(0, 2000), metrics.slice(0, 2000));
  process.exit(1);
}
console.log('warden/console serves the journal and its metrics');
`,
  );
  console.log(`  ${run(process.execPath, ['run.mjs'], consumer).trim()}`);

  step('type-checking against the shipped types (node16 and bundler resolution)');
  writeFileSync(
    join(consumer, 'check.ts'),
    `import { createEngine, freezeSnapshot, PaperBroker, BrokerError, executionMachine, type ExecutionResult, type BrokerAdapter } from 'warden';
import { SqliteJournal } from 'warden/sqlite';
import { CcxtBroker, HttpBroker } from 'warden/adapters';
import { renderTimeline, executionTrail } from 'warden/journal';
import { ScriptedBroker, VirtualClock } from 'warden/testing';
import { startConsole, WardenMetrics } from 'warden/console';
const broker: BrokerAdapter = new PaperBroker();
const engine = createEngine({ broker, journal: new SqliteJournal('x.sqlite') });
const pending: Promise<ExecutionResult> = engine.execute(freezeSnapshot({}));
export const all = [pending, BrokerError, executionMachine, CcxtBroker, HttpBroker, renderTimeline, executionTrail, ScriptedBroker, VirtualClock, startConsole, WardenMetrics];
`,
  );
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  for (const [module, resolution] of [['node16', 'node16'], ['esnext', 'bundler']]) {
    writeFileSync(
      join(consumer, `tsconfig.${resolution}.json`),
      JSON.stringify({ compilerOptions: { strict: true, noEmit: true, skipLibCheck: true, target: 'es2022', module, moduleResolution: resolution, types: ['node'] }, files: ['check.ts'] }),
    );
    run(process.execPath, [tsc, '-p', `tsconfig.${resolution}.json`], consumer);
    console.log(`  moduleResolution ${resolution}: ok`);
  }

  step('the warden command (npx warden)');
  const help = run(npm, ['exec', '--', 'warden', '--help'], consumer);
  if (!/usage: warden <command>/.test(help)) throw new Error(`npx warden --help printed:\n${help}`);
  console.log('  npx warden --help: ok');
  const verify = run(npm, ['exec', '--', 'warden', 'journal', 'verify', '--journal', journalPath], consumer);
  console.log(`  npx warden journal verify: ${verify.trim().split('\n')[0]}`);

  step('passed');
} catch (e) {
  console.error(`release check FAILED: ${e.message}`);
  if (e.stderr) console.error(String(e.stderr).slice(0, 4000));
  if (e.stdout) console.error(String(e.stdout).slice(0, 4000));
  process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
  rmSync(join(root, 'dist'), { recursive: true, force: true });
}

/**
 * `import 'warden'` loads no native module and no optional dependency: SQLite lives at
 * `warden/sqlite`, the venue adapters at `warden/adapters` (ccxt itself only inside
 * `CcxtBroker.create`). The release check (`npm run release:check`) proves the same on the
 * installed package.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const loadedBy = async (entry: string): Promise<string[]> => {
  const probe = `import { createRequire } from 'node:module'; await import(${JSON.stringify(entry)}); console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { timeout: 60_000 });
  return JSON.parse(stdout) as string[];
};

describe('entry points', () => {
  it('the root entry loads neither better-sqlite3 nor ccxt nor pg', async () => {
    const modules = await loadedBy('./src/index.ts');
    expect(modules.filter((m) => /better-sqlite3|[\\/]ccxt[\\/]|[\\/]hono[\\/]|prom-client|[\\/]node_modules[\\/]pg[\\/]/.test(m))).toEqual([]);
    expect(modules.length).toBeGreaterThan(0); // the probe does see what is loaded
  }, 60_000);

  it('warden/postgres does load pg (so the probe can tell)', async () => {
    const modules = await loadedBy('./src/entries/postgres.ts');
    expect(modules.some((m) => /[\\/]node_modules[\\/]pg[\\/]/.test(m))).toBe(true);
  }, 60_000);

  it('warden/sqlite does load better-sqlite3 (so the probe can tell)', async () => {
    const modules = await loadedBy('./src/entries/sqlite.ts');
    expect(modules.some((m) => /better-sqlite3/.test(m))).toBe(true);
  }, 60_000);
});

describe('an optional dependency that is not installed', () => {
  // A resolve hook that answers for `pg` exactly what Node answers when the package is absent.
  const hidePg = `
    import { register } from 'node:module';
    register('data:text/javascript,' + encodeURIComponent(\`
      export async function resolve(specifier, context, next) {
        if (specifier === 'pg') throw Object.assign(new Error("Cannot find package 'pg' imported from " + context.parentURL), { code: 'ERR_MODULE_NOT_FOUND' });
        return next(specifier, context);
      }\`));`;
  const importWithoutPg = async (entry: string): Promise<string> => {
    const probe = `${hidePg}
      try { await import(${JSON.stringify(entry)}); console.log('loaded'); } catch (e) { console.log('failed: ' + e.message); }`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { timeout: 60_000 });
    return stdout.trim();
  };

  it('warden/postgres without pg says which package to install', async () => {
    expect(await importWithoutPg('./src/entries/postgres.ts')).toBe(
      "failed: warden/postgres needs the 'pg' package (an optional peer dependency of warden): run `npm install pg@^8` in your project.",
    );
  }, 60_000);

  it('the root entry does not need pg at all', async () => {
    expect(await importWithoutPg('./src/index.ts')).toBe('loaded');
  }, 60_000);
});

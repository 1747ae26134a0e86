/**
 * The `pg` driver, loaded once when `warden/postgres` is imported. `pg` is an optional peer
 * dependency: `import 'warden'` never needs it, and importing `warden/postgres` without it fails
 * here with what to install, not with a module-resolution trace from deep inside the package.
 *
 * @example
 * import { pgDriver } from './driver.js';
 * const client = new pgDriver.Client({ connectionString: url });
 */
import type pg from 'pg';

/** Whether `error` is Node's "cannot find package" for `name` itself (not for one of its own imports). */
function missingPackage(error: unknown, name: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message.includes(`'${name}'`);
}

async function loadPg(): Promise<typeof pg> {
  try {
    const loaded = (await import('pg')) as { default?: typeof pg };
    return loaded.default ?? (loaded as unknown as typeof pg);
  } catch (error) {
    if (!missingPackage(error, 'pg')) throw error;
    throw new Error("warden/postgres needs the 'pg' package (an optional peer dependency of warden): run `npm install pg@^8` in your project.", { cause: error });
  }
}

/** The loaded `pg` module (`Pool`, `Client`). */
export const pgDriver: typeof pg = await loadPg();

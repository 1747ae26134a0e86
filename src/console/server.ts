/**
 * The operator console: a small web app over a journal file. Anyone who can reach it reads; acting
 * (a kill switch, a resolve) needs the operator token, exchanged once for a session cookie, and
 * every form carries that session's CSRF token. It listens on loopback unless told otherwise.
 *
 * Acting goes through the same path as the CLI (`applyOperatorCommand`): to the engine that writes
 * the journal when one runs, so its executions in flight hear the change at once.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { applyOperatorCommand } from '../engine/operator.js';
import { recordHashIntact } from '../journal/hashChain.js';
import { SqliteJournal } from '../journal/sqliteJournal.js';
import { createConsoleApp } from './app.js';
import type { JournalHealth } from './layout.js';
import { WardenMetrics } from './metrics.js';
import type { ConsoleOperator } from './operators.js';
import { LOOPBACK, LOOPBACK_HOSTS } from './requests.js';
import { ConsoleView } from './view.js';

export { createConsoleApp } from './app.js';

/**
 * Options of {@link startConsole}: the journal to show, the operator token, and where to listen.
 *
 * @example
 * const options: ConsoleOptions = { journal: 'data/warden.journal.sqlite', token: process.env.WARDEN_CONSOLE_TOKEN ?? null, port: 0 };
 * const running = await startConsole(options);
 */
export interface ConsoleOptions {
  /** The journal file to show and act on. */
  readonly journal: string;
  /** A token shared by everyone who acts (each types their name); without it or `operators` the console is read-only. At least 16 characters. */
  readonly token?: string | null;
  /** Named operators, each with their own token (`warden console add-operator NAME`): the journal records who signed in. */
  readonly operators?: readonly ConsoleOperator[];
  /** Default 127.0.0.1. Anything else needs `allowRemote`. */
  readonly host?: string;
  /** Default 7080; 0 picks a free port. */
  readonly port?: number;
  /** Allows binding beyond loopback (the console has no TLS: put it behind one). */
  readonly allowRemote?: boolean;
  /** How often the journal is read for new records, ms. Default 200. */
  readonly pollMs?: number;
  /** How long an operator session lasts, ms. Default 8 hours. */
  readonly sessionMs?: number;
  /** The clock, for deadlines and sessions (default Date.now). */
  readonly now?: () => number;
  /** Where warnings go (default stderr). */
  readonly warn?: (message: string) => void;
}

/**
 * A console that serves until `close()`: its URL and the metrics it exports at `/metrics`.
 *
 * @example
 * const running: RunningConsole = await startConsole({ journal: 'data/warden.journal.sqlite' });
 * console.log(running.url);
 * await running.close();
 */
export interface RunningConsole {
  readonly url: string;
  readonly metrics: WardenMetrics;
  close(): Promise<void>;
}

/**
 * Serves the console for a journal file until `close()`.
 *
 * @example
 * const console_ = await startConsole({ journal: 'data/warden.journal.sqlite', token: process.env.WARDEN_CONSOLE_TOKEN });
 * console.log(console_.url); // http://127.0.0.1:7080/
 */
export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const host = options.host ?? '127.0.0.1';
  const warn = options.warn ?? ((m: string) => process.stderr.write(`${m}\n`));
  if (!LOOPBACK.has(host) && !options.allowRemote) throw new Error(`the console binds to loopback only unless allowed: ${host} needs allowRemote (--allow-remote)`);
  const token = options.token ?? null;
  if (token !== null && token.trim().length < 16) throw new Error('the operator token must have at least 16 characters');
  const journal = new SqliteJournal(options.journal, undefined, { readOnly: true });
  const view = new ConsoleView(journal);
  const metrics = new WardenMetrics(view);
  view.refresh();
  const state: { chain: JournalHealth['chain']; readError: string | null } = { chain: null, readError: null };
  // The chain is checked once, in the background: a long journal never delays the start.
  void journal.verify().then(
    (v) => (state.chain = { ok: v.ok, brokenAt: v.brokenAt ?? null, checkedAt: new Date((options.now ?? Date.now)()).toISOString() }),
    (e: unknown) => (state.readError = `verify failed: ${(e as Error).message}`),
  );
  const listeners = new Set<() => void>();
  const poll = setInterval(() => {
    try {
      const taken = view.refresh();
      state.readError = null;
      if (taken > 0) for (const l of [...listeners]) l();
    } catch (e) {
      if (state.readError === null) warn(`console: cannot read ${options.journal}: ${(e as Error).message}`);
      state.readError = (e as Error).message.slice(0, 300);
    }
  }, options.pollMs ?? 200);
  const app = createConsoleApp({
    view,
    metrics,
    store: options.journal,
    token,
    ...(options.operators ? { operators: options.operators } : {}),
    allowedHosts: [...LOOPBACK_HOSTS, ...(LOOPBACK.has(host) ? [] : [host.includes(':') ? `[${host}]` : host])],
    health: () => ({ chain: state.chain, readError: state.readError }),
    now: options.now ?? Date.now,
    sessionMs: options.sessionMs ?? 8 * 3_600_000,
    act: (command) => applyOperatorCommand(options.journal, command),
    subscribe: (l) => {
      listeners.add(l);
      return () => void listeners.delete(l);
    },
    async readAdvisory(id) {
      const byAdvisory = await journal.records({ advisoryId: id });
      const records = byAdvisory.length > 0 ? byAdvisory : await journal.records({ executionId: id });
      if (records.length === 0) return null;
      return { records, chain: await journal.verify(), recordHashes: new Map(records.map((r) => [r.sequence, recordHashIntact(r)])) };
    },
  });
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port: options.port ?? 7080 }, () => resolve(s));
    s.once('error', reject);
  });
  if (!LOOPBACK.has(host)) warn(`WARNING: the console listens on ${host}, beyond this machine; it has no TLS: put it behind a proxy that has`);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    metrics,
    async close() {
      clearInterval(poll);
      for (const l of [...listeners]) l();
      listeners.clear();
      await new Promise<void>((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      });
      await journal.close();
    },
  };
}

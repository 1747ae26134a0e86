/**
 * The operator console: a small web app over a journal file. Anyone who can reach it reads; acting
 * (a kill switch, a resolve) needs the operator token, exchanged once for a session cookie, and
 * every form carries that session's CSRF token. It listens on loopback unless told otherwise.
 *
 * Acting goes through the same path as the CLI (`applyOperatorCommand`): to the engine that writes
 * the journal when one runs, so its executions in flight hear the change at once.
 */
import { serve, type ServerType } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import { streamSSE } from 'hono/streaming';
import type { AnyStateMachine } from 'xstate';
import { z } from 'zod';
import { executionMachine } from '../../machines/execution.machine.js';
import { SymbolSchema } from '../domain/schemas.js';
import { applyOperatorCommand, type OperatorOutcome } from '../engine/operator.js';
import { recordHashIntact } from '../journal/hashChain.js';
import { SqliteJournal } from '../journal/sqliteJournal.js';
import type { OperatorCommand } from '../journal/types.js';
import { WardenMetrics } from './metrics.js';
import type { ConsoleOperator } from './operators.js';
import { advisoryPage, CLOCK_SCRIPT, finishedPage, flagsPage, killSwitchPage, LIVE_SCRIPT, loginPage, nowPage, nowSection, positionsPage, statusSection, stopEverythingPage, STYLE, type JournalHealth, type PageContext } from './pages.js';
import { ConsoleView } from './view.js';

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

/** Largest request body accepted (the forms are a few hundred bytes). */
const MAX_BODY_BYTES = 16 * 1024;
const SESSION_COOKIE = 'warden_session';
const MAX_SESSIONS = 1_000;
/** Sign-in attempts allowed per minute and per client address: a token cannot be guessed by trying, and one client cannot lock others out. */
const SIGN_IN_ATTEMPTS_PER_MINUTE = 10;
/** Clients whose sign-in attempts are remembered at once (the oldest window is forgotten first). */
const MAX_SIGN_IN_CLIENTS = 10_000;
const MAX_LIVE_CLIENTS = 50;
const HEARTBEAT_MS = 15_000;
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
/** The names a loopback console answers to (Host header): anything else may be a name rebound to this machine. */
const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];

/** Typed by whoever signed in with the shared token; ignored for a named operator's session. */
const TypedOperator = z.string().trim().max(100).optional();
const KillSwitchForm = z.object({
  state: z.enum(['off', 'warning', 'active']),
  symbol: z.union([z.literal(''), SymbolSchema]).default(''),
  reason: z.string().trim().min(1, 'a reason is required').max(500),
  operator: TypedOperator,
  confirmed: z.literal('yes').optional(),
  csrf: z.string().max(128),
});
const ResolveForm = z.object({
  advisoryId: z.string().min(1).max(128),
  operator: TypedOperator,
  note: z.string().trim().min(1, 'a note is required').max(2000),
  csrf: z.string().max(128),
});
const StopForm = z.object({
  reason: z.string().trim().max(500).optional(),
  operator: TypedOperator,
  confirmed: z.literal('yes').optional(),
  csrf: z.string().max(128),
});
const FinishedQuery = z.object({
  q: z.string().trim().max(128).default(''),
  status: z.string().max(40).default(''),
  symbol: z.string().max(32).default(''),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
});
const LoginForm = z.object({ token: z.string().min(1).max(512) });
const AdvisoryId = z.string().max(128);

const digest = (s: string) => createHash('sha256').update(s).digest();
/** Equal strings, compared in constant time (over their digests, so lengths leak nothing either). */
const sameSecret = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

interface Session {
  readonly csrf: string;
  readonly expiresAt: number;
  /** The named operator who signed in, or null for the shared token (names are then typed per action). */
  readonly operator: string | null;
  notice: { ok: boolean; text: string } | null;
}

/** The hostname of a Host header value (`name:port`, `[v6]:port`), lower-cased; null when malformed. */
function hostnameOf(host: string | undefined): string | null {
  if (!host) return null;
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::\d{1,5})?$/i.exec(host.trim());
  return m ? m[1]!.toLowerCase() : null;
}

const issues = (e: z.ZodError) => e.issues.map((i) => `${i.path.join('.') || 'form'}: ${i.message}`).join('; ');

/**
 * Builds the console's routes over a view of the journal. `act` applies an operator's command.
 * Exposed for tests and for embedding; {@link startConsole} wires it to a journal file and a port.
 *
 * @example
 * const app = createConsoleApp({ view, metrics, store: 'warden.sqlite', token: null, act, readAdvisory, subscribe: () => () => undefined, now: Date.now, sessionMs: 3_600_000 });
 * const state = await (await app.request('/api/state')).json();
 */
export function createConsoleApp(options: {
  readonly view: ConsoleView;
  readonly metrics: WardenMetrics;
  readonly store: string;
  readonly token: string | null;
  readonly act: (command: OperatorCommand) => Promise<OperatorOutcome>;
  readonly readAdvisory: (id: string) => Promise<Parameters<typeof advisoryPage>[2]>;
  readonly subscribe: (listener: () => void) => () => void;
  readonly now: () => number;
  readonly sessionMs: number;
  readonly machine?: AnyStateMachine;
  /** Named operators, each with their own token. */
  readonly operators?: readonly ConsoleOperator[];
  /** Host header names the console answers to (default: the loopback names). */
  readonly allowedHosts?: readonly string[];
  /** The journal's health for the status bar. */
  readonly health?: () => JournalHealth;
}): Hono {
  const { view, metrics, store, token, act, now } = options;
  const machine = options.machine ?? executionMachine;
  const operators = (options.operators ?? []).map((o) => ({ name: o.name, digest: Buffer.from(o.tokenSha256, 'hex') }));
  const allowedHosts = new Set((options.allowedHosts ?? LOOPBACK_HOSTS).map((h) => hostnameOf(h) ?? h.toLowerCase()));
  const health = options.health ?? (() => ({ chain: null, readError: null }));
  const actingEnabled = token !== null || operators.length > 0;
  const sessions = new Map<string, Session>();
  const signInWindows = new Map<string, { start: number; attempts: number }>();
  let liveClients = 0;
  const app = new Hono();

  // A page on another name that resolves here (DNS rebinding) is refused before anything is read.
  app.use('*', async (c, next) => {
    // On a real connection, the Host header as sent (none is no name at all); in-process requests have only their URL.
    const incoming = (c.env as { incoming?: { headers?: Record<string, unknown> } } | undefined)?.incoming;
    const raw = incoming ? incoming.headers?.host : new URL(c.req.url).host;
    const host = hostnameOf(typeof raw === 'string' ? raw : undefined);
    if (host === null || !allowedHosts.has(host)) return c.text(`this console answers only at its own address; Host ${JSON.stringify((c.req.header('host') ?? '').slice(0, 100))} is not one of them`, 421);
    await next();
  });

  app.use('*', secureHeaders({ contentSecurityPolicy: { defaultSrc: ["'self'"], formAction: ["'self'"], frameAncestors: ["'none'"], baseUri: ["'none'"] }, referrerPolicy: 'no-referrer' }));
  // A form posted from another site is refused before anything reads it.
  app.use('*', csrf());
  // Every answer reads what was written up to the moment it is asked for.
  app.use('*', async (_c, next) => {
    view.refresh();
    await next();
  });
  app.use('*', bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => c.text(`request body over ${MAX_BODY_BYTES} bytes`, 413) }));

  const sessionOf = (c: Context): Session | null => {
    const id = getCookie(c, SESSION_COOKIE);
    if (!id) return null;
    const s = sessions.get(id);
    if (!s) return null;
    if (s.expiresAt <= now()) {
      sessions.delete(id);
      return null;
    }
    return s;
  };
  const contextOf = (c: Context): PageContext => {
    const s = sessionOf(c);
    const notice = s?.notice ?? null;
    if (s) s.notice = null;
    return { store, canAct: s !== null, actingEnabled, csrf: s?.csrf ?? null, operator: s?.operator ?? null, notice, health: health(), now: now() };
  };
  /** Who acts: the named operator of the session, else the name typed with the shared token. */
  const operatorOf = (s: Session, typed: string | undefined): string | null => s.operator ?? (typed ? typed : null);
  /** The client's address, for the sign-in limit (one client cannot use up another's attempts). */
  const clientOf = (c: Context): string => {
    try {
      return getConnInfo(c).remote.address ?? 'unknown';
    } catch {
      return 'unknown';
    }
  };
  /** The session allowed to act, or the response refusing. Checks the form's CSRF token in constant time. */
  const actor = (c: Context, formCsrf: string): Session | Response => {
    const s = sessionOf(c);
    if (!s) return c.text(!actingEnabled ? 'this console is read-only: it was started without an operator token' : 'sign in with the operator token to act', 401);
    if (!sameSecret(formCsrf, s.csrf)) return c.text('the form is stale or forged (CSRF token mismatch): reload the page', 403);
    return s;
  };
  const form = async (c: Context): Promise<Record<string, string>> => {
    const body = await c.req.parseBody();
    return Object.fromEntries(Object.entries(body).filter((e): e is [string, string] => typeof e[1] === 'string'));
  };
  const refresh = () => view.refresh();

  app.get('/console.css', (c) => c.body(STYLE, 200, { 'content-type': 'text/css; charset=utf-8' }));
  app.get('/live.js', (c) => c.body(LIVE_SCRIPT, 200, { 'content-type': 'text/javascript; charset=utf-8' }));
  app.get('/clock.js', (c) => c.body(CLOCK_SCRIPT, 200, { 'content-type': 'text/javascript; charset=utf-8' }));

  app.get('/', (c) => c.html(nowPage(machine, view.snapshot(), now(), contextOf(c))));
  app.get('/kill-switch', (c) => c.html(killSwitchPage(view.snapshot(), contextOf(c))));
  app.get('/positions', (c) => c.html(positionsPage(view.snapshot(), contextOf(c))));
  app.get('/finished', (c) => {
    const q = FinishedQuery.safeParse({ q: c.req.query('q') ?? undefined, status: c.req.query('status') ?? undefined, symbol: c.req.query('symbol') ?? undefined, page: c.req.query('page') || undefined });
    if (!q.success) return c.html(finishedPage(view.snapshot(), { ...contextOf(c), notice: { ok: false, text: `that filter is not understood: ${issues(q.error)}` } }, { q: '', status: '', symbol: '', page: 1 }), 400);
    return c.html(finishedPage(view.snapshot(), contextOf(c), q.data));
  });
  app.get('/flags', (c) => c.html(flagsPage(view.snapshot(), contextOf(c))));
  app.get('/advisory', async (c) => {
    const id = AdvisoryId.safeParse(c.req.query('id') ?? '');
    if (!id.success) return c.html(advisoryPage({ ...contextOf(c), notice: { ok: false, text: 'an advisory id has at most 128 characters' } }, '', null), 400);
    return c.html(advisoryPage(contextOf(c), id.data, id.data ? await options.readAdvisory(id.data) : null, view.snapshot()));
  });
  app.get('/advisory/:id', async (c) => {
    const id = AdvisoryId.safeParse(c.req.param('id'));
    if (!id.success) return c.html(advisoryPage({ ...contextOf(c), notice: { ok: false, text: 'an advisory id has at most 128 characters' } }, '', null), 400);
    return c.html(advisoryPage(contextOf(c), id.data, await options.readAdvisory(id.data), view.snapshot()));
  });
  app.get('/api/state', (c) => c.json(view.snapshot()));
  app.get('/metrics', async (c) => {
    return c.body(await metrics.text(), 200, { 'content-type': metrics.registry.contentType });
  });

  app.get('/events', (c) => {
    if (liveClients >= MAX_LIVE_CLIENTS) return c.text('too many live pages open', 503);
    liveClients++;
    const session = sessionOf(c);
    const statusContext = () => ({ canAct: session !== null && sessionOf(c) !== null, csrf: session?.csrf ?? null, health: health(), now: now() });
    return streamSSE(c, async (stream) => {
      let open = true;
      let wake: () => void = () => undefined;
      const stop = options.subscribe(() => wake());
      stream.onAbort(() => {
        open = false;
        wake();
      });
      try {
        let sent = -1;
        while (open) {
          if (view.lastSequence !== sent) {
            sent = view.lastSequence;
            await stream.writeSSE({ event: 'now', data: JSON.stringify({ sequence: sent, html: String(await nowSection(machine, view.snapshot(), now())), status: String(await statusSection(view.snapshot(), statusContext())) }) });
          } else await stream.write(': still here\n\n');
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, HEARTBEAT_MS);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
      } finally {
        stop();
        liveClients--;
      }
    });
  });

  app.get('/login', (c) => c.html(loginPage(contextOf(c), view.snapshot())));
  app.post('/login', async (c) => {
    if (!actingEnabled) return c.text('this console is read-only: it was started without an operator token', 403);
    const t = now();
    const client = clientOf(c);
    let window = signInWindows.get(client);
    if (!window || t - window.start > 60_000) {
      signInWindows.delete(client);
      window = { start: t, attempts: 0 };
      signInWindows.set(client, window);
      if (signInWindows.size > MAX_SIGN_IN_CLIENTS) signInWindows.delete(signInWindows.keys().next().value!);
    }
    if (++window.attempts > SIGN_IN_ATTEMPTS_PER_MINUTE) return c.text('too many sign-in attempts from this client: wait a minute', 429);
    const parsed = LoginForm.safeParse(await form(c));
    // Every operator's digest is compared, found or not: the time taken says nothing about which.
    const offered = parsed.success ? digest(parsed.data.token) : null;
    let named: string | null = null;
    for (const o of operators) if (offered !== null && timingSafeEqual(offered, o.digest) && named === null) named = o.name;
    const shared = parsed.success && token !== null && sameSecret(parsed.data.token, token);
    if (named === null && !shared) return c.html(loginPage({ ...contextOf(c), notice: { ok: false, text: 'that is not the operator token, nor a named operator\u2019s' } }), 401);
    if (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
    const id = randomBytes(32).toString('base64url');
    sessions.set(id, { csrf: randomBytes(32).toString('base64url'), expiresAt: t + options.sessionMs, operator: named, notice: { ok: true, text: named === null ? 'signed in with the shared token: you can act (each action asks for your name)' : `signed in as ${named}: you can act` } });
    setCookie(c, SESSION_COOKIE, id, { httpOnly: true, sameSite: 'Strict', path: '/', maxAge: Math.floor(options.sessionMs / 1000) });
    return c.redirect('/', 303);
  });
  app.get('/logout', (c) => {
    const id = getCookie(c, SESSION_COOKIE);
    if (id) sessions.delete(id);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.redirect('/', 303);
  });

  app.post('/kill-switch', async (c) => {
    const body = await form(c);
    const who = actor(c, body.csrf ?? '');
    if (who instanceof Response) return who;
    const parsed = KillSwitchForm.safeParse(body);
    if (!parsed.success) return c.html(killSwitchPage(view.snapshot(), { ...contextOf(c), notice: { ok: false, text: `nothing changed: ${issues(parsed.error)}` } }), 400);
    const f = parsed.data;
    const operator = operatorOf(who, f.operator);
    if (operator === null) return c.html(killSwitchPage(view.snapshot(), { ...contextOf(c), notice: { ok: false, text: 'nothing changed: operator: an operator name is required' } }), 400);
    // Stopping everything is one more click: a confirmation names what it will do.
    if (f.state === 'active' && f.confirmed !== 'yes') return c.html(killSwitchPage(view.snapshot(), contextOf(c), { state: f.state, symbol: f.symbol, reason: f.reason, operator }));
    const outcome = await act({ kind: 'kill_switch', state: f.state, ...(f.symbol ? { symbol: f.symbol } : {}), reason: f.reason, operator });
    refresh();
    who.notice = { ok: outcome.ok, text: outcome.ok ? `${outcome.message}${outcome.appliedBy === 'engine' ? ` — applied by the running engine (pid ${outcome.pid})` : ''}` : `refused: ${outcome.message}` };
    return c.redirect('/kill-switch', 303);
  });

  app.post('/flags/resolve', async (c) => {
    const body = await form(c);
    const who = actor(c, body.csrf ?? '');
    if (who instanceof Response) return who;
    const parsed = ResolveForm.safeParse(body);
    if (!parsed.success) return c.html(flagsPage(view.snapshot(), { ...contextOf(c), notice: { ok: false, text: `nothing changed: ${issues(parsed.error)}` } }), 400);
    const operator = operatorOf(who, parsed.data.operator);
    if (operator === null) return c.html(flagsPage(view.snapshot(), { ...contextOf(c), notice: { ok: false, text: 'nothing changed: operator: an operator name is required' } }), 400);
    const outcome = await act({ kind: 'resolve', advisoryId: parsed.data.advisoryId, operator, note: parsed.data.note });
    refresh();
    who.notice = { ok: outcome.ok, text: outcome.ok ? `${outcome.message} (by ${operator}): this flag's hold is lifted; other holds on the symbol stay` : `refused: ${outcome.message}` };
    return c.redirect('/flags', 303);
  });

  // Stop everything: the global switch to `active` through the same command path, after a confirmation.
  app.post('/stop-everything', async (c) => {
    const body = await form(c);
    const who = actor(c, body.csrf ?? '');
    if (who instanceof Response) return who;
    const parsed = StopForm.safeParse(body);
    if (!parsed.success) return c.html(stopEverythingPage(view.snapshot(), { ...contextOf(c), notice: { ok: false, text: `nothing changed: ${issues(parsed.error)}` } }), 400);
    const operator = operatorOf(who, parsed.data.operator);
    const reason = parsed.data.reason || 'stop everything (console)';
    if (parsed.data.confirmed !== 'yes' || operator === null) return c.html(stopEverythingPage(view.snapshot(), { ...contextOf(c), ...(parsed.data.confirmed === 'yes' ? { notice: { ok: false, text: 'nothing changed: operator: an operator name is required' } } : {}) }), parsed.data.confirmed === 'yes' ? 400 : 200);
    const outcome = await act({ kind: 'kill_switch', state: 'active', reason, operator });
    refresh();
    who.notice = { ok: outcome.ok, text: outcome.ok ? `stopped everything: ${outcome.message}${outcome.appliedBy === 'engine' ? ` — applied by the running engine (pid ${outcome.pid})` : ''}` : `refused: ${outcome.message}` };
    return c.redirect('/kill-switch', 303);
  });

  app.notFound((c) => c.text('no such page', 404));
  app.onError((e, c) => (e instanceof HTTPException ? c.text(e.status === 403 ? 'refused: a form posted from another site' : e.message, e.status) : c.text(`the console could not answer: ${e.message.slice(0, 200)}`, 500)));
  return app;
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

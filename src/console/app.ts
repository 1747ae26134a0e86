/**
 * The console's routes over a view of the journal: the pages, the live stream, sign-in and the
 * operator's actions. Anyone who can reach it reads; acting needs a session signed in with an
 * operator token, and every form carries that session's CSRF token.
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import { streamSSE } from 'hono/streaming';
import type { AnyStateMachine } from 'xstate';
import { executionMachine } from '../../machines/execution.machine.js';
import type { OperatorOutcome } from '../engine/operator.js';
import { JournalError, type OperatorCommand } from '../journal/types.js';
import { advisoryPage } from './advisoryPage.js';
import { CLOCK_SCRIPT, LIVE_SCRIPT, STYLE } from './assets.js';
import { statusSection, type JournalHealth, type PageContext } from './layout.js';
import type { WardenMetrics } from './metrics.js';
import type { ConsoleOperator } from './operators.js';
import { finishedPage, flagsPage, killSwitchPage, loginPage, nowPage, nowSection, positionsPage, stopEverythingPage } from './pages.js';
import { AdvisoryId, FinishedQuery, hostnameOf, issues, KillSwitchForm, LoginForm, LOOPBACK_HOSTS, ResolveForm, StopForm } from './requests.js';
import type { ConsoleView } from './view.js';

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

const digest = (s: string) => createHash('sha256').update(s).digest();
/** Equal strings, compared in constant time (over their digests, so lengths leak nothing either). */
const sameSecret = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

interface Session {
  readonly csrf: string;
  readonly expiresAt: number;
  /** The named operator who signed in, or null for the shared token (names are then typed per action). */
  readonly operator: string | null;
  notice: { ok: boolean; warn?: boolean; text: string } | null;
}

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
  const { view, metrics, store, token, now } = options;
  /**
   * An operator's command and what became of it. A command the running engine took but did not
   * answer in time may have been applied: told as such (a notice), never as a refusal or an error page.
   */
  const act = (command: OperatorCommand): Promise<OperatorOutcome | { readonly unanswered: string }> =>
    options.act(command).catch((e: unknown) => {
      if (e instanceof JournalError && (e.code === 'taken_unanswered' || e.code === 'no_answer')) return { unanswered: e.message };
      throw e;
    });
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
  /** The posted form's text fields; a body that cannot be read as a form is a 400 that changes nothing. */
  const form = async (c: Context): Promise<Record<string, string>> => {
    const body = await c.req.parseBody().catch((e: unknown) => {
      throw new HTTPException(400, { message: `nothing changed: the form could not be read (${e instanceof Error ? e.message.slice(0, 120) : 'malformed body'})` });
    });
    return Object.fromEntries(Object.entries(body).filter((e): e is [string, string] => typeof e[1] === 'string'));
  };
  const refresh = () => view.refresh();

  app.get('/console.css', (c) => c.body(STYLE, 200, { 'content-type': 'text/css; charset=utf-8' }));
  app.get('/live.js', (c) => c.body(LIVE_SCRIPT, 200, { 'content-type': 'text/javascript; charset=utf-8' }));
  app.get('/clock.js', (c) => c.body(CLOCK_SCRIPT, 200, { 'content-type': 'text/javascript; charset=utf-8' }));

  app.get('/', (c) => c.html(nowPage(machine, view.snapshot(), now(), contextOf(c))));
  app.get('/kill-switch', (c) => c.html(killSwitchPage(view.snapshot(), contextOf(c))));
  app.get('/positions', (c) => c.html(positionsPage(view.snapshot(now()), contextOf(c))));
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
  app.get('/api/state', (c) => c.json(view.snapshot(now())));
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
    who.notice = 'unanswered' in outcome ? { ok: false, text: outcome.unanswered } : { ok: outcome.ok, ...(outcome.ok && outcome.unrecorded ? { warn: true } : {}), text: outcome.ok ? `${outcome.message}${outcome.appliedBy === 'engine' ? ` — applied by the running engine (pid ${outcome.pid})` : ''}` : `refused: ${outcome.message}` };
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
    who.notice = 'unanswered' in outcome ? { ok: false, text: outcome.unanswered } : { ok: outcome.ok, text: outcome.ok ? `${outcome.message} (by ${operator}): this flag's hold is lifted; other holds on the symbol stay` : `refused: ${outcome.message}` };
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
    who.notice = 'unanswered' in outcome ? { ok: false, text: outcome.unanswered } : { ok: outcome.ok, ...(outcome.ok && outcome.unrecorded ? { warn: true } : {}), text: outcome.ok ? `stopped everything: ${outcome.message}${outcome.appliedBy === 'engine' ? ` — applied by the running engine (pid ${outcome.pid})` : ''}` : `refused: ${outcome.message}` };
    return c.redirect('/kill-switch', 303);
  });

  app.notFound((c) => c.text('no such page', 404));
  app.onError((e, c) => (e instanceof HTTPException ? c.text(e.status === 403 ? 'refused: a form posted from another site' : e.message, e.status) : c.text(`the console could not answer: ${e.message.slice(0, 200)}`, 500)));
  return app;
}

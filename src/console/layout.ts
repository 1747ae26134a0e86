/** The frame around every console page: header and tabs, sign-in state, the status bar, the forms' common fields. */
import { basename } from 'node:path';
import { html } from 'hono/html';
import type { ConsoleSnapshot } from './view.js';
import { age, pill, type Html } from './format.js';

export interface PageContext {
  /** The journal file shown. */
  readonly store: string;
  /** Whether this visitor may act (signed in with an operator token). */
  readonly canAct: boolean;
  /** Whether acting is possible at all (an operator token, or named operators, are configured). */
  readonly actingEnabled: boolean;
  /** The form token of the visitor's session (CSRF), when signed in. */
  readonly csrf: string | null;
  /** The named operator signed in, or null (not signed in, or the shared token: names are typed per action). */
  readonly operator?: string | null;
  /** A one-line message to show at the top (the outcome of the last action). */
  /** `warn`: applied, with something the operator must act on (a change the journal could not record). */
  readonly notice?: { readonly ok: boolean; readonly warn?: boolean; readonly text: string } | null;
  /** The journal's health, for the status bar. */
  readonly health?: JournalHealth;
  /** The server's clock (ms), for ages rendered before the page's script takes over. */
  readonly now?: number;
}

/**
 * What the status bar says about the journal: its hash chain (checked once at start) and whether
 * the last read of it failed.
 *
 * @example
 * const health: JournalHealth = { chain: { ok: true, brokenAt: null, checkedAt: '2026-12-01T10:00:00.000Z' }, readError: null };
 */
export interface JournalHealth {
  readonly chain: { readonly ok: boolean; readonly brokenAt: number | null; readonly checkedAt: string } | null;
  readonly readError: string | null;
}

const TABS = [
  ['now', '/', 'Now'],
  ['positions', '/positions', 'Positions'],
  ['finished', '/finished', 'Finished'],
  ['kill-switch', '/kill-switch', 'Kill switch'],
  ['flags', '/flags', 'Flags'],
  ['advisory', '/advisory', 'Advisory'],
] as const;

/** The page frame: header with tabs, the sign-in state, the status bar, the notice, then the body. */
export function layout(tab: string, title: string, ctx: PageContext, body: Html, s?: ConsoleSnapshot): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} · Warden console</title><link rel="stylesheet" href="/console.css"></head>
<body data-server-now="${String(ctx.now ?? Date.now())}"><header><b>WARDEN</b>${TABS.map(([id, href, name]) => html`<a href="${href}" class="${id === tab ? 'on' : ''}">${name}</a>`)}
<span class="who"><span title="${ctx.store}">${basename(ctx.store)}</span> · ${ctx.canAct ? html`${ctx.operator ? html`signed in as <b id="operator-name">${ctx.operator}</b>` : 'operator session (shared token)'} · <a href="/logout" id="logout">sign out</a>` : ctx.actingEnabled ? html`read-only · <a href="/login">sign in to act</a>` : 'read-only (no operator token configured)'}</span></header>
${s ? html`<div id="status-live">${statusSection(s, ctx)}</div>` : ''}
<main>${ctx.notice ? html`<div class="notice ${ctx.notice.ok ? (ctx.notice.warn ? 'warn' : 'ok') : 'bad'}" id="notice">${ctx.notice.ok && ctx.notice.warn ? 'applied, but NOT recorded — ' : ''}${ctx.notice.text}</div>` : ''}${body}</main>
<script src="/clock.js"></script>${s ? html`<script src="/live.js"></script>` : ''}</body></html>`;
}

const SEVERITY: Record<string, number> = { off: 0, warning: 1, active: 2 };
const stricter = (a: string, b: string) => ((SEVERITY[a] ?? 2) >= (SEVERITY[b] ?? 2) ? a : b);

/**
 * Each scope's effective state (a symbol's is the strictest of its own holds and the global ones)
 * with the holds behind it, each with who raised it and what lifts it.
 */
export function scopes(s: ConsoleSnapshot): { scope: string; own: string; state: string; holds: { scope: string; state: string; type: string; by: string; reason: string; kind: string; liftedBy: string }[] }[] {
  const holdsOf = (symbol: string | null) =>
    s.killSwitch.holds.filter((h) => h.symbol === symbol).map((h) => ({ scope: symbol ?? 'global', state: h.state, type: h.type, by: h.by, reason: h.reason, kind: h.kind, liftedBy: h.liftedBy }));
  const ownOf = (symbol: string | null) => holdsOf(symbol).reduce((state, h) => stricter(state, h.state), 'off');
  const globalHolds = holdsOf(null);
  const symbols = [...new Set([...s.killSwitch.symbols.map((x) => x.symbol), ...s.killSwitch.holds.map((h) => h.symbol).filter((x): x is string => x !== null)])].sort();
  return [
    { scope: 'global', own: ownOf(null), state: s.killSwitch.global, holds: globalHolds },
    ...symbols.map((symbol) => {
      const own = ownOf(symbol);
      return { scope: symbol, own, state: stricter(own, s.killSwitch.global), holds: [...holdsOf(symbol), ...globalHolds] };
    }),
  ];
}

/** The status bar on every page: effective kill switch per scope with its holds, open flags, the journal's health, and stop-everything. */
export function statusSection(s: ConsoleSnapshot, ctx: Pick<PageContext, 'canAct' | 'csrf' | 'health' | 'now'>): Html {
  // The global switch, and each symbol held on its own (the global one's hold already covers the rest).
  const shown = scopes(s)
    .filter((x, i) => i === 0 || x.own !== 'off')
    .map((x, i) => (i === 0 ? x : { ...x, holds: x.holds.filter((h) => h.scope !== 'global') }));
  const h = ctx.health;
  return html`<div class="statusbar" id="status">${shown.map(
    (x) => html`<span class="scope" data-scope="${x.scope}" data-state="${x.state}">${x.scope} ${pill(x.state)}${x.holds.length > 0 ? html`<span class="holds">${x.holds.map((hold) => html`<span class="hold" data-hold="${hold.kind}">${hold.scope} ${hold.state} — ${hold.kind} by ${hold.by}: ${hold.reason} (lifted by ${hold.liftedBy})</span>`)}</span>` : ''}</span>`,
  )}
<a href="/flags" id="status-flags" class="${s.flagsOpen.length > 0 ? 'bad' : ''}">${s.flagsOpen.length} open flag${s.flagsOpen.length === 1 ? '' : 's'}</a>
<span id="status-journal">journal record ${s.lastSequence}${s.lastRecordAt ? html`, last written ${age(s.lastRecordAt, ctx.now)}` : ''} · ${
    h?.readError ? html`<b class="bad">cannot read: ${h.readError}</b> · ` : ''
  }${h?.chain ? (h.chain.ok ? html`<span class="pill off">chain verified</span>` : html`<span class="pill active">CHAIN BROKEN at record ${h.chain.brokenAt ?? '?'}</span>`) : html`<span class="muted">chain not checked yet</span>`}</span>
${ctx.canAct ? html`<form method="post" action="/stop-everything" id="stop-everything-form"><input type="hidden" name="csrf" value="${ctx.csrf ?? ''}"><button class="danger" type="submit" id="stop-everything">Stop everything</button></form>` : ''}</div>`;
}

/** The session's form token (CSRF). */
export const csrfField = (ctx: PageContext) => html`<input type="hidden" name="csrf" value="${ctx.csrf ?? ''}">`;

/** The operator's name, asked for per action unless a named operator is signed in. */
export const operatorField = (ctx: PageContext, id?: string) => (ctx.operator ? '' : html`<label>operator (your name)<input name="operator"${id ? html` id="${id}"` : ''} required maxlength="100"></label>`);

/**
 * The console's pages, rendered on the server. Every value goes through hono's `html` template,
 * which escapes it: journal contents are data an attacker may have shaped (a snapshot's fields),
 * never markup.
 */
import { basename } from 'node:path';
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { AnyStateMachine } from 'xstate';
import { FINAL_STATUSES } from '../domain/constants.js';
import type { ExecutionResult } from '../domain/result.js';
import type { JournalRecord, JournalVerification } from '../journal/types.js';
import { reasonOf } from '../journal/reasons.js';
import { isResult, type ConsoleSnapshot, type ExecutionView } from './view.js';

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

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
  readonly notice?: { readonly ok: boolean; readonly text: string } | null;
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

/** The stylesheet, served at /console.css (no inline styles: the pages' CSP allows only the console's own files). */
export const STYLE = `
:root{--fg:#1d2430;--muted:#677489;--line:#d9dee7;--bg:#f6f7f9;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--hi:#0b57d0}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;gap:18px;align-items:center;padding:10px 20px;background:#16202e;color:#fff}
header b{font-size:16px;letter-spacing:.5px}header a{color:#c8d3e6;text-decoration:none}header a.on{color:#fff;border-bottom:2px solid #fff}
header .who{margin-left:auto;font-size:12px;color:#c8d3e6}main{padding:16px 20px;max-width:1200px}
h1{font-size:18px;margin:4px 0 12px}h2{font-size:15px;margin:18px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line)}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#eef1f5;font-weight:600;font-size:12px}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pill{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
.off{background:#dafbe1;color:var(--ok)}.warning{background:#fff8c5;color:var(--warn)}.active{background:#ffebe9;color:var(--bad)}
.notice{padding:8px 12px;border-radius:6px;margin-bottom:12px}.notice.ok{background:#dafbe1}.notice.bad{background:#ffebe9}
.muted{color:var(--muted)}.bad{color:var(--bad)}code{font-size:12px}
form.inline{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-end;background:#fff;border:1px solid var(--line);padding:10px;border-radius:6px}
label{display:flex;flex-direction:column;font-size:12px;color:var(--muted)}input,select,textarea{font:inherit;padding:4px 6px;border:1px solid var(--line);border-radius:4px}
button{font:inherit;padding:5px 12px;border-radius:5px;border:1px solid #8c959f;background:#fff;cursor:pointer}button.danger{background:var(--bad);color:#fff;border-color:var(--bad)}
.chart{display:flex;flex-wrap:wrap;gap:6px;background:#fff;border:1px solid var(--line);padding:10px;border-radius:6px}
.st{border:1px solid #9aa6b8;border-radius:8px;padding:4px 8px;background:#fff;min-width:80px}
.st.compound{background:#f7f9fc}.st>.name{font-size:12px;font-weight:600}.st>.kids{display:flex;flex-wrap:wrap;gap:6px;margin-top:4px}
.st.final>.name::after{content:" ◉";color:var(--muted)}
.st.here{border:2px solid var(--hi);background:#e8f0fe}.st.within{border-color:var(--hi)}
.st .who{display:block;font-size:11px;color:var(--hi);font-weight:600}
.timeline td:first-child,.timeline td:nth-child(2){white-space:nowrap}.timeline code{word-break:break-all}
.statusbar{display:flex;flex-wrap:wrap;gap:14px;align-items:center;padding:6px 20px;background:#fff;border-bottom:1px solid var(--line);font-size:13px}
.statusbar .scope{display:inline-flex;gap:4px;align-items:center}.statusbar .holds{font-size:11px;color:var(--muted)}
.statusbar form{margin-left:auto}.hold+.hold::before{content:" · "}.local{color:var(--muted);font-size:12px}
.summary{display:grid;grid-template-columns:max-content auto;gap:2px 14px;background:#fff;border:1px solid var(--line);padding:10px;border-radius:6px;margin-bottom:10px}
.summary dt{color:var(--muted)}.summary dd{margin:0}.pager{display:flex;gap:12px;align-items:center;margin:8px 0}
tr.differs td{background:#fff8c5}
`;

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
<main>${ctx.notice ? html`<div class="notice ${ctx.notice.ok ? 'ok' : 'bad'}" id="notice">${ctx.notice.text}</div>` : ''}${body}</main>
<script src="/clock.js"></script>${s ? html`<script src="/live.js"></script>` : ''}</body></html>`;
}

const pill = (state: string) => html`<span class="pill ${state}">${state}</span>`;
const when = (iso: string | null | undefined) => (typeof iso === 'string' && iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');
/** A time in UTC; the page's script adds the viewer's local time beside it. */
const time = (iso: string | null | undefined) => (typeof iso === 'string' && iso ? html`<time datetime="${iso}">${when(iso)}</time>` : '-');
/** How long ago, kept ticking by the page's script. */
const age = (iso: string | null | undefined, now: number | undefined) => {
  const t = typeof iso === 'string' ? Date.parse(iso) : NaN;
  if (!Number.isFinite(t)) return '-';
  return html`<span class="age" data-since="${iso}">${ago((now ?? Date.now()) - t)}</span>`;
};
const ago = (ms: number) => (ms < 1_000 ? 'just now' : ms < 60_000 ? `${Math.floor(ms / 1_000)} s ago` : ms < 3_600_000 ? `${Math.floor(ms / 60_000)} min ago` : ms < 86_400_000 ? `${Math.floor(ms / 3_600_000)} h ago` : `${Math.floor(ms / 86_400_000)} d ago`);
const isNum = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n);
const num = (n: unknown) => (isNum(n) ? n.toLocaleString('en-US', { maximumFractionDigits: 8 }) : '-');
/** Prices at a desk's precision: 2 decimals from 1,000 up, 5 from 1, else 8 significant digits. */
export const price = (n: unknown) => (isNum(n) ? n.toLocaleString('en-US', Math.abs(n) >= 1_000 ? { maximumFractionDigits: 2 } : Math.abs(n) >= 1 ? { maximumFractionDigits: 5 } : { maximumSignificantDigits: 8 }) : '-');
const money = (n: unknown) => (isNum(n) ? n.toLocaleString('en-US', { maximumFractionDigits: 2 }) : '-');
const pct = (n: unknown) => (isNum(n) ? `${n >= 0 ? '+' : ''}${n.toFixed(3)} %` : '-');
/** What a fill is worth: filled quantity × average fill price. */
export const notional = (r: ExecutionResult): number | null => (isNum(r.fillPrice) && r.filledQuantity > 0 ? r.filledQuantity * r.fillPrice : null);
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

/** The machine's own states as nested boxes; the states executions are in now carry their advisories. */
export function chart(machine: AnyStateMachine, inFlight: readonly ExecutionView[]): Html {
  const at = new Map<string, string[]>();
  for (const e of inFlight) at.set(e.state, [...(at.get(e.state) ?? []), e.advisoryId ?? e.executionId.slice(0, 8)]);
  const box = (node: { key: string; type: string; path: string[]; states: Record<string, unknown> }): Html => {
    const id = node.path.join('.');
    const here = at.get(id);
    const within = !here && [...at.keys()].some((s) => s.startsWith(`${id}.`));
    const kids = Object.values(node.states) as (typeof node)[];
    return html`<div class="st ${node.type}${here ? ' here' : ''}${within ? ' within' : ''}" data-state="${id}"><span class="name">${node.key}</span>${here ? here.map((a) => html`<span class="who">${a}</span>`) : ''}${kids.length > 0 ? html`<div class="kids">${kids.map(box)}</div>` : ''}</div>`;
  };
  return html`<div class="chart" id="chart">${(Object.values(machine.root.states) as Parameters<typeof box>[0][]).map(box)}</div>`;
}

const resultRow = (e: ExecutionView, now?: number) => {
  const r = e.result!;
  return html`<tr data-advisory="${e.advisoryId ?? ''}"><td><a href="/advisory/${encodeURIComponent(e.advisoryId ?? e.executionId)}">${e.advisoryId ?? '(invalid input)'}</a></td><td>${e.symbol ?? '-'}</td><td>${e.side ?? '-'}</td><td class="status">${r.status}</td><td class="num">${num(r.filledQuantity)}</td><td class="num">${price(r.fillPrice)}</td><td class="num slippage">${pct(r.slippagePct)}</td><td class="num notional">${money(notional(r))}</td><td class="approver">${e.approvedBy ?? '-'}</td><td>${r.requiresManualResolution && !e.resolution ? html`<b class="bad">flagged</b>` : e.resolution ? 'resolved' : 'no'}</td><td class="muted">${r.status === 'filled' && !r.requiresManualResolution ? '' : reasonOf(r, { detail: true })}</td><td class="muted">${time(r.finishedAt)} ${age(r.finishedAt, now)}</td></tr>`;
};
const FINISHED_HEADER = html`<tr><th>advisory</th><th>symbol</th><th>side</th><th>status</th><th>filled</th><th>fill price</th><th title="against the reference price; positive is worse for that side">slippage</th><th title="filled quantity × fill price">notional</th><th>approved by</th><th>manual</th><th>reason</th><th>finished</th></tr>`;
/** How many finished executions the Now page lists (the Finished page has them all, with filters). */
const NOW_FINISHED = 20;

/** The live part of the Now page (sent again over server-sent events at every change). */
export function nowSection(machine: AnyStateMachine, s: ConsoleSnapshot, now: number): Html {
  return html`<h2>In flight <span class="muted" id="in-flight-count">${s.inFlight.length}</span></h2>
${chart(machine, s.inFlight)}
${
  s.inFlight.length === 0
    ? html`<p class="muted" id="in-flight-none">No execution in flight.</p>`
    : html`<table id="in-flight"><tr><th>advisory</th><th>symbol</th><th>side</th><th>size</th><th>reference</th><th>approved by</th><th>state</th><th>since</th><th>deadline in</th></tr>${s.inFlight.map(
        (e) =>
          html`<tr data-advisory="${e.advisoryId ?? ''}"><td><a href="/advisory/${encodeURIComponent(e.advisoryId ?? e.executionId)}">${e.advisoryId ?? e.executionId}</a></td><td>${e.symbol ?? '-'}</td><td>${e.side ?? '-'}</td><td class="num">${num(e.quantity)}</td><td class="num">${price(e.referencePrice)}</td><td>${e.approvedBy ?? '-'}</td><td class="state"><code>${e.state}</code></td><td>${time(e.stateSince)} ${age(e.stateSince, now)}</td><td class="num">${e.deadlineAt === null ? '-' : html`<span class="deadline" data-deadline="${e.deadlineAt}">${e.deadlineAt > now ? `${((e.deadlineAt - now) / 1000).toFixed(1)} s` : 'passed'}</span>`}</td></tr>`,
      )}</table>`
}
<h2>Finished <span class="muted">(latest ${Math.min(NOW_FINISHED, s.finished.length)} · <a href="/finished">all, with filters</a>)</span></h2>
<table id="finished">${FINISHED_HEADER}${s.finished.slice(0, NOW_FINISHED).map((e) => resultRow(e, now))}</table>
<p class="muted">journal record ${s.lastSequence}</p>`;
}

/** Served at /live.js: replaces the live section and the status bar whenever the server says the journal moved. */
export const LIVE_SCRIPT = `
(() => {
  const source = new EventSource('/events');
  source.addEventListener('now', (e) => {
    const data = JSON.parse(e.data);
    const target = document.getElementById('live');
    if (target) { target.innerHTML = data.html; target.dataset.sequence = data.sequence; }
    const status = document.getElementById('status-live');
    if (status && data.status) status.innerHTML = data.status;
  });
})();`;

/** Served at /clock.js: the viewer's local time beside each UTC time, and ages and deadlines that tick. */
export const CLOCK_SCRIPT = `
(() => {
  const pad = (n) => String(n).padStart(2, '0');
  const local = (d) => d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  const ago = (ms) => ms < 1000 ? 'just now' : ms < 60000 ? Math.floor(ms / 1000) + ' s ago' : ms < 3600000 ? Math.floor(ms / 60000) + ' min ago' : ms < 86400000 ? Math.floor(ms / 3600000) + ' h ago' : Math.floor(ms / 86400000) + ' d ago';
  // Ages and deadlines on the console's clock, not the viewer's: a browser whose clock differs from
  // the server's would otherwise show ages that are off, or that never move.
  const serverNow = Number(document.body.dataset.serverNow);
  const offset = Number.isFinite(serverNow) ? serverNow - Date.now() : 0;
  const tick = () => {
    const now = Date.now() + offset;
    for (const el of document.querySelectorAll('time[datetime]:not([data-local])')) {
      const d = new Date(el.getAttribute('datetime'));
      if (isNaN(d.getTime())) continue;
      el.dataset.local = '1';
      const span = document.createElement('span');
      span.className = 'local';
      span.textContent = ' · ' + local(d) + ' local';
      el.after(span);
    }
    for (const el of document.querySelectorAll('[data-since]')) {
      const t = Date.parse(el.dataset.since);
      if (!isNaN(t)) el.textContent = ago(now - t);
    }
    for (const el of document.querySelectorAll('[data-deadline]')) {
      const t = Number(el.dataset.deadline);
      if (Number.isFinite(t)) el.textContent = t > now ? ((t - now) / 1000).toFixed(1) + ' s' : 'passed';
    }
  };
  tick();
  setInterval(tick, 500);
})();`;

export function nowPage(machine: AnyStateMachine, s: ConsoleSnapshot, now: number, ctx: PageContext): Html {
  return layout('now', 'Now', ctx, html`<h1>Now</h1><div id="live" data-sequence="${s.lastSequence}">${nowSection(machine, s, now)}</div>`, s);
}

/** Per symbol: Warden's own fills netted, exposure at the last fill price, protective levels, and the venue's last reconciled position. */
export function positionsPage(s: ConsoleSnapshot, ctx: PageContext): Html {
  return layout(
    'positions',
    'Positions',
    ctx,
    html`<h1>Positions</h1>
<p class="muted">Warden's ledger: what its executions filled in this journal, netted per symbol (buys +, sells −). Exposure is the net quantity at the last fill price. The venue's figure is its answer to the last reconciliation; trades made elsewhere, and protective orders the venue has triggered since, show only there.</p>
${
  s.positions.length === 0
    ? html`<p id="no-positions">No fill in this journal yet.</p>`
    : html`<table id="positions"><tr><th>symbol</th><th>Warden net</th><th>average price</th><th>last fill price</th><th>exposure</th><th>fills</th><th>last fill</th><th>venue (last reconciled)</th><th>protective levels (Warden placed)</th></tr>${s.positions.map(
        (p) => html`<tr data-symbol="${p.symbol}" class="${p.venue && p.venue.quantity !== p.netQuantity ? 'differs' : ''}"><td>${p.symbol}</td><td class="num net">${num(p.netQuantity)}</td><td class="num">${price(p.averagePrice)}</td><td class="num">${price(p.lastFillPrice)}</td><td class="num exposure">${money(p.exposure)}</td><td class="num">${p.fills}</td><td>${time(p.lastFillAt)} ${age(p.lastFillAt, ctx.now)}</td><td class="venue">${
          p.venue ? html`${num(p.venue.quantity)}${p.venue.averagePrice === null ? '' : html` at ${price(p.venue.averagePrice)}`}${p.venue.stopLoss === null ? '' : html`, SL ${price(p.venue.stopLoss)}`}${p.venue.takeProfit === null ? '' : html`, TP ${price(p.venue.takeProfit)}`} <span class="muted">(${time(p.venue.at)})</span>${p.venue.quantity !== p.netQuantity ? html` <b class="bad">differs from Warden's ledger</b>` : ''}` : '-'
        }</td><td class="protection">${
          p.protection.length === 0 ? '-' : html`<ul>${p.protection.slice(0, 10).map((x) => html`<li>${num(x.quantity)} ${x.side ?? ''}: SL ${price(x.stopLoss)} · TP ${price(x.takeProfit)} <span class="muted">(${x.advisoryId ?? '-'})</span></li>`)}</ul>`
        }</td></tr>`,
      )}</table>`
}`,
    s,
  );
}

/** What the Finished page filters on. */
export interface FinishedFilter {
  readonly q: string;
  readonly status: string;
  readonly symbol: string;
  readonly page: number;
}
const FINISHED_PAGE = 50;

/** Every finished execution the console keeps, searchable (advisory, order id, approver, reason), filtered by status and symbol, in pages. */
export function finishedPage(s: ConsoleSnapshot, ctx: PageContext, f: FinishedFilter): Html {
  const needle = f.q.toLowerCase();
  const matches = s.finished.filter((e) => {
    const r = e.result!;
    if (f.status === 'flagged' ? !(r.requiresManualResolution && !e.resolution) : f.status !== '' && r.status !== f.status) return false;
    if (f.symbol !== '' && e.symbol !== f.symbol) return false;
    if (needle === '') return true;
    return [e.advisoryId, e.executionId, e.clientOrderId, e.approvedBy, r.brokerOrderId, reasonOf(r, { detail: true })].some((v) => typeof v === 'string' && v.toLowerCase().includes(needle));
  });
  const pages = Math.max(1, Math.ceil(matches.length / FINISHED_PAGE));
  const page = Math.min(f.page, pages);
  const link = (p: number) => `/finished?${new URLSearchParams({ q: f.q, status: f.status, symbol: f.symbol, page: String(p) }).toString()}`;
  const symbols = [...new Set(s.finished.map((e) => e.symbol).filter((x): x is string => x !== null))].sort();
  return layout(
    'finished',
    'Finished',
    ctx,
    html`<h1>Finished <span class="muted" id="finished-count">${matches.length} of ${s.finished.length}</span></h1>
<form class="inline" method="get" action="/finished" id="finished-filter"><label>search (advisory, order id, approver, reason)<input name="q" id="q" value="${f.q}" maxlength="128" size="32"></label>
<label>status<select name="status" id="filter-status"><option value="">any</option>${[...FINAL_STATUSES, 'flagged'].map((x) => html`<option value="${x}"${x === f.status ? ' selected' : ''}>${x}</option>`)}</select></label>
<label>symbol<select name="symbol" id="filter-symbol"><option value="">any</option>${symbols.map((x) => html`<option value="${x}"${x === f.symbol ? ' selected' : ''}>${x}</option>`)}</select></label>
<button type="submit" id="filter">Filter</button> <a href="/finished">clear</a></form>
<div class="pager" id="pager">${page > 1 ? html`<a href="${link(page - 1)}" id="prev">← newer</a>` : ''}<span>page ${page} of ${pages}</span>${page < pages ? html`<a href="${link(page + 1)}" id="next">older →</a>` : ''}</div>
<table id="finished-all">${FINISHED_HEADER}${matches.slice((page - 1) * FINISHED_PAGE, page * FINISHED_PAGE).map((e) => resultRow(e, ctx.now))}</table>`,
    s,
  );
}

const csrfField = (ctx: PageContext) => html`<input type="hidden" name="csrf" value="${ctx.csrf ?? ''}">`;

const operatorField = (ctx: PageContext, id?: string) => (ctx.operator ? '' : html`<label>operator (your name)<input name="operator"${id ? html` id="${id}"` : ''} required maxlength="100"></label>`);

export function killSwitchPage(s: ConsoleSnapshot, ctx: PageContext, confirm?: { state: string; symbol: string; reason: string; operator: string }): Html {
  const form = confirm
    ? html`<form class="inline" method="post" action="/kill-switch" id="confirm-form"><input type="hidden" name="state" value="${confirm.state}"><input type="hidden" name="symbol" value="${confirm.symbol}"><input type="hidden" name="reason" value="${confirm.reason}"><input type="hidden" name="operator" value="${confirm.operator}"><input type="hidden" name="confirmed" value="yes">${csrfField(ctx)}
<div><b>Activate the kill switch for ${confirm.symbol || 'every symbol (global)'}?</b><br>Working orders ${confirm.symbol ? `on ${confirm.symbol}` : 'on every symbol'} get their cancel requested; positions stay. Reason: “${confirm.reason}”, by ${confirm.operator}.</div>
<button class="danger" type="submit" id="confirm">Yes, activate</button> <a href="/kill-switch">Cancel</a></form>`
    : ctx.canAct
      ? html`<form class="inline" method="post" action="/kill-switch" id="kill-switch-form">${csrfField(ctx)}
<label>state<select name="state" id="state"><option>off</option><option>warning</option><option>active</option></select></label>
<label>symbol (empty: global)<input name="symbol" id="symbol" maxlength="32" placeholder="EURUSD"></label>
<label>reason<input name="reason" id="reason" required maxlength="500"></label>
${operatorField(ctx, 'operator')}
<button type="submit" id="set">Set</button></form>`
      : html`<p class="muted">Sign in with the operator token to change a switch.</p>`;
  return layout(
    'kill-switch',
    'Kill switch',
    ctx,
    html`<h1>Kill switch</h1>
<table id="switches"><tr><th>scope</th><th>own state</th><th>effective</th><th>held by</th></tr>${scopes(s).map(
      (x) =>
        html`<tr data-scope="${x.scope}"><td>${x.scope}</td><td>${pill(x.own)}</td><td class="effective">${pill(x.state)}</td><td class="muted">${x.holds.map((h) => html`<div>${h.scope} ${h.state} — ${h.kind} by ${h.by}: ${h.reason}</div>`)}</td></tr>`,
    )}</table>
<h2>Holds</h2>
<p class="muted">A scope is halted by its holds, each lifted only by what raised it: setting a switch changes the operators' hold and nothing else.</p>
<table id="holds"><tr><th>scope</th><th>state</th><th>hold</th><th>by</th><th>since</th><th>why</th><th>lifted by</th></tr>${s.killSwitch.holds.map((h) => html`<tr data-hold="${h.kind}"><td>${h.symbol ?? 'global'}</td><td>${pill(h.state)}</td><td>${h.kind}${h.kind === 'reconciliation' ? html` <a href="/advisory/${encodeURIComponent(h.key)}">${h.key}</a>` : ''}</td><td>${h.by}</td><td>${when(h.since)}</td><td>${h.reason}</td><td>${h.liftedBy}</td></tr>`)}</table>
<h2>Change</h2>${form}
<h2>History</h2>
<table id="history"><tr><th>when</th><th>scope</th><th>change</th><th>type</th><th>by</th><th>why</th></tr>${[...s.killSwitch.history]
      .reverse()
      .slice(0, 200)
      .map((c) => html`<tr><td>${time(c.at)}</td><td>${c.symbol ?? 'global'}</td><td>${pill(c.from)} → ${pill(c.to)}</td><td>${c.type}</td><td>${c.operator}</td><td>${c.reason}</td></tr>`)}</table>`,
    s,
  );
}

/** The confirmation before the global kill switch goes to `active`. */
export function stopEverythingPage(s: ConsoleSnapshot, ctx: PageContext): Html {
  const working = s.inFlight.length;
  return layout(
    'kill-switch',
    'Stop everything',
    ctx,
    html`<h1>Stop everything?</h1>
<form class="inline" method="post" action="/stop-everything" id="stop-confirm-form">${csrfField(ctx)}<input type="hidden" name="confirmed" value="yes">
<div><b>This sets the global kill switch to active.</b> No symbol takes a new order; the ${working} execution${working === 1 ? '' : 's'} in flight get their working orders' cancel requested at once. Positions stay open and what fills is still protected. Lifting it takes an operator setting the global switch off.</div>
<label>reason<input name="reason" id="stop-reason" maxlength="500" value="stop everything (console)"></label>${operatorField(ctx, 'stop-operator')}
<button class="danger" type="submit" id="stop-confirm">Yes, stop everything</button> <a href="/kill-switch" id="stop-cancel">Cancel</a></form>`,
    s,
  );
}

const mismatchList = (r: ExecutionResult) =>
  html`<ul class="mismatches">${(r.reconciliation?.mismatches ?? []).map((m) => html`<li><code>${m.field}</code>: expected ${json(m.expected)}, broker says ${json(m.actual)} — ${m.message}</li>`)}</ul>`;

/** Any journal value as short text; never throws, whatever it holds. */
function json(v: unknown, max = 240): string {
  try {
    return (JSON.stringify(v) ?? String(typeof v)).slice(0, max);
  } catch {
    return '(unreadable)';
  }
}
/** A journal value shown where a word is expected: strings and numbers as they are, anything else as JSON. */
const word = (v: unknown): string => (typeof v === 'string' ? v.slice(0, 200) : typeof v === 'number' || typeof v === 'boolean' ? String(v) : v === undefined || v === null ? '?' : json(v, 80));

export function flagsPage(s: ConsoleSnapshot, ctx: PageContext): Html {
  return layout(
    'flags',
    'Flags',
    ctx,
    html`<h1>Flags <span class="muted">(manual resolution)</span></h1>
${
  s.flagsOpen.length === 0
    ? html`<p id="no-flags">No execution awaits resolution.</p>`
    : s.flagsOpen.map(
        (e) => html`<section class="flag" data-advisory="${e.advisoryId ?? ''}"><h2><a href="/advisory/${encodeURIComponent(e.advisoryId ?? e.executionId)}">${e.advisoryId}</a> · ${e.symbol ?? '-'} · ${e.result!.status} · filled ${num(e.result!.filledQuantity)}${isNum(e.result!.fillPrice) ? ` at ${price(e.result!.fillPrice)}` : ''}</h2>
<div class="muted">approved by ${e.approvedBy ?? '-'} · slippage ${pct(e.result!.slippagePct)} · notional ${money(notional(e.result!))} · finished ${time(e.result!.finishedAt)} ${age(e.result!.finishedAt, ctx.now)}</div>
<div class="muted">${reasonOf(e.result!, { detail: true })}</div>${mismatchList(e.result!)}
${
  ctx.canAct
    ? html`<form class="inline" method="post" action="/flags/resolve">${csrfField(ctx)}<input type="hidden" name="advisoryId" value="${e.advisoryId ?? ''}">
${operatorField(ctx)}<label>note (what was checked or done)<input name="note" required maxlength="2000" size="50"></label><button type="submit">Resolve</button></form>`
    : html`<p class="muted">Sign in with the operator token to resolve.</p>`
}</section>`,
      )
}
<h2>Resolved</h2>
<table id="resolved"><tr><th>advisory</th><th>symbol</th><th>status</th><th>by</th><th>note</th><th>when</th></tr>${s.flagsResolved.map((e) => html`<tr><td><a href="/advisory/${encodeURIComponent(e.advisoryId ?? e.executionId)}">${e.advisoryId}</a></td><td>${e.symbol ?? '-'}</td><td>${e.result?.status ?? '-'}</td><td>${e.resolution!.operator}</td><td>${e.resolution!.note}</td><td>${time(e.resolution!.at)}</td></tr>`)}</table>`,
    s,
  );
}

const describeRecord = (r: JournalRecord): string => {
  if (typeof r.payload === 'object' && r.payload !== null && 'unreadablePayload' in r.payload) return `unreadable: the stored payload is not JSON: ${word((r.payload as { unreadablePayload: unknown }).unreadablePayload)}`;
  switch (r.kind) {
    case 'transition':
      return `${word(r.from ?? '')} → ${word(r.to ?? '')}  (${word(r.event ?? '')})`;
    case 'broker.request':
    case 'broker.response':
    case 'broker.error':
      return `${word(r.event ?? '')} ${json(r.payload)}`;
    case 'claim': {
      const p = (typeof r.payload === 'object' && r.payload !== null ? r.payload : {}) as { clientOrderId?: unknown; deadlineAt?: unknown; broker?: unknown; snapshot?: { symbol?: unknown; side?: unknown; positionSize?: unknown; approval?: { approvedBy?: unknown } } };
      const snapshot = typeof p.snapshot === 'object' && p.snapshot !== null ? p.snapshot : {};
      const approvedBy = typeof snapshot.approval === 'object' && snapshot.approval !== null ? snapshot.approval.approvedBy : undefined;
      const deadline = isNum(p.deadlineAt) && Math.abs(p.deadlineAt) < 8.64e15 ? new Date(p.deadlineAt).toISOString() : '?';
      return `${word(snapshot.side)} ${word(snapshot.positionSize)} ${word(snapshot.symbol)} as ${word(p.clientOrderId)}, approved by ${word(approvedBy)}, deadline ${deadline}, broker ${word(p.broker ?? 'not recorded')}`;
    }
    case 'result': {
      if (!isResult(r.payload)) return `result record unreadable: ${json(r.payload)}`;
      return `${r.payload.status}${r.payload.requiresManualResolution ? ', awaiting resolution' : ''}`;
    }
    default:
      return json(r.payload);
  }
};

const clock = (iso: unknown) => (typeof iso === 'string' ? iso.slice(11, 23) : '?');

/** The execution's essentials from its own records: approver, reference, fill, slippage, notional. */
function summary(records: readonly JournalRecord[]): Html {
  const claim = records.find((r) => r.kind === 'claim')?.payload as { snapshot?: Record<string, unknown> } | undefined;
  const snap = typeof claim?.snapshot === 'object' && claim.snapshot !== null ? claim.snapshot : {};
  const approval = typeof snap.approval === 'object' && snap.approval !== null ? (snap.approval as Record<string, unknown>) : {};
  const last = records.findLast((r) => r.kind === 'result')?.payload;
  const result = isResult(last) ? last : null;
  if (!claim && !result) return html``;
  return html`<dl class="summary" id="summary"><dt>symbol</dt><dd>${word(snap.symbol)} ${word(snap.side)} ${num(snap.positionSize)}</dd><dt>approved by</dt><dd id="approved-by">${word(approval.approvedBy)} ${typeof approval.approvedAt === 'string' ? html`at ${time(approval.approvedAt)}` : ''}</dd><dt>reference price</dt><dd>${price(snap.referencePrice)}</dd>${
    result
      ? html`<dt>status</dt><dd>${result.status}${result.requiresManualResolution ? ' (awaiting resolution)' : ''}</dd><dt>filled</dt><dd>${num(result.filledQuantity)} at ${price(result.fillPrice)}</dd><dt>slippage</dt><dd id="slippage">${pct(result.slippagePct)}</dd><dt>notional</dt><dd id="notional">${money(notional(result))}</dd><dt>SL / TP</dt><dd>${price(result.stopLoss)} / ${price(result.takeProfit)}</dd>`
      : html`<dt>status</dt><dd>in flight</dd>`
  }</dl>`;
}

type TimelineRow = JournalRecord | { readonly repeats: number; readonly first: number; readonly last: number; readonly at: string; readonly kind: string; readonly broken: boolean };

/**
 * A poll that keeps getting the same answer is one line, not hundreds: runs of identical look-up
 * request/answer pairs (same method, same request, same answer) fold into a count. Every record
 * still counts for the hash check, which is shown per fold.
 */
function collapseRepeats(records: readonly JournalRecord[], hashOk?: ReadonlyMap<number, boolean>): TimelineRow[] {
  const rows: TimelineRow[] = [];
  const key = (r: JournalRecord) => `${r.kind}|${r.event}|${JSON.stringify(r.payload)}`;
  for (let i = 0; i < records.length; ) {
    const req = records[i]!;
    const res = records[i + 1];
    const pair = req.kind === 'broker.request' && (req.event === 'getOrder' || req.event === 'getPosition') && res?.kind === 'broker.response' && res.event === req.event;
    if (!pair) {
      rows.push(req);
      i++;
      continue;
    }
    let j = i + 2;
    while (j + 1 < records.length && key(records[j]!) === key(req) && key(records[j + 1]!) === key(res)) j += 2;
    rows.push(req, res);
    if (j > i + 2) rows.push({ repeats: (j - i - 2) / 2, first: records[i + 2]!.sequence, last: records[j - 1]!.sequence, at: records[j - 1]!.at, kind: `${req.event} ×${(j - i - 2) / 2}`, broken: records.slice(i + 2, j).some((r) => hashOk?.get(r.sequence) === false) });
    i = j;
  }
  return rows;
}

export function advisoryPage(ctx: PageContext, query: string, found: { records: readonly JournalRecord[]; chain: JournalVerification; recordHashes: ReadonlyMap<number, boolean> } | null, s?: ConsoleSnapshot): Html {
  return layout(
    'advisory',
    query ? `Advisory ${query}` : 'Advisory',
    ctx,
    html`<h1>Advisory</h1>
<form class="inline" method="get" action="/advisory"><label>advisory or execution id<input name="id" value="${query}" maxlength="128" size="40"></label><button type="submit" id="show">Show</button></form>
${
  !query
    ? ''
    : !found || found.records.length === 0
      ? html`<p id="not-found">No record of ${query} in this journal.</p>`
      : html`${summary(found.records)}<p id="chain" class="${found.chain.ok ? 'ok' : 'bad'}">${found.chain.ok ? html`<span class="pill off">hash chain verified</span> every record of the journal, from the first, links to the one before it` : html`<span class="pill active">CHAIN BROKEN at record ${String(found.chain.brokenAt)}</span> records from there on may have been edited; shown as stored`}</p>
<table class="timeline" id="timeline"><tr><th>#</th><th>when</th><th>kind</th><th>what</th><th>hash</th></tr>${collapseRepeats(found.records, found.recordHashes).map((row) =>
          'repeats' in row
            ? html`<tr class="repeats"><td class="num">${row.first}–${row.last}</td><td>${clock(row.at)}</td><td>${row.kind}</td><td class="muted">${row.repeats} more look-ups with the same answer${row.broken ? html` <b class="bad">(a record among them does not match its hash)</b>` : ''}</td><td></td></tr>`
            : html`<tr><td class="num">${row.sequence}</td><td title="${row.at}">${clock(row.at)}</td><td>${row.kind}</td><td><code>${describeRecord(row)}</code></td><td><code title="${word(row.hash)}">${word(row.hash).slice(0, 10)}…</code>${found.recordHashes.get(row.sequence) === false ? html` <b class="bad">does not match its content</b>` : ''}</td></tr>`,
        )}</table>`
}`,
    s,
  );
}

export function loginPage(ctx: PageContext, s?: ConsoleSnapshot): Html {
  return layout(
    'login',
    'Sign in',
    ctx,
    html`<h1>Sign in to act</h1>
<p class="muted">Reading needs nothing. Changing a kill switch or resolving a flag needs your operator token (<code>warden console add-operator NAME</code> gives each operator their own: the journal then records who acted), or the shared token of <code>WARDEN_CONSOLE_TOKEN</code> or the console's token file (each action then asks for your name).</p>
<form class="inline" method="post" action="/login"><label>operator token<input type="password" name="token" id="token" required maxlength="512" autocomplete="current-password"></label><button type="submit" id="sign-in">Sign in</button></form>`,
    s,
  );
}

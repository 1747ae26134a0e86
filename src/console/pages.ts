/**
 * The console's pages, rendered on the server. Every value goes through hono's `html` template,
 * which escapes it: journal contents are data an attacker may have shaped (a snapshot's fields),
 * never markup.
 */
import { basename } from 'node:path';
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { AnyStateMachine } from 'xstate';
import type { ExecutionResult } from '../domain/result.js';
import type { JournalRecord, JournalVerification } from '../journal/types.js';
import { reasonOf } from '../cli/reasons.js';
import type { ConsoleSnapshot, ExecutionView } from './view.js';

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface PageContext {
  /** The journal file shown. */
  readonly store: string;
  /** Whether this visitor may act (signed in with the operator token). */
  readonly canAct: boolean;
  /** Whether acting is possible at all (an operator token is configured). */
  readonly actingEnabled: boolean;
  /** The form token of the visitor's session (CSRF), when signed in. */
  readonly csrf: string | null;
  /** A one-line message to show at the top (the outcome of the last action). */
  readonly notice?: { readonly ok: boolean; readonly text: string } | null;
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
`;

const TABS = [
  ['now', '/', 'Now'],
  ['kill-switch', '/kill-switch', 'Kill switch'],
  ['flags', '/flags', 'Flags'],
  ['advisory', '/advisory', 'Advisory'],
] as const;

/** The page frame: header with tabs, the sign-in state, the notice, then the body. */
export function layout(tab: string, title: string, ctx: PageContext, body: Html, script?: string): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} · Warden console</title><link rel="stylesheet" href="/console.css"></head>
<body><header><b>WARDEN</b>${TABS.map(([id, href, name]) => html`<a href="${href}" class="${id === tab ? 'on' : ''}">${name}</a>`)}
<span class="who"><span title="${ctx.store}">${basename(ctx.store)}</span> · ${ctx.canAct ? html`operator session · <a href="/logout" id="logout">sign out</a>` : ctx.actingEnabled ? html`read-only · <a href="/login">sign in to act</a>` : 'read-only (no operator token configured)'}</span></header>
<main>${ctx.notice ? html`<div class="notice ${ctx.notice.ok ? 'ok' : 'bad'}" id="notice">${ctx.notice.text}</div>` : ''}${body}</main>
${script ? html`<script src="${script}"></script>` : ''}</body></html>`;
}

const pill = (state: string) => html`<span class="pill ${state}">${state}</span>`;
const when = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');
const num = (n: number | null | undefined) => (n === null || n === undefined ? '-' : String(n));

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

const resultRow = (e: ExecutionView) => {
  const r = e.result!;
  return html`<tr data-advisory="${e.advisoryId ?? ''}"><td><a href="/advisory/${encodeURIComponent(e.advisoryId ?? e.executionId)}">${e.advisoryId ?? '(invalid input)'}</a></td><td>${e.symbol ?? '-'}</td><td>${e.side ?? '-'}</td><td class="status">${r.status}</td><td class="num">${num(r.filledQuantity)}</td><td class="num">${num(r.fillPrice)}</td><td>${r.requiresManualResolution && !e.resolution ? html`<b class="bad">flagged</b>` : e.resolution ? 'resolved' : 'no'}</td><td class="muted">${r.status === 'filled' && !r.requiresManualResolution ? '' : reasonOf(r, { detail: true })}</td><td class="muted">${when(r.finishedAt)}</td></tr>`;
};

/** The live part of the Now page (sent again over server-sent events at every change). */
export function nowSection(machine: AnyStateMachine, s: ConsoleSnapshot, now: number): Html {
  return html`<h2>In flight <span class="muted" id="in-flight-count">${s.inFlight.length}</span></h2>
${chart(machine, s.inFlight)}
${
  s.inFlight.length === 0
    ? html`<p class="muted" id="in-flight-none">No execution in flight.</p>`
    : html`<table id="in-flight"><tr><th>advisory</th><th>symbol</th><th>side</th><th>size</th><th>state</th><th>since</th><th>deadline in</th></tr>${s.inFlight.map(
        (e) =>
          html`<tr data-advisory="${e.advisoryId ?? ''}"><td><a href="/advisory/${encodeURIComponent(e.advisoryId ?? e.executionId)}">${e.advisoryId ?? e.executionId}</a></td><td>${e.symbol ?? '-'}</td><td>${e.side ?? '-'}</td><td class="num">${num(e.quantity)}</td><td class="state"><code>${e.state}</code></td><td>${when(e.stateSince)}</td><td class="num">${e.deadlineAt === null ? '-' : e.deadlineAt > now ? `${((e.deadlineAt - now) / 1000).toFixed(1)} s` : 'passed'}</td></tr>`,
      )}</table>`
}
<h2>Finished <span class="muted">(last ${s.finished.length})</span></h2>
<table id="finished"><tr><th>advisory</th><th>symbol</th><th>side</th><th>status</th><th>filled</th><th>fill price</th><th>manual</th><th>reason</th><th>finished</th></tr>${s.finished.map(resultRow)}</table>
<p class="muted">journal record ${s.lastSequence}</p>`;
}

/** Served at /live.js: replaces the live section whenever the server says the journal moved. */
export const LIVE_SCRIPT = `
(() => {
  const target = document.getElementById('live');
  const source = new EventSource('/events');
  source.addEventListener('now', (e) => { target.innerHTML = JSON.parse(e.data).html; target.dataset.sequence = JSON.parse(e.data).sequence; });
})();`;

export function nowPage(machine: AnyStateMachine, s: ConsoleSnapshot, now: number, ctx: PageContext): Html {
  return layout('now', 'Now', ctx, html`<h1>Now</h1><div id="live" data-sequence="${s.lastSequence}">${nowSection(machine, s, now)}</div>`, '/live.js');
}

const csrfField = (ctx: PageContext) => html`<input type="hidden" name="csrf" value="${ctx.csrf ?? ''}">`;

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
<label>operator<input name="operator" id="operator" required maxlength="100"></label>
<button type="submit" id="set">Set</button></form>`
      : html`<p class="muted">Sign in with the operator token to change a switch.</p>`;
  return layout(
    'kill-switch',
    'Kill switch',
    ctx,
    html`<h1>Kill switch</h1>
<table id="switches"><tr><th>scope</th><th>state</th></tr><tr data-scope="global"><td>global</td><td>${pill(s.killSwitch.global)}</td></tr>${s.killSwitch.symbols.map((x) => html`<tr data-scope="${x.symbol}"><td>${x.symbol}</td><td>${pill(x.state)}</td></tr>`)}</table>
<h2>Holds</h2>
<p class="muted">A scope is halted by its holds, each lifted only by what raised it: setting a switch changes the operators' hold and nothing else.</p>
<table id="holds"><tr><th>scope</th><th>state</th><th>hold</th><th>by</th><th>since</th><th>why</th><th>lifted by</th></tr>${s.killSwitch.holds.map((h) => html`<tr data-hold="${h.kind}"><td>${h.symbol ?? 'global'}</td><td>${pill(h.state)}</td><td>${h.kind}${h.kind === 'reconciliation' ? html` <a href="/advisory/${encodeURIComponent(h.key)}">${h.key}</a>` : ''}</td><td>${h.by}</td><td>${when(h.since)}</td><td>${h.reason}</td><td>${h.liftedBy}</td></tr>`)}</table>
<h2>Change</h2>${form}
<h2>History</h2>
<table id="history"><tr><th>when</th><th>scope</th><th>change</th><th>type</th><th>by</th><th>why</th></tr>${[...s.killSwitch.history]
      .reverse()
      .slice(0, 200)
      .map((c) => html`<tr><td>${when(c.at)}</td><td>${c.symbol ?? 'global'}</td><td>${pill(c.from)} → ${pill(c.to)}</td><td>${c.type}</td><td>${c.operator}</td><td>${c.reason}</td></tr>`)}</table>`,
  );
}

const mismatchList = (r: ExecutionResult) =>
  html`<ul class="mismatches">${(r.reconciliation?.mismatches ?? []).map((m) => html`<li><code>${m.field}</code>: expected ${JSON.stringify(m.expected)}, broker says ${JSON.stringify(m.actual)} — ${m.message}</li>`)}</ul>`;

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
        (e) => html`<section class="flag" data-advisory="${e.advisoryId ?? ''}"><h2><a href="/advisory/${encodeURIComponent(e.advisoryId ?? e.executionId)}">${e.advisoryId}</a> · ${e.symbol ?? '-'} · ${e.result!.status} · filled ${num(e.result!.filledQuantity)}${e.result!.fillPrice === null ? '' : ` at ${e.result!.fillPrice}`}</h2>
<div class="muted">${reasonOf(e.result!, { detail: true })}</div>${mismatchList(e.result!)}
${
  ctx.canAct
    ? html`<form class="inline" method="post" action="/flags/resolve">${csrfField(ctx)}<input type="hidden" name="advisoryId" value="${e.advisoryId ?? ''}">
<label>operator<input name="operator" required maxlength="100"></label><label>note (what was checked or done)<input name="note" required maxlength="2000" size="50"></label><button type="submit">Resolve</button></form>`
    : html`<p class="muted">Sign in with the operator token to resolve.</p>`
}</section>`,
      )
}
<h2>Resolved</h2>
<table id="resolved"><tr><th>advisory</th><th>symbol</th><th>status</th><th>by</th><th>note</th><th>when</th></tr>${s.flagsResolved.map((e) => html`<tr><td><a href="/advisory/${encodeURIComponent(e.advisoryId ?? e.executionId)}">${e.advisoryId}</a></td><td>${e.symbol ?? '-'}</td><td>${e.result?.status ?? '-'}</td><td>${e.resolution!.operator}</td><td>${e.resolution!.note}</td><td>${when(e.resolution!.at)}</td></tr>`)}</table>`,
  );
}

const describeRecord = (r: JournalRecord): string => {
  switch (r.kind) {
    case 'transition':
      return `${r.from ?? ''} → ${r.to ?? ''}  (${r.event ?? ''})`;
    case 'broker.request':
    case 'broker.response':
    case 'broker.error':
      return `${r.event ?? ''} ${JSON.stringify(r.payload).slice(0, 240)}`;
    case 'claim': {
      const p = (r.payload ?? {}) as { clientOrderId?: unknown; deadlineAt?: unknown; broker?: unknown; snapshot?: { symbol?: unknown; side?: unknown; positionSize?: unknown } };
      return `${String(p.snapshot?.side)} ${String(p.snapshot?.positionSize)} ${String(p.snapshot?.symbol)} as ${String(p.clientOrderId)}, deadline ${typeof p.deadlineAt === 'number' ? new Date(p.deadlineAt).toISOString() : '?'}, broker ${String(p.broker ?? 'not recorded')}`;
    }
    case 'result': {
      const p = r.payload as ExecutionResult;
      return `${p.status}${p.requiresManualResolution ? ', awaiting resolution' : ''}`;
    }
    default:
      return JSON.stringify(r.payload).slice(0, 240);
  }
};

const clock = (iso: string) => iso.slice(11, 23);

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

export function advisoryPage(ctx: PageContext, query: string, found: { records: readonly JournalRecord[]; chain: JournalVerification; recordHashes: ReadonlyMap<number, boolean> } | null): Html {
  return layout(
    'advisory',
    query ? `Advisory ${query}` : 'Advisory',
    ctx,
    html`<h1>Advisory</h1>
<form class="inline" method="get" action="/advisory"><label>advisory or execution id<input name="id" value="${query}" maxlength="128" size="40"></label><button type="submit">Show</button></form>
${
  !query
    ? ''
    : !found || found.records.length === 0
      ? html`<p id="not-found">No record of ${query} in this journal.</p>`
      : html`<p id="chain" class="${found.chain.ok ? 'ok' : 'bad'}">${found.chain.ok ? html`<span class="pill off">hash chain verified</span> every record of the journal, from the first, links to the one before it` : html`<span class="pill active">CHAIN BROKEN at record ${String(found.chain.brokenAt)}</span> records from there on may have been edited; shown as stored`}</p>
<table class="timeline" id="timeline"><tr><th>#</th><th>when</th><th>kind</th><th>what</th><th>hash</th></tr>${collapseRepeats(found.records, found.recordHashes).map((row) =>
          'repeats' in row
            ? html`<tr class="repeats"><td class="num">${row.first}–${row.last}</td><td>${clock(row.at)}</td><td>${row.kind}</td><td class="muted">${row.repeats} more look-ups with the same answer${row.broken ? html` <b class="bad">(a record among them does not match its hash)</b>` : ''}</td><td></td></tr>`
            : html`<tr><td class="num">${row.sequence}</td><td title="${row.at}">${clock(row.at)}</td><td>${row.kind}</td><td><code>${describeRecord(row)}</code></td><td><code title="${row.hash}">${row.hash.slice(0, 10)}…</code>${found.recordHashes.get(row.sequence) === false ? html` <b class="bad">does not match its content</b>` : ''}</td></tr>`,
        )}</table>`
}`,
  );
}

export function loginPage(ctx: PageContext): Html {
  return layout(
    'login',
    'Sign in',
    ctx,
    html`<h1>Sign in to act</h1>
<p class="muted">Reading needs nothing. Changing a kill switch or resolving a flag needs the operator token (from <code>WARDEN_CONSOLE_TOKEN</code> or the token file the console was started with).</p>
<form class="inline" method="post" action="/login"><label>operator token<input type="password" name="token" id="token" required maxlength="512" autocomplete="current-password"></label><button type="submit" id="sign-in">Sign in</button></form>`,
  );
}

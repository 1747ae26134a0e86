/**
 * The console's pages, rendered on the server. Every value goes through hono's `html` template,
 * which escapes it: journal contents are data an attacker may have shaped (a snapshot's fields),
 * never markup.
 */
import { html } from 'hono/html';
import type { AnyStateMachine } from 'xstate';
import { FINAL_STATUSES } from '../domain/constants.js';
import { reasonOf } from '../journal/reasons.js';
import { age, isNum, mismatchList, money, notional, num, pct, pill, price, time, when, type Html } from './format.js';
import { csrfField, layout, operatorField, scopes, type PageContext } from './layout.js';
import { limitsSection } from './limitsPage.js';
import type { ConsoleSnapshot, ExecutionView } from './view.js';

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
}
${limitsSection(s.limits)}`,
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

/**
 * The limits part of the Positions page: each limit in force beside its use. A use at or over
 * `NEAR_LIMIT` of its limit is marked with the `near` class (and `over` past it); the console's
 * content security policy allows no inline style.
 */
import { html } from 'hono/html';
import { money, num, time, type Html } from './format.js';
import type { LimitsView } from './limitsView.js';

/** The share of a limit from which its use is marked. */
export const NEAR_LIMIT = 0.8;

/** `near` at or over 80 % of the limit, `near over` at or past it; '' below or with no limit. */
export function useClass(use: number, limit: number | undefined): string {
  if (limit === undefined) return '';
  if (limit === 0) return use > 0 ? 'near over' : 'near';
  return use >= limit ? 'near over' : use >= NEAR_LIMIT * limit ? 'near' : '';
}

const use = (value: number, limit: number | undefined, label: string) =>
  html`<td class="num use ${useClass(value, limit)}" data-limit="${label}">${num(value)}${limit === undefined ? html` <span class="muted">(no limit)</span>` : html` / ${num(limit)}`}</td>`;
const plain = (v: number | undefined, show: (n: number) => string) => (v === undefined ? '-' : show(v));

/** The limits in force per symbol (its own over `*`), with the position and the last minute's orders against them. */
export function limitsSection(l: LimitsView): Html {
  const head = html`<h2>Limits</h2>`;
  if (l.inForce.kind === 'none') return html`${head}<p id="no-limits">No limits configured: this journal holds no limits record.</p>`;
  if (l.inForce.kind === 'unreadable')
    return html`${head}<p id="limits-unreadable" class="bad">Limits unreadable: the limits record of ${time(l.inForce.at)} holds ${l.inForce.reason}. The engine's own <code>warden limits show</code> says what it enforces.</p>`;
  const { limits, since, tightenings } = l.inForce;
  const last = tightenings.at(-1);
  return html`${head}
<p class="muted" id="limits-since">In force since ${time(since)}${tightenings.length === 0 ? ', never tightened' : html`, tightened ${tightenings.length} time${tightenings.length === 1 ? '' : 's'}, last ${time(last!.at)} by ${last!.operator}: ${last!.reason}`}. Each symbol takes the fields it does not set from <code>*</code>. Position is Warden's ledger net; orders are the submits this journal recorded in the last minute.</p>
<table id="limits"><tr><th>symbol</th><th>|net position| / maxPosition</th><th>orders last minute / maxOrdersPerMinute</th><th>maxQuantity</th><th>maxNotional</th><th>priceCollarPct</th></tr>
<tr data-symbol="(all)"><td>all symbols</td><td>-</td>${use(l.ordersLastMinute, limits.maxOrdersPerMinute, 'maxOrdersPerMinute')}<td>-</td><td>-</td><td>-</td></tr>
${l.symbols.map(
  (u) =>
    html`<tr data-symbol="${u.symbol}"><td>${u.symbol}</td>${use(u.position, u.limits.maxPosition, 'maxPosition')}${use(u.ordersLastMinute, u.limits.maxOrdersPerMinute, 'maxOrdersPerMinute')}<td class="num" data-limit="maxQuantity">${plain(u.limits.maxQuantity, num)}</td><td class="num" data-limit="maxNotional">${plain(u.limits.maxNotional, money)}</td><td class="num" data-limit="priceCollarPct">${plain(u.limits.priceCollarPct, (p) => `${Number((p * 100).toPrecision(6))} %`)}</td></tr>`,
)}${
    limits.symbols['*'] === undefined
      ? ''
      : html`<tr data-symbol="*" class="muted"><td>* (any other)</td><td class="num">${plain(limits.symbols['*'].maxPosition, num)}</td><td class="num">${plain(limits.symbols['*'].maxOrdersPerMinute, num)}</td><td class="num">${plain(limits.symbols['*'].maxQuantity, num)}</td><td class="num">${plain(limits.symbols['*'].maxNotional, money)}</td><td class="num">${plain(limits.symbols['*'].priceCollarPct, (p) => `${Number((p * 100).toPrecision(6))} %`)}</td></tr>`
  }</table>`;
}

/**
 * How the console's pages write values: times, ages, quantities, prices, journal values of any
 * shape. Every value goes through hono's `html` template, which escapes it.
 */
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { ExecutionResult } from '../domain/result.js';

/** A page or a part of one, escaped. */
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export const pill = (state: string) => html`<span class="pill ${state}">${state}</span>`;
export const when = (iso: string | null | undefined) => (typeof iso === 'string' && iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');
/** A time in UTC; the page's script adds the viewer's local time beside it. */
export const time = (iso: string | null | undefined) => (typeof iso === 'string' && iso ? html`<time datetime="${iso}">${when(iso)}</time>` : '-');
/** How long ago, kept ticking by the page's script. */
export const age = (iso: string | null | undefined, now: number | undefined) => {
  const t = typeof iso === 'string' ? Date.parse(iso) : NaN;
  if (!Number.isFinite(t)) return '-';
  return html`<span class="age" data-since="${iso}">${ago((now ?? Date.now()) - t)}</span>`;
};
export const ago = (ms: number) => (ms < 1_000 ? 'just now' : ms < 60_000 ? `${Math.floor(ms / 1_000)} s ago` : ms < 3_600_000 ? `${Math.floor(ms / 60_000)} min ago` : ms < 86_400_000 ? `${Math.floor(ms / 3_600_000)} h ago` : `${Math.floor(ms / 86_400_000)} d ago`);
export const isNum = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n);
export const num = (n: unknown) => (isNum(n) ? n.toLocaleString('en-US', { maximumFractionDigits: 8 }) : '-');
/** Prices at a desk's precision: 2 decimals from 1,000 up, 5 from 1, else 8 significant digits. */
export const price = (n: unknown) => (isNum(n) ? n.toLocaleString('en-US', Math.abs(n) >= 1_000 ? { maximumFractionDigits: 2 } : Math.abs(n) >= 1 ? { maximumFractionDigits: 5 } : { maximumSignificantDigits: 8 }) : '-');
export const money = (n: unknown) => (isNum(n) ? n.toLocaleString('en-US', { maximumFractionDigits: 2 }) : '-');
export const pct = (n: unknown) => (isNum(n) ? `${n >= 0 ? '+' : ''}${n.toFixed(3)} %` : '-');
/** What a fill is worth: filled quantity × average fill price. */
export const notional = (r: ExecutionResult): number | null => (isNum(r.fillPrice) && r.filledQuantity > 0 ? r.filledQuantity * r.fillPrice : null);

/** Any journal value as short text; never throws, whatever it holds. */
export function json(v: unknown, max = 240): string {
  try {
    return (JSON.stringify(v) ?? String(typeof v)).slice(0, max);
  } catch {
    return '(unreadable)';
  }
}
/** A journal value shown where a word is expected: strings and numbers as they are, anything else as JSON. */
export const word = (v: unknown): string => (typeof v === 'string' ? v.slice(0, 200) : typeof v === 'number' || typeof v === 'boolean' ? String(v) : v === undefined || v === null ? '?' : json(v, 80));

export const mismatchList = (r: ExecutionResult) =>
  html`<ul class="mismatches">${(r.reconciliation?.mismatches ?? []).map((m) => html`<li><code>${m.field}</code>: expected ${json(m.expected)}, broker says ${json(m.actual)} — ${m.message}</li>`)}</ul>`;

/** A record's time of day, to the millisecond. */
export const clock = (iso: unknown) => (typeof iso === 'string' ? iso.slice(11, 23) : '?');

/** The Advisory page: one execution's summary and its journal timeline, with each record's hash check. */
import { html } from 'hono/html';
import type { JournalRecord, JournalVerification } from '../journal/types.js';
import { clock, isNum, json, money, notional, num, pct, price, time, word, type Html } from './format.js';
import { layout, type PageContext } from './layout.js';
import { isResult, type ConsoleSnapshot } from './view.js';

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

/**
 * Renders one execution's journal as a readable state timeline: state changes, the broker
 * requests each state made, kill switch changes and the result. Polls that found nothing new
 * are left out; the journal itself keeps them.
 */
import type { JournalRecord } from './types.js';

const offset = (ms: number) => `+${ms}ms`.padStart(9);

/**
 * @example
 * console.log(renderTimeline(await engine.journal.records({ advisoryId: 'adv-1' })));
 */
export function renderTimeline(records: readonly JournalRecord[]): string {
  if (records.length === 0) return '  (no journal records)';
  const start = Date.parse(records[0]!.at);
  const lines: string[] = [];
  let state = 'validating';
  let filled = 0;
  for (const r of records) {
    const t = offset(Date.parse(r.at) - start);
    switch (r.kind) {
      case 'transition': {
        const p = r.payload as { filledQuantity?: number; event?: { report?: { averageFillPrice?: number | null } } } | null;
        if (typeof p?.filledQuantity === 'number' && p.filledQuantity !== filled) {
          filled = p.filledQuantity;
          const price = p.event?.report?.averageFillPrice;
          lines.push(`${t}      ◦ filled ${filled}${typeof price === 'number' ? ` (average ${price})` : ''}`);
        }
        if (r.to !== r.from) lines.push(`${t}  ${r.from} → ${r.to}  (${r.event})`);
        state = r.to ?? state;
        break;
      }
      case 'broker.request':
        if (r.executionId === null && r.event === 'cancelOrders') {
          // The kill switch fan-out: one request for many executions, this one among them.
          lines.push(`${t}      ↳ cancelOrder (kill switch: ${batchOrders(r).length} orders asked to cancel at once)`);
        } else if (!(r.event === 'getOrder' && state.endsWith('working'))) lines.push(`${t}      ↳ ${r.event} ${brief(r.payload)}`.trimEnd());
        break;
      case 'broker.error':
        lines.push(`${t}      ✗ ${r.event} failed: ${(r.payload as { message?: string } | null)?.message ?? 'unknown error'}`);
        break;
      case 'unhandled_event':
        lines.push(`${t}      ! ${r.event} not handled in ${state}`);
        break;
      case 'kill_switch': {
        const c = r.payload as { symbol: string | null; reason: string; operator: string };
        lines.push(`${t}  ⚠ kill switch ${c.symbol ?? 'global'} ${r.event} by ${c.operator}: ${c.reason}`);
        break;
      }
      case 'resolution': {
        const p = r.payload as { operator?: string; note?: string };
        lines.push(`${t}  ✓ resolved by ${p.operator}: ${p.note}`);
        break;
      }
      case 'recovery':
        lines.push(`${t}  ↻ resumed after a restart: looking the order up before anything else`);
        break;
      case 'limits': {
        // The facts this execution's pre-trade limits were judged on.
        const f = r.payload as { position?: { net?: number; openBuys?: number; openSells?: number }; ordersLastMinute?: { symbol?: number }; quote?: { kind: string; bid?: number; ask?: number } | null } | null;
        if (r.event === 'check' && f) {
          const open = (f.position?.openBuys ?? 0) + (f.position?.openSells ?? 0);
          const quote = f.quote ? (f.quote.kind === 'quoted' ? `, quote ${f.quote.bid}/${f.quote.ask}` : ', no quote') : '';
          lines.push(`${t}      ◦ limits checked: position ${f.position?.net ?? '?'}${open > 0 ? ` (+${open} in open orders)` : ''}, ${f.ordersLastMinute?.symbol ?? '?'} earlier order(s) in the last minute${quote}`);
        }
        break;
      }
      case 'result': {
        const error = (r.payload as { error?: { code: string; message: string } | null } | null)?.error;
        lines.push(`${t}  = ${r.event}${error ? `  (${error.code}: ${error.message})` : ''}`);
        break;
      }
      default:
        break;
    }
  }
  return lines.join('\n');
}

function brief(payload: unknown): string {
  if (!payload || typeof payload !== 'object') return payload === null || payload === undefined ? '' : String(payload);
  const p = payload as Record<string, unknown>;
  const keys = ['symbol', 'side', 'quantity', 'stopLoss', 'takeProfit'].filter((k) => p[k] !== undefined);
  return keys.map((k) => `${k}=${String(p[k])}`).join(' ');
}

/** The orders a batch cancel request names (the kill switch fan-out), read defensively. */
export function batchOrders(r: JournalRecord): { executionId: string; clientOrderId: string }[] {
  const orders = (r.payload as { orders?: unknown } | null)?.orders;
  return Array.isArray(orders) ? orders.filter((o): o is { executionId: string; clientOrderId: string } => o !== null && typeof o === 'object' && typeof (o as { executionId?: unknown }).executionId === 'string') : [];
}

/**
 * One execution's records plus the kill switch changes made while it ran, and the batch cancel
 * requests that name it (those belong to no single execution, but explain what it did).
 *
 * @example
 * console.log(renderTimeline(executionTrail(await engine.journal.records(), result.executionId)));
 */
export function executionTrail(records: readonly JournalRecord[], executionId: string): JournalRecord[] {
  const own = records.filter((r) => r.executionId === executionId);
  if (own.length === 0) return [];
  const first = own[0]!.sequence;
  const last = own.at(-1)!.sequence;
  return records.filter(
    (r) =>
      r.executionId === executionId ||
      (r.executionId === null && r.sequence > first && r.sequence < last && (r.kind === 'kill_switch' || (r.kind === 'broker.request' && r.event === 'cancelOrders' && batchOrders(r).some((o) => o.executionId === executionId)))),
  );
}

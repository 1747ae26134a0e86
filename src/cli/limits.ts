/**
 * `warden limits show|set` and `warden run --limits FILE`: the engine's pre-trade limits at the
 * prompt. Showing reads the journal's latest limits record; setting hands a tightening to the
 * engine that writes the journal, through its command inbox (as `warden kill-switch set` does).
 */
import { readFileSync } from 'node:fs';
import type { Limits, LimitsInput, SymbolLimits } from '../domain/limits.js';
import { isLimitsSetting } from '../journal/checkpoint.js';
import type { JournalRecord } from '../journal/types.js';
import type { LimitsChange } from '../engine/limits.js';

/** A limits file: strict JSON (`LimitsSchema` checks its fields when the engine starts). */
export function readLimitsFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`--limits ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'not readable'}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new Error(`--limits ${file}: not JSON (${(e as Error).message})`);
  }
}

/** The option of `limits set` for each field of a symbol's limits. */
export const LIMIT_OPTIONS = {
  'max-quantity': 'maxQuantity',
  'max-notional': 'maxNotional',
  'max-position': 'maxPosition',
  'max-orders-per-minute': 'maxOrdersPerMinute',
  'price-collar-pct': 'priceCollarPct',
} as const satisfies Record<string, keyof SymbolLimits>;

/**
 * The change `limits set` asks for, from its options: the symbol's (or `*`'s) fields, and the cap
 * over all symbols. Figures must be numbers; the engine checks the rest (and refuses to loosen).
 */
export function limitsChangeFrom(values: { symbol: string | undefined; fields: Partial<Record<keyof typeof LIMIT_OPTIONS | 'all-max-orders-per-minute', string>> }): LimitsInput {
  const number = (option: string, raw: string): number => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new Error(`--${option} must be a number, got ${raw}`);
    return n;
  };
  const fields: Record<string, number> = {};
  for (const [option, field] of Object.entries(LIMIT_OPTIONS)) {
    const raw = values.fields[option as keyof typeof LIMIT_OPTIONS];
    if (raw !== undefined) fields[field] = number(option, raw);
  }
  const all = values.fields['all-max-orders-per-minute'];
  if (Object.keys(fields).length === 0 && all === undefined) throw new Error(`limits set needs at least one of ${[...Object.keys(LIMIT_OPTIONS), 'all-max-orders-per-minute'].map((o) => `--${o}`).join(', ')}`);
  return {
    symbols: Object.keys(fields).length > 0 ? { [values.symbol ?? '*']: fields } : {},
    ...(all !== undefined ? { maxOrdersPerMinute: number('all-max-orders-per-minute', all) } : {}),
  };
}

const describeSymbol = (l: SymbolLimits): string =>
  Object.entries(l)
    .map(([k, v]) => `${k} ${String(v)}`)
    .join('  ') || '(none)';

/**
 * The limits a journal last recorded (an engine's start, or an operator's tightening), in words:
 * the latest such record among `records`, in any order (a journal's records and the archived
 * ones it retains for a restart).
 */
export function renderLimits(records: readonly JournalRecord[]): string {
  const last = records.filter(isLimitsSetting).reduce<JournalRecord | undefined>((latest, r) => (latest === undefined || r.sequence > latest.sequence ? r : latest), undefined);
  if (!last) return 'no limits in this journal: the engines that wrote it started without --limits';
  const limits = (last.event === 'start' ? (last.payload as { limits: Limits }).limits : (last.payload as LimitsChange).to) ?? { symbols: {} };
  const how = last.event === 'start' ? 'set when the engine started' : `tightened by ${(last.payload as LimitsChange).operator}: ${(last.payload as LimitsChange).reason}`;
  const symbols = Object.entries(limits.symbols).sort(([a], [b]) => (a === '*' ? -1 : b === '*' ? 1 : a.localeCompare(b)));
  const width = Math.max(8, ...symbols.map(([s]) => s.length));
  return [
    `limits as of ${last.at} (record ${last.sequence}, ${how})`,
    ...symbols.map(([s, l]) => `  ${(s === '*' ? '* (default)' : s).padEnd(width + 2)}  ${describeSymbol(l)}`),
    ...(limits.maxOrdersPerMinute !== undefined ? [`  all symbols together: maxOrdersPerMinute ${limits.maxOrdersPerMinute}`] : []),
    ...(symbols.length === 0 && limits.maxOrdersPerMinute === undefined ? ['  (none)'] : []),
    'They can only be tightened while an engine runs: warden limits set --symbol S --max-position N --operator O --reason R',
  ].join('\n');
}

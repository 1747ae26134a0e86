/**
 * Pre-trade limits, as an engine is given them (`createEngine({ limits })`, `warden run --limits
 * FILE`): validated with zod, deep-frozen, per symbol with a `*` default. An approval cannot
 * override them; an operator can only tighten them while the engine runs.
 */
import { z } from 'zod';
import { WardenUsageError } from './errors.js';
import { deepFreeze } from './json.js';
import { SymbolSchema } from './schemas.js';

const MAX_LIMIT = 1e15;
const amount = z.number().positive({ error: 'must be a positive number' }).max(MAX_LIMIT, { error: `must be at most ${MAX_LIMIT}` });
const perMinute = z.number().int({ error: 'must be a whole number' }).min(0, { error: 'must be 0 or more' }).max(1_000_000, { error: 'must be at most 1000000' });

/**
 * The limits of one symbol (or of `*`, the default for every symbol not listed). Every field is
 * optional: a field that is absent sets no limit.
 *
 * @example
 * SymbolLimitsSchema.parse({ maxQuantity: 100_000, priceCollarPct: 0.005 });
 */
export const SymbolLimitsSchema = z.strictObject({
  /** Largest order quantity. */
  maxQuantity: amount.optional(),
  /** Largest quantity × referencePrice, in the quote currency. */
  maxNotional: amount.optional(),
  /** Largest absolute net position after the order (fills, open orders, the venue's last reconciled position). */
  maxPosition: amount.optional(),
  /** Most orders admitted on the symbol in the last minute (0 admits none). */
  maxOrdersPerMinute: perMinute.optional(),
  /** Largest distance of the venue's price from referencePrice, as a fraction (0.01 = 1 %). */
  priceCollarPct: z.number().gt(0, { error: 'must be above 0 (a fraction, e.g. 0.01 for 1 %)' }).lt(1, { error: 'must be below 1 (a fraction, e.g. 0.01 for 1 %)' }).optional(),
});
/**
 * One symbol's limits (or the `*` default's).
 *
 * @example
 * const eurusd: SymbolLimits = { maxQuantity: 100_000, maxPosition: 250_000 };
 */
export type SymbolLimits = z.infer<typeof SymbolLimitsSchema>;

const limitKey = z.string().refine((k) => k === '*' || SymbolSchema.safeParse(k).success, { error: 'must be "*" or a symbol (1-32 upper-case characters of A-Z 0-9 . _ / : -)' });

/**
 * The limits of an engine: per symbol, with `*` as the default for every symbol not listed (a
 * listed symbol takes each field it does not set from `*`), and a cap on orders per minute over
 * all symbols together. Strict: an unknown or misspelt field is an error, never ignored.
 *
 * @example
 * LimitsSchema.parse({ symbols: { '*': { maxQuantity: 10_000 }, EURUSD: { maxQuantity: 100_000, priceCollarPct: 0.005 } }, maxOrdersPerMinute: 60 });
 */
export const LimitsSchema = z.strictObject({
  symbols: z.record(limitKey, SymbolLimitsSchema).default({}),
  /** Most orders admitted in the last minute over all symbols together. */
  maxOrdersPerMinute: perMinute.optional(),
});
/**
 * An engine's limits, validated and frozen.
 *
 * @example
 * const limits: Limits = engine.limits.current();
 * limits.symbols['*']?.maxQuantity; // the default maximum order quantity
 */
export interface Limits {
  readonly symbols: Readonly<Record<string, SymbolLimits>>;
  readonly maxOrdersPerMinute?: number;
}
/**
 * What `createEngine({ limits })` and `engine.limits.set()` accept (before validation).
 *
 * @example
 * const input: LimitsInput = { symbols: { '*': { maxPosition: 500_000 } } };
 */
export type LimitsInput = z.input<typeof LimitsSchema>;

/**
 * Validates and deep-freezes limits. Throws `WardenUsageError` (`invalid_limits`) naming every
 * field that is wrong, e.g. `limits.symbols.EURUSD.maxQuantity: must be a positive number`.
 *
 * @example
 * const limits = parseLimits({ symbols: { '*': { maxQuantity: 10_000 } } });
 */
export function parseLimits(input: unknown, where = 'limits'): Limits {
  const parsed = LimitsSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${[where, ...i.path.map(String)].join('.')}: ${i.message}`);
    throw new WardenUsageError('invalid_limits', problems.join('; '));
  }
  const symbols: Record<string, SymbolLimits> = {};
  for (const [key, value] of Object.entries(parsed.data.symbols)) {
    // Absent means no limit: keys holding `undefined` would read as set.
    symbols[key] = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
  }
  return deepFreeze({ symbols, ...(parsed.data.maxOrdersPerMinute !== undefined ? { maxOrdersPerMinute: parsed.data.maxOrdersPerMinute } : {}) });
}

/**
 * zod schemas for everything that crosses a boundary: the snapshot a human approved, what
 * brokers report, and what Warden returns. Types are inferred from the schemas, so the two
 * cannot drift apart.
 */
import { z } from 'zod';
import { jsonProblem } from './json.js';

const MAX_AMOUNT = 1e12;
const isoWithOffset = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with an offset (e.g. 2026-01-01T12:00:00Z)' });
/** Smallest quantity and price Warden accepts: below these a number is noise, not an order. */
export const MIN_QUANTITY = 1e-9;
export const MIN_PRICE = 1e-12;
/** Smallest offset magnitude: a level closer than this to the fill is no protection. */
export const MIN_OFFSET = 1e-6;
const positiveAmount = z.number().min(MIN_QUANTITY, { error: `must be at least ${MIN_QUANTITY}` }).max(MAX_AMOUNT);
const price = z.number().min(MIN_PRICE, { error: `must be at least ${MIN_PRICE}` }).max(MAX_AMOUNT);
const offsetPct = z
  .number()
  .gt(-1, { error: 'magnitude must be below 1 (a fraction, e.g. -0.01 for 1 %)' })
  .lt(1, { error: 'magnitude must be below 1 (a fraction, e.g. 0.02 for 2 %)' })
  .refine((n) => Math.abs(n) >= MIN_OFFSET, { error: `magnitude must be at least ${MIN_OFFSET}` });

/** Identifier of one advisory (one approved trade idea). Broker- and log-safe characters only. */
export const AdvisoryIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, { error: 'must be 1-128 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit' });

/** Instrument symbol as the broker spells it: upper-case, e.g. EURUSD, BTC/USDT:USDT. */
export const SymbolSchema = z
  .string()
  .regex(/^[A-Z0-9][A-Z0-9._/:-]{0,31}$/, { error: 'must be 1-32 upper-case characters of A-Z 0-9 . _ / : -' });

export const SideSchema = z.enum(['buy', 'sell']);

export const ApprovalSchema = z.strictObject({
  approvedBy: z.string().trim().min(1).max(128),
  approvedAt: isoWithOffset,
});
export type Approval = z.infer<typeof ApprovalSchema>;

const reasoningContext = z.custom<unknown>(
  (v) => jsonProblem(v, { maxDepth: 16, maxNodes: 2_000, maxStringLength: 8_192 }) === null,
  { error: 'must be plain JSON: at most 16 levels, 2000 values, strings up to 8192 characters, no __proto__/constructor/prototype keys' },
);

/** The fields a human approved. Unknown fields are refused: nothing unapproved rides along. */
export const SnapshotFieldsSchema = z
  .strictObject({
    advisoryId: AdvisoryIdSchema,
    symbol: SymbolSchema,
    side: SideSchema,
    positionSize: positiveAmount,
    referencePrice: price,
    slOffsetPct: offsetPct,
    tpOffsetPct: offsetPct,
    expiresAt: isoWithOffset,
    createdAt: isoWithOffset,
    /** Absent or null means nobody approved it: it freezes, but never executes (`not_approved`). */
    approval: ApprovalSchema.nullable().optional(),
    htfBias: z.string().max(64).optional(),
    reasoningMode: z.string().max(64).optional(),
    reasoningContext: reasoningContext.optional(),
  })
  .superRefine((s, ctx) => {
    if (s.side === 'buy') {
      if (!(s.slOffsetPct < 0)) ctx.addIssue({ code: 'custom', path: ['slOffsetPct'], message: 'a buy needs a negative stop-loss offset (below the fill)' });
      if (!(s.tpOffsetPct > 0)) ctx.addIssue({ code: 'custom', path: ['tpOffsetPct'], message: 'a buy needs a positive take-profit offset (above the fill)' });
    } else {
      if (!(s.slOffsetPct > 0)) ctx.addIssue({ code: 'custom', path: ['slOffsetPct'], message: 'a sell needs a positive stop-loss offset (above the fill)' });
      if (!(s.tpOffsetPct < 0)) ctx.addIssue({ code: 'custom', path: ['tpOffsetPct'], message: 'a sell needs a negative take-profit offset (below the fill)' });
    }
    if (Date.parse(s.expiresAt) <= Date.parse(s.createdAt)) {
      ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'must be after createdAt' });
    }
    if (s.approval && Date.parse(s.approval.approvedAt) < Date.parse(s.createdAt)) {
      ctx.addIssue({ code: 'custom', path: ['approval', 'approvedAt'], message: 'must not be before createdAt' });
    }
  });
export type SnapshotFields = z.infer<typeof SnapshotFieldsSchema>;

/** A validated, deep-frozen snapshot with the SHA-256 of its canonical JSON. */
export type FrozenSnapshot = Readonly<SnapshotFields> & {
  readonly hash: string;
  /** Ed25519 signature over `hash` by an approver (see `signSnapshot`); outside the hashed content. */
  readonly approvalSignature?: { readonly publicKey: string; readonly signature: string };
};

// ---------------------------------------------------------------- broker shapes

export const OrderStatusSchema = z.enum(['pending', 'partially_filled', 'filled', 'cancelled', 'rejected']);
export type OrderStatus = z.infer<typeof OrderStatusSchema>;

const quantity = z.number().nonnegative().max(MAX_AMOUNT);

export const OrderRequestSchema = z.strictObject({
  clientOrderId: z.string().min(1).max(64),
  symbol: SymbolSchema,
  side: SideSchema,
  quantity: positiveAmount,
  type: z.literal('market'),
});
export type OrderRequest = z.infer<typeof OrderRequestSchema>;

export interface OrderRef {
  readonly clientOrderId: string;
  readonly brokerOrderId?: string | null;
  /** The order's symbol. Warden always sends it; venues that key orders by symbol need it. */
  readonly symbol?: string;
}

/**
 * What a broker says about an order. Adapters are outside Warden's control, so every report
 * is parsed with this schema before the statechart sees it.
 */
export const OrderReportSchema = z.object({
  clientOrderId: z.string().min(1),
  brokerOrderId: z.string().nullable(),
  status: OrderStatusSchema,
  filledQuantity: quantity,
  averageFillPrice: z.number().positive().nullable(),
  reason: z.string().optional(),
});
export type OrderReport = z.infer<typeof OrderReportSchema>;

export const PositionReportSchema = z.object({
  symbol: z.string(),
  quantity: z.number().min(-MAX_AMOUNT).max(MAX_AMOUNT),
  averagePrice: z.number().positive().nullable(),
  stopLoss: z.number().positive().nullable(),
  takeProfit: z.number().positive().nullable(),
});
export type PositionReport = z.infer<typeof PositionReportSchema>;

export interface ProtectionRequest {
  readonly clientOrderId: string;
  readonly symbol: string;
  /** Side of the position being protected (a buy position is protected by sell-side orders). */
  readonly side: 'buy' | 'sell';
  readonly quantity: number;
  readonly stopLoss: number;
  readonly takeProfit: number;
}

export const ProtectionReportSchema = z.object({
  clientOrderId: z.string(),
  status: z.enum(['placed', 'rejected']),
  stopLoss: z.number().positive().nullable(),
  takeProfit: z.number().positive().nullable(),
  quantity: quantity,
  reason: z.string().optional(),
  /**
   * The price increment the broker rounded the levels to, if it rounds. Reconciliation then
   * accepts a level less than one tick from the one computed from the fill, and nothing further.
   */
  tickSize: z.number().positive().optional(),
});
export type ProtectionReport = z.infer<typeof ProtectionReportSchema>;

/**
 * zod schemas for everything that crosses a boundary: the snapshot a human approved, what
 * brokers report, and what Warden returns. Types are inferred from the schemas, so the two
 * cannot drift apart.
 */
import { z } from 'zod';
import { jsonProblem } from './json.js';

const MAX_AMOUNT = 1e12;
const isoWithOffset = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with an offset (e.g. 2026-01-01T12:00:00Z)' });
/**
 * Smallest quantity and price Warden accepts: below these a number is noise, not an order.
 *
 * @example
 * if (!(positionSize >= MIN_QUANTITY)) throw new RangeError(`position size must be at least ${MIN_QUANTITY}`);
 */
export const MIN_QUANTITY = 1e-9;
/**
 * Smallest price Warden accepts (reference price, and every price the schema checks).
 *
 * @example
 * if (!(referencePrice >= MIN_PRICE)) throw new RangeError(`reference price must be at least ${MIN_PRICE}`);
 */
export const MIN_PRICE = 1e-12;
/**
 * Smallest offset magnitude: a level closer than this to the fill is no protection.
 *
 * @example
 * Math.abs(snapshot.slOffsetPct) >= MIN_OFFSET; // true for every frozen snapshot
 */
export const MIN_OFFSET = 1e-6;
const positiveAmount = z.number().min(MIN_QUANTITY, { error: `must be at least ${MIN_QUANTITY}` }).max(MAX_AMOUNT);
const price = z.number().min(MIN_PRICE, { error: `must be at least ${MIN_PRICE}` }).max(MAX_AMOUNT);
const offsetPct = z
  .number()
  .gt(-1, { error: 'magnitude must be below 1 (a fraction, e.g. -0.01 for 1 %)' })
  .lt(1, { error: 'magnitude must be below 1 (a fraction, e.g. 0.02 for 2 %)' })
  .refine((n) => Math.abs(n) >= MIN_OFFSET, { error: `magnitude must be at least ${MIN_OFFSET}` });

/**
 * Identifier of one advisory (one approved trade idea). Broker- and log-safe characters only.
 *
 * @example
 * AdvisoryIdSchema.safeParse('adv-2026-001').success; // true
 * AdvisoryIdSchema.safeParse('adv 1').success;        // false: no spaces
 */
export const AdvisoryIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, { error: 'must be 1-128 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit' });

/**
 * Instrument symbol as the broker spells it: upper-case, e.g. EURUSD, BTC/USDT:USDT.
 *
 * @example
 * SymbolSchema.safeParse('BTC/USDT:USDT').success; // true
 * SymbolSchema.safeParse('eurusd').success;        // false: upper-case only
 */
export const SymbolSchema = z
  .string()
  .regex(/^[A-Z0-9][A-Z0-9._/:-]{0,31}$/, { error: 'must be 1-32 upper-case characters of A-Z 0-9 . _ / : -' });

/**
 * The side of an order or a position: `buy` or `sell`.
 *
 * @example
 * SideSchema.parse('sell'); // 'sell'
 */
export const SideSchema = z.enum(['buy', 'sell']);

/**
 * Who approved a snapshot, and when (ISO 8601 with an offset, not before `createdAt`).
 *
 * @example
 * ApprovalSchema.parse({ approvedBy: 'ana', approvedAt: '2026-01-01T12:05:00Z' });
 */
export const ApprovalSchema = z.strictObject({
  approvedBy: z.string().trim().min(1).max(128),
  approvedAt: isoWithOffset,
});
/**
 * A snapshot's approval: who and when.
 *
 * @example
 * const approval: Approval = { approvedBy: 'ana', approvedAt: '2026-01-01T12:05:00Z' };
 */
export type Approval = z.infer<typeof ApprovalSchema>;

const reasoningContext = z.custom<unknown>(
  (v) => jsonProblem(v, { maxDepth: 16, maxNodes: 2_000, maxStringLength: 8_192 }) === null,
  { error: 'must be plain JSON: at most 16 levels, 2000 values, strings up to 8192 characters, no __proto__/constructor/prototype keys' },
);

/**
 * The fields a human approved. Unknown fields are refused: nothing unapproved rides along.
 *
 * @example
 * const parsed = SnapshotFieldsSchema.safeParse(raw);
 * if (!parsed.success) for (const issue of parsed.error.issues) console.log(issue.path.join('.'), issue.message);
 */
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
/**
 * A snapshot's content, as validated by {@link SnapshotFieldsSchema}: everything the hash covers.
 *
 * @example
 * const fields: SnapshotFields = {
 *   advisoryId: 'adv-1', symbol: 'EURUSD', side: 'buy', positionSize: 1000, referencePrice: 1.1, slOffsetPct: -0.01, tpOffsetPct: 0.02,
 *   createdAt: '2026-01-01T12:00:00Z', expiresAt: '2026-01-01T13:00:00Z', approval: { approvedBy: 'ana', approvedAt: '2026-01-01T12:05:00Z' },
 * };
 */
export type SnapshotFields = z.infer<typeof SnapshotFieldsSchema>;

/**
 * A validated, deep-frozen snapshot with the SHA-256 of its canonical JSON.
 *
 * @example
 * const snapshot: FrozenSnapshot = freezeSnapshot(fields);
 * const result = await engine.execute(snapshot);
 */
export type FrozenSnapshot = Readonly<SnapshotFields> & {
  readonly hash: string;
  /** Ed25519 signature over `hash` by an approver (see `signSnapshot`); outside the hashed content. */
  readonly approvalSignature?: { readonly publicKey: string; readonly signature: string };
};

// ---------------------------------------------------------------- broker shapes

/**
 * The status of an order as a broker reports it.
 *
 * @example
 * OrderStatusSchema.parse('partially_filled'); // 'partially_filled'
 */
export const OrderStatusSchema = z.enum(['pending', 'partially_filled', 'filled', 'cancelled', 'rejected']);
/**
 * One of `pending`, `partially_filled`, `filled`, `cancelled`, `rejected`.
 *
 * @example
 * const status: OrderStatus = (await broker.cancelOrder({ clientOrderId, symbol: 'EURUSD' })).status;
 */
export type OrderStatus = z.infer<typeof OrderStatusSchema>;

const quantity = z.number().nonnegative().max(MAX_AMOUNT);

/**
 * What Warden sends to open a position: always a market order, keyed by its clientOrderId.
 *
 * @example
 * OrderRequestSchema.parse({ clientOrderId: clientOrderIdFor(snapshot), symbol: 'EURUSD', side: 'buy', quantity: 1000, type: 'market' });
 */
export const OrderRequestSchema = z.strictObject({
  clientOrderId: z.string().min(1).max(64),
  symbol: SymbolSchema,
  side: SideSchema,
  quantity: positiveAmount,
  type: z.literal('market'),
  /**
   * Pre-trade price collar (`priceCollarPct`): the worst price the order may fill at (highest for a
   * buy, lowest for a sell). An adapter that can bound the fill price at the venue (a marketable
   * limit, a price bound) does so; one that cannot ignores it. Absent without a collar.
   */
  priceBound: price.optional(),
  /**
   * Present only for an adapter that declares `capabilities.protectOnFill`: the snapshot's offsets
   * and reference price, so the venue can attach a stop to the entry order itself (OANDA's
   * `stopLossOnFill`). Rule 2's exact levels are still set by `placeProtection` once the fill is known.
   */
  protectOnFill: z
    .strictObject({ slOffsetPct: z.number().gt(-1).lt(1), tpOffsetPct: z.number().gt(-1).lt(1), referencePrice: z.number().positive() })
    .optional(),
});
/**
 * An order as a broker adapter receives it in `submitOrder`.
 *
 * @example
 * const req: OrderRequest = { clientOrderId: clientOrderIdFor(snapshot), symbol: 'EURUSD', side: 'buy', quantity: 1000, type: 'market' };
 * const report = await broker.submitOrder(req);
 */
export type OrderRequest = z.infer<typeof OrderRequestSchema>;

/**
 * Names an order for a look-up or a cancel: by Warden's clientOrderId, with the broker's id once known.
 *
 * @example
 * const report = await broker.getOrder({ clientOrderId: 'wd-8c1e0f4b9a2d7c6e5f1a0b3c', symbol: 'EURUSD' }); // null when unknown
 */
export interface OrderRef {
  readonly clientOrderId: string;
  readonly brokerOrderId?: string | null;
  /** The order's symbol. Warden always sends it; venues that key orders by symbol need it. */
  readonly symbol?: string;
}

/**
 * What a broker says about an order. Adapters are outside Warden's control, so every report
 * is parsed with this schema before the statechart sees it.
 *
 * @example
 * const report = OrderReportSchema.parse(await response.json());
 */
export const OrderReportSchema = z.object({
  clientOrderId: z.string().min(1),
  brokerOrderId: z.string().nullable(),
  status: OrderStatusSchema,
  filledQuantity: quantity,
  averageFillPrice: z.number().positive().nullable(),
  reason: z.string().optional(),
});
/**
 * A broker's answer about one order: its status and what filled, at what average price.
 *
 * @example
 * const filled: OrderReport = { clientOrderId: 'wd-8c1e0f4b9a2d7c6e5f1a0b3c', brokerOrderId: '81723', status: 'filled', filledQuantity: 1000, averageFillPrice: 1.1002 };
 */
export type OrderReport = z.infer<typeof OrderReportSchema>;

/**
 * What a broker says about the net position in a symbol; parsed like {@link OrderReportSchema}.
 *
 * @example
 * const position = PositionReportSchema.parse(await response.json());
 */
export const PositionReportSchema = z.object({
  symbol: z.string(),
  quantity: z.number().min(-MAX_AMOUNT).max(MAX_AMOUNT),
  averagePrice: z.number().positive().nullable(),
  stopLoss: z.number().positive().nullable(),
  takeProfit: z.number().positive().nullable(),
});
/**
 * A broker's answer about a symbol: net quantity (negative when short), average price and protective levels.
 *
 * @example
 * const flat: PositionReport = { symbol: 'EURUSD', quantity: 0, averagePrice: null, stopLoss: null, takeProfit: null };
 */
export type PositionReport = z.infer<typeof PositionReportSchema>;

/**
 * The stop-loss and take-profit orders to place for the filled quantity of an order.
 *
 * @example
 * const report = await broker.placeProtection({ clientOrderId: 'wd-8c1e0f4b9a2d7c6e5f1a0b3c-p', symbol: 'EURUSD', side: 'buy', quantity: 1000, stopLoss: 1.089, takeProfit: 1.122 });
 */
export interface ProtectionRequest {
  readonly clientOrderId: string;
  readonly symbol: string;
  /** Side of the position being protected (a buy position is protected by sell-side orders). */
  readonly side: 'buy' | 'sell';
  readonly quantity: number;
  readonly stopLoss: number;
  readonly takeProfit: number;
}

/**
 * What a broker says about the protective orders it was asked to place; parsed like {@link OrderReportSchema}.
 *
 * @example
 * const report = ProtectionReportSchema.parse(await response.json());
 */
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
/**
 * A broker's answer to `placeProtection`: placed or rejected, with the levels it holds.
 *
 * @example
 * const placed: ProtectionReport = { clientOrderId: 'wd-8c1e0f4b9a2d7c6e5f1a0b3c-p', status: 'placed', stopLoss: 1.089, takeProfit: 1.122, quantity: 1000, tickSize: 0.00001 };
 */
export type ProtectionReport = z.infer<typeof ProtectionReportSchema>;

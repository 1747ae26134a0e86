/**
 * The parts of OANDA's v20 REST API that `OandaBroker` reads, as zod schemas. Names and fields
 * follow the public OpenAPI description (`oanda/v20-openapi`, `json/v20.json`). Objects are
 * loose: the venue may add fields, and only what Warden reads is checked. Every decimal is a
 * string on the wire (`DecimalNumber`, `PriceValue`).
 */
import { z } from 'zod';

/** A v20 decimal: a string holding a finite number. */
const decimal = z.string().regex(/^-?\d+(\.\d+)?$/, 'a v20 decimal string');

/**
 * `ClientExtensions`: the client's id, tag and comment on an order or a trade.
 *
 * @example
 * ClientExtensionsSchema.parse({ id: 'wd-8c1e0f4b9a2d7c6e5f1a0b3c' });
 */
export const ClientExtensionsSchema = z.looseObject({ id: z.string().optional(), tag: z.string().optional(), comment: z.string().optional() });

/** `TradeOpen` / `TradeReduce`: the part of a fill that opened or reduced a trade. */
export const TradeOpenSchema = z.looseObject({ tradeID: z.string(), units: decimal, price: decimal.optional(), clientExtensions: ClientExtensionsSchema.optional() });

/**
 * `OrderFillTransaction` (type `ORDER_FILL`).
 *
 * @example
 * OrderFillTransactionSchema.parse({ id: '6', type: 'ORDER_FILL', orderID: '5', clientOrderID: 'wd-1', instrument: 'EUR_USD', units: '1000', price: '1.10012', tradeOpened: { tradeID: '6', units: '1000', price: '1.10012' } });
 */
export const OrderFillTransactionSchema = z.looseObject({
  id: z.string(),
  type: z.literal('ORDER_FILL'),
  orderID: z.string(),
  clientOrderID: z.string().optional(),
  instrument: z.string(),
  units: decimal,
  price: decimal.optional(),
  fullVWAP: decimal.optional(),
  tradeOpened: TradeOpenSchema.optional(),
  tradeReduced: TradeOpenSchema.optional(),
  tradesClosed: z.array(TradeOpenSchema).optional(),
});
/** An `ORDER_FILL` transaction as `OandaBroker` reads it. */
export type OrderFillTransaction = z.infer<typeof OrderFillTransactionSchema>;

/**
 * `OrderCancelTransaction` (type `ORDER_CANCEL`), with its `OrderCancelReason`.
 *
 * @example
 * OrderCancelTransactionSchema.parse({ id: '7', type: 'ORDER_CANCEL', orderID: '5', clientOrderID: 'wd-1', reason: 'MARKET_HALTED' });
 */
export const OrderCancelTransactionSchema = z.looseObject({
  id: z.string(),
  type: z.literal('ORDER_CANCEL'),
  orderID: z.string(),
  clientOrderID: z.string().optional(),
  reason: z.string().optional(),
});
/** An `ORDER_CANCEL` transaction as `OandaBroker` reads it. */
export type OrderCancelTransaction = z.infer<typeof OrderCancelTransactionSchema>;

/** Any transaction: a `type`, an `id`, and whatever else its type carries. */
export const TransactionSchema = z.looseObject({ id: z.string(), type: z.string() });
/** A v20 transaction, read loosely. */
export type Transaction = z.infer<typeof TransactionSchema>;

/** `TransactionHeartbeat`: sent on the transactions stream every few seconds. */
export const TransactionHeartbeatSchema = z.looseObject({ type: z.literal('HEARTBEAT'), lastTransactionID: z.string() });

/**
 * The `201` answer to `POST /v3/accounts/{accountID}/orders`: the order was created, and then
 * filled (`orderFillTransaction`) or cancelled (`orderCancelTransaction`, with a reason).
 *
 * @example
 * CreateOrderCreatedSchema.parse({ orderCreateTransaction: { id: '5', type: 'MARKET_ORDER' }, lastTransactionID: '5' });
 */
export const CreateOrderCreatedSchema = z.looseObject({
  orderCreateTransaction: TransactionSchema,
  orderFillTransaction: OrderFillTransactionSchema.optional(),
  orderCancelTransaction: OrderCancelTransactionSchema.optional(),
  lastTransactionID: z.string().optional(),
});

/**
 * A v20 error body (`400`, `404`, …): `errorCode` and `errorMessage`, and for an order create a
 * `orderRejectTransaction` whose `rejectReason` names the refusal.
 *
 * @example
 * ErrorBodySchema.parse({ errorCode: 'INSUFFICIENT_MARGIN', errorMessage: 'Insufficient margin' });
 */
export const ErrorBodySchema = z.looseObject({
  errorCode: z.string().optional(),
  errorMessage: z.string().optional(),
  orderRejectTransaction: z.looseObject({ type: z.string(), rejectReason: z.string().optional() }).optional(),
  orderCancelRejectTransaction: z.looseObject({ type: z.string(), rejectReason: z.string().optional() }).optional(),
  stopLossOrderRejectTransaction: z.looseObject({ type: z.string(), rejectReason: z.string().optional() }).optional(),
  takeProfitOrderRejectTransaction: z.looseObject({ type: z.string(), rejectReason: z.string().optional() }).optional(),
});
/** A v20 error answer. */
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** `OrderState`. */
export const OrderStateSchema = z.enum(['PENDING', 'FILLED', 'TRIGGERED', 'CANCELLED']);

/**
 * The answer to `GET /v3/accounts/{accountID}/orders/{orderSpecifier}`: an `Order` (the fields
 * shared by every order type, and those of a `MarketOrder` that Warden reads).
 *
 * @example
 * GetOrderSchema.parse({ order: { id: '5', state: 'FILLED', type: 'MARKET', fillingTransactionID: '6' } });
 */
export const GetOrderSchema = z.looseObject({
  order: z.looseObject({
    id: z.string(),
    state: OrderStateSchema,
    type: z.string().optional(),
    instrument: z.string().optional(),
    units: decimal.optional(),
    clientExtensions: ClientExtensionsSchema.optional(),
    fillingTransactionID: z.string().optional(),
    cancellingTransactionID: z.string().optional(),
    tradeOpenedID: z.string().optional(),
  }),
  lastTransactionID: z.string().optional(),
});

/** The answer to `GET /v3/accounts/{accountID}/transactions/{transactionID}`. */
export const GetTransactionSchema = z.looseObject({ transaction: TransactionSchema, lastTransactionID: z.string().optional() });

/** The answer to `PUT /v3/accounts/{accountID}/orders/{orderSpecifier}/cancel`. */
export const CancelOrderSchema = z.looseObject({ orderCancelTransaction: OrderCancelTransactionSchema, lastTransactionID: z.string().optional() });

/** `PositionSide`. */
const PositionSideSchema = z.looseObject({ units: decimal, averagePrice: decimal.optional(), tradeIDs: z.array(z.string()).optional() });

/**
 * The answer to `GET /v3/accounts/{accountID}/positions/{instrument}`.
 *
 * @example
 * GetPositionSchema.parse({ position: { instrument: 'EUR_USD', long: { units: '1000', averagePrice: '1.1', tradeIDs: ['6'] }, short: { units: '0' } } });
 */
export const GetPositionSchema = z.looseObject({
  position: z.looseObject({ instrument: z.string(), long: PositionSideSchema, short: PositionSideSchema }),
  lastTransactionID: z.string().optional(),
});

/** A dependent order of a trade (`StopLossOrder`, `TakeProfitOrder`), as far as Warden reads it. */
const DependentOrderSchema = z.looseObject({ id: z.string(), state: OrderStateSchema, price: decimal.optional(), distance: decimal.optional() });

/**
 * `Trade` with its dependent orders, from `GET /trades/{tradeSpecifier}` and `GET /trades`.
 *
 * @example
 * TradeSchema.parse({ id: '6', instrument: 'EUR_USD', price: '1.1', state: 'OPEN', currentUnits: '1000', stopLossOrder: { id: '7', state: 'PENDING', price: '1.0945' } });
 */
export const TradeSchema = z.looseObject({
  id: z.string(),
  instrument: z.string(),
  price: decimal,
  state: z.enum(['OPEN', 'CLOSED', 'CLOSE_WHEN_TRADEABLE']),
  currentUnits: decimal,
  clientExtensions: ClientExtensionsSchema.optional(),
  stopLossOrder: DependentOrderSchema.optional(),
  takeProfitOrder: DependentOrderSchema.optional(),
});
/** A v20 trade as `OandaBroker` reads it. */
export type Trade = z.infer<typeof TradeSchema>;

/** The answer to `GET /v3/accounts/{accountID}/trades/{tradeSpecifier}`. */
export const GetTradeSchema = z.looseObject({ trade: TradeSchema, lastTransactionID: z.string().optional() });
/** The answer to `GET /v3/accounts/{accountID}/trades`. */
export const ListTradesSchema = z.looseObject({ trades: z.array(TradeSchema), lastTransactionID: z.string().optional() });

/**
 * The `200` answer to `PUT /v3/accounts/{accountID}/trades/{tradeSpecifier}/orders`: the stop
 * loss and take profit now attached to the trade.
 */
/** A dependent order v20 cancelled as it made it, or that filled at once: the answer's own words for it. */
const UndoneSchema = z.looseObject({ id: z.string(), reason: z.string().optional() }).optional();

export const SetDependentOrdersSchema = z.looseObject({
  stopLossOrderTransaction: z.looseObject({ id: z.string(), type: z.literal('STOP_LOSS_ORDER'), price: decimal.optional() }).optional(),
  takeProfitOrderTransaction: z.looseObject({ id: z.string(), type: z.literal('TAKE_PROFIT_ORDER'), price: decimal.optional() }).optional(),
  stopLossOrderCreatedCancelTransaction: UndoneSchema,
  takeProfitOrderCreatedCancelTransaction: UndoneSchema,
  stopLossOrderFillTransaction: UndoneSchema,
  takeProfitOrderFillTransaction: UndoneSchema,
  lastTransactionID: z.string().optional(),
});

/**
 * `Instrument`: the precision facts `OandaBroker` needs.
 *
 * @example
 * InstrumentSchema.parse({ name: 'EUR_USD', type: 'CURRENCY', displayPrecision: 5, tradeUnitsPrecision: 0, minimumTradeSize: '1' });
 */
export const InstrumentSchema = z.looseObject({
  name: z.string(),
  type: z.string(),
  displayPrecision: z.number().int().min(0).max(12),
  tradeUnitsPrecision: z.number().int().min(0).max(12),
  minimumTradeSize: decimal,
  maximumOrderUnits: decimal.optional(),
});
/** A v20 instrument's precision facts. */
export type Instrument = z.infer<typeof InstrumentSchema>;

/** The answer to `GET /v3/accounts/{accountID}/instruments`. */
export const ListInstrumentsSchema = z.looseObject({ instruments: z.array(InstrumentSchema), lastTransactionID: z.string().optional() });

/** The answer to `GET /v3/accounts/{accountID}/summary` (the fields the dry run prints). */
export const AccountSummarySchema = z.looseObject({
  account: z.looseObject({ id: z.string(), currency: z.string(), balance: decimal, hedgingEnabled: z.boolean().optional(), openTradeCount: z.number().int().optional(), pendingOrderCount: z.number().int().optional(), lastTransactionID: z.string().optional() }),
  lastTransactionID: z.string().optional(),
});

/** The answer to `GET /v3/accounts/{accountID}/transactions/sinceid`. */
export const TransactionsSinceSchema = z.looseObject({ transactions: z.array(TransactionSchema), lastTransactionID: z.string() });

/**
 * One v20 account over REST: bounded requests, answers parsed with the v20 schemas, failures
 * classified as docs/brokers.md says, and the reads that never change (instruments, transactions)
 * cached. `OandaBroker` decides what to ask; this file only asks.
 */
import type { z } from 'zod';
import { BrokerError } from '../errors.js';
import { errorCodeOf, networkFailure, pathOnly, readError } from './mapping.js';
import {
  GetTransactionSchema,
  ListInstrumentsSchema,
  OrderCancelTransactionSchema,
  OrderFillTransactionSchema,
  TransactionsSinceSchema,
  type Instrument,
  type OrderFillTransaction,
  type Transaction,
} from './schemas.js';

/** How many fill transactions are remembered (far more than one 30 s window reads). */
const REMEMBERED_FILLS = 50_000;

/** An answer: the HTTP status and the parsed JSON body. */
export interface RestAnswer {
  readonly status: number;
  readonly json: unknown;
}

/**
 * @example
 * const rest = new OandaRest({ name: 'oanda:practice', token, accountId, restUrl: OANDA_HOSTS.practice.rest, limitMs: 4_000 });
 * const answer = await rest.call('GET', rest.accountPath('/summary'));
 */
export class OandaRest {
  readonly #name: string;
  readonly #token: string;
  readonly #account: string;
  readonly #rest: string;
  readonly #limitMs: number;
  #instruments: Promise<Map<string, Instrument>> | null = null;
  /** Fill transactions already read, by id. */
  readonly #fills = new Map<string, OrderFillTransaction>();

  constructor(options: { name: string; token: string; accountId: string; restUrl: string; limitMs: number }) {
    this.#name = options.name;
    this.#token = options.token;
    this.#account = options.accountId;
    this.#rest = options.restUrl.replace(/\/+$/, '');
    this.#limitMs = options.limitMs;
  }

  accountPath(path: string): string {
    return `/v3/accounts/${this.#account}${path}`;
  }

  headers(): Record<string, string> {
    return { authorization: `Bearer ${this.#token}`, 'content-type': 'application/json', 'accept-datetime-format': 'RFC3339' };
  }

  /** One bounded request. A failure before an answer is an unknown outcome, or `not_sent` when no connection was made. */
  async call(method: string, path: string, body?: unknown): Promise<RestAnswer> {
    let res: Response;
    try {
      res = await fetch(`${this.#rest}${path}`, {
        method,
        headers: this.headers(),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#limitMs),
      });
    } catch (e) {
      throw networkFailure(`${method} ${pathOnly(path)}`, e, this.#limitMs);
    }
    let json: unknown;
    try {
      json = await res.json();
    } catch (e) {
      // A body that is cut or not JSON: nothing can be concluded from it.
      throw new BrokerError(`${method} ${pathOnly(path)}: HTTP ${res.status} with an unreadable body`, { retryable: true, code: res.status === 429 ? 'rate_limited' : `http_${res.status}`, cause: e });
    }
    return { status: res.status, json };
  }

  /**
   * docs/brokers.md's classification: 429, 408 and 5xx are unknown outcomes (the request may have
   * acted); 401/403 and every other 4xx are OANDA refusing it, with its `errorCode` or reject reason.
   */
  failure(method: string, what: string, status: number, error: ReturnType<typeof readError>, alwaysUnknown = false): BrokerError {
    const code = errorCodeOf(error) ?? (status === 429 ? 'rate_limited' : `http_${status}`);
    const message = `${this.#name} ${method} ${what}: HTTP ${status} ${code}${error?.errorMessage ? `: ${error.errorMessage.slice(0, 200)}` : ''}`;
    const retryable = alwaysUnknown || status === 429 || status === 408 || status >= 500 || status < 400;
    return new BrokerError(message, { retryable, code });
  }

  /** A read whose only good answer is 200, parsed; anything else is an unknown outcome. */
  async read<S extends z.ZodType>(path: string, label: string, what: string, schema: S): Promise<z.infer<S>> {
    const answer = await this.call('GET', this.accountPath(path));
    if (answer.status !== 200) throw this.failure('GET', label, answer.status, readError(answer.json), true);
    return this.parse(schema, answer.json, what);
  }

  parse<S extends z.ZodType>(schema: S, json: unknown, what: string): z.infer<S> {
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new BrokerError(`${this.#name}: unreadable ${what}: ${parsed.error.issues[0]?.message ?? 'invalid'}`, { retryable: true, code: 'unreadable_answer' });
    return parsed.data;
  }

  /** The account's instruments, read once (again only after a failed read). */
  instruments(): Promise<Map<string, Instrument>> {
    this.#instruments ??= this.read('/instruments', '/instruments', 'instruments', ListInstrumentsSchema)
      .then((list) => new Map(list.instruments.map((i) => [i.name, i])))
      .catch((e: unknown) => {
        this.#instruments = null;
        throw e;
      });
    return this.#instruments;
  }

  async transaction(id: string): Promise<Transaction> {
    return (await this.read(`/transactions/${encodeURIComponent(id)}`, '/transactions/…', 'transaction', GetTransactionSchema)).transaction;
  }

  async fillTransaction(id: string): Promise<OrderFillTransaction> {
    // A transaction never changes: each fill is read once, however often its order is polled.
    const known = this.#fills.get(id);
    if (known) return known;
    const fill = this.parse(OrderFillTransactionSchema, await this.transaction(id), 'fill transaction');
    this.#fills.set(id, fill);
    if (this.#fills.size > REMEMBERED_FILLS) this.#fills.delete(this.#fills.keys().next().value!);
    return fill;
  }

  async cancelReason(id: string): Promise<string | undefined> {
    const parsed = OrderCancelTransactionSchema.safeParse(await this.transaction(id));
    return parsed.success ? parsed.data.reason : undefined;
  }

  sinceId(id: string): Promise<{ transactions: Transaction[]; lastTransactionID: string }> {
    return this.read(`/transactions/sinceid?id=${encodeURIComponent(id)}`, '/transactions/sinceid', 'transactions', TransactionsSinceSchema);
  }
}

/**
 * A BrokerAdapter over HTTP: the template for a real REST broker. Every request has a timeout;
 * a timeout, a network error, a 429 or a 5xx is an unknown outcome (BrokerError, retryable:
 * true: the order may exist); any other 4xx is a definitive refusal. A 404 on a look-up means
 * the broker does not know the order.
 *
 * Requests go through `node:http`/`node:https` with a keep-alive agent of the adapter's own (no
 * Nagle delay, connections kept open between requests and opened in parallel as needed): a kill
 * switch's burst of cancels costs about a third of the CPU time of `fetch` and goes out at once.
 *
 * With `events`, the broker's stream of order reports is read (httpEvents.ts) and the adapter has
 * `subscribe`: the engine learns fills and cancels when they happen and polls only as a backstop.
 * Without it the adapter has no `subscribe`, and the engine polls every working order.
 *
 * With `cancelBatch`, the broker's batch cancel is used and the adapter has `cancelOrders`: a kill
 * switch then cancels an engine's working orders with one request (split in requests of
 * `maxOrders`) instead of one request each.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { OrderRef, OrderReport, OrderRequest, PositionReport, ProtectionReport, ProtectionRequest } from '../domain/schemas.js';
import { BrokerError } from './errors.js';
import { HttpEventStream, type HttpEventStats, type HttpEventsOptions } from './httpEvents.js';
import type { BrokerAdapter } from './types.js';

// Real time, as `fetch`'s AbortSignal.timeout was, whatever fake timers a test installs later.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

/**
 * How to reach a broker over HTTP: its base URL, a time limit per request and extra headers.
 *
 * @example
 * const broker = new HttpBroker({ baseUrl: 'https://broker.example/api', timeoutMs: 3_000, headers: { authorization: `Bearer ${token}` } });
 */
export interface HttpBrokerOptions {
  readonly baseUrl: string;
  /** Per request. Default 5 s. */
  readonly timeoutMs?: number;
  /** Extra headers (e.g. credentials); never journaled or logged by Warden. */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * The broker pushes order reports on a stream at this path (newline-delimited JSON, one
   * OrderReport per line, as the paper service's `GET /events`), or with these settings. The
   * adapter then has `subscribe`; without it, it has none and the engine polls.
   *
   * @example
   * const broker = new HttpBroker({ baseUrl: service.url, events: '/events' });
   * createEngine({ broker, pollIntervalMs: 1_000 }); // fills pushed; a poll a second as the backstop
   */
  readonly events?: string | HttpEventsOptions;
  /**
   * The broker cancels many orders in one request at this path (as the paper service's
   * `POST /orders/cancel`: `{ orders: [clientOrderId, …] }` → the OrderReport of each order it
   * knows), or with these settings. The adapter then has `cancelOrders`; without it, it has none
   * and the engine sends one `cancelOrder` per order.
   *
   * @example
   * const broker = new HttpBroker({ baseUrl: service.url, events: '/events', cancelBatch: '/orders/cancel' });
   */
  readonly cancelBatch?: string | HttpCancelBatchOptions;
}

/**
 * A broker's batch cancel: its path, and the most orders one request may name (default 100; the
 * paper service takes up to 1,000). More orders than that go out as several requests at once.
 *
 * @example
 * const options: HttpCancelBatchOptions = { path: '/orders/cancel', maxOrders: 10 };
 */
export interface HttpCancelBatchOptions {
  readonly path: string;
  readonly maxOrders?: number;
}

/**
 * @example
 * const engine = createEngine({ broker: new HttpBroker({ baseUrl: 'http://127.0.0.1:7070' }) });
 */
export class HttpBroker implements BrokerAdapter {
  readonly name = 'http';
  /** Client order ids are unique for the venue's lifetime: a resend can never make a second order. */
  readonly clientOrderIdDurability = 'durable' as const;
  /** The service's address: orders sent to one URL are known only there. */
  readonly identity: string;
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  readonly #headers: Readonly<Record<string, string>>;
  /** Idle connections are kept (and do not keep the process alive); as many open at once as requests need. */
  readonly #agent: HttpAgent;
  readonly #send: typeof httpRequest;
  readonly #events: HttpEventStream | null;
  /** Present only with the `events` option: order reports as the broker pushes them. */
  declare readonly subscribe?: (listener: (report: OrderReport) => void) => () => void;
  /** Present only with the `cancelBatch` option: many orders cancelled in one request. */
  declare readonly cancelOrders?: (refs: readonly OrderRef[]) => Promise<readonly OrderReport[]>;

  constructor(options: HttpBrokerOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.identity = `http:${this.baseUrl}`;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.#headers = options.headers ?? {};
    const tls = this.baseUrl.startsWith('https:');
    this.#agent = tls ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    this.#send = tls ? httpsRequest : httpRequest;
    const events = typeof options.events === 'string' ? { path: options.events } : options.events;
    this.#events = events === undefined ? null : new HttpEventStream(this.baseUrl, this.#headers, events, this.timeoutMs);
    // An own property, so a host that copies the adapter's methods (or wraps it) keeps it bound.
    if (this.#events !== null) this.subscribe = this.#events.add.bind(this.#events);
    const batch = typeof options.cancelBatch === 'string' ? { path: options.cancelBatch } : options.cancelBatch;
    if (batch !== undefined) {
      const maxOrders = batch.maxOrders ?? 100;
      if (!Number.isInteger(maxOrders) || maxOrders < 1) throw new TypeError(`HttpBroker: cancelBatch.maxOrders must be a whole number ≥ 1, got ${String(batch.maxOrders)}`);
      if (!batch.path.startsWith('/')) throw new TypeError(`HttpBroker: cancelBatch.path must start with '/', got '${batch.path}'`);
      this.cancelOrders = (refs) => this.#cancelBatch(batch.path, maxOrders, refs);
    }
  }

  /**
   * One request per `maxOrders` orders, all sent at once. The answer is every report the broker
   * gave; the orders of a request that failed are left out (for the engine: an unknown outcome,
   * looked up). Only when every request failed does the call fail, with the first failure.
   */
  async #cancelBatch(path: string, maxOrders: number, refs: readonly OrderRef[]): Promise<readonly OrderReport[]> {
    const requests: Promise<unknown>[] = [];
    for (let i = 0; i < refs.length; i += maxOrders) requests.push(this.request('POST', path, { orders: refs.slice(i, i + maxOrders).map((r) => r.clientOrderId) }));
    const answers = await Promise.allSettled(requests);
    const reports: OrderReport[] = [];
    for (const a of answers) if (a.status === 'fulfilled' && Array.isArray(a.value)) reports.push(...(a.value as OrderReport[]));
    const failed = answers.find((a): a is PromiseRejectedResult => a.status === 'rejected');
    if (failed !== undefined && answers.every((a) => a.status === 'rejected')) throw failed.reason;
    return reports;
  }

  /** What the event stream did so far (`null` without `events`): connections, reports, unreadable lines skipped. */
  eventStats(): HttpEventStats | null {
    return this.#events?.stats() ?? null;
  }

  submitOrder(req: OrderRequest): Promise<OrderReport> {
    return this.request('POST', '/orders', req) as Promise<OrderReport>;
  }
  cancelOrder(ref: OrderRef): Promise<OrderReport> {
    return this.request('POST', `/orders/${encodeURIComponent(ref.clientOrderId)}/cancel`) as Promise<OrderReport>;
  }
  async getOrder(ref: OrderRef): Promise<OrderReport | null> {
    return (await this.request('GET', `/orders/${encodeURIComponent(ref.clientOrderId)}`, undefined, true)) as OrderReport | null;
  }
  getPosition(symbol: string): Promise<PositionReport> {
    return this.request('GET', `/positions/${encodeURIComponent(symbol)}`) as Promise<PositionReport>;
  }
  placeProtection(req: ProtectionRequest): Promise<ProtectionReport> {
    return this.request('POST', '/protections', req) as Promise<ProtectionReport>;
  }

  /**
   * Whether the service answers at all: any HTTP answer to `GET /health` (even a 404) means it is
   * reachable. Throws a BrokerError with code `unreachable`, naming the network error, otherwise.
   * Sends nothing about any order: a caller checks this before it commits to trading.
   *
   * @example
   * await new HttpBroker({ baseUrl: 'http://127.0.0.1:7070' }).checkReachable(); // throws when nothing listens
   */
  async checkReachable(timeoutMs = Math.min(this.timeoutMs, 3_000)): Promise<void> {
    try {
      await this.exchange('GET', '/health', undefined, timeoutMs);
    } catch (e) {
      const timedOut = (e as Error).name === 'TimeoutError';
      throw new BrokerError(`broker ${this.baseUrl} is unreachable: ${timedOut ? `no answer within ${timeoutMs} ms` : networkDetail(e)}`, { retryable: true, code: 'unreachable', cause: e });
    }
  }

  private async request(method: string, path: string, payload?: unknown, notFoundIsNull = false): Promise<unknown> {
    let res: { status: number; ok: boolean; text: string };
    try {
      res = await this.exchange(method, path, payload === undefined ? undefined : JSON.stringify(payload));
    } catch (e) {
      const timedOut = (e as Error).name === 'TimeoutError';
      throw new BrokerError(timedOut ? `${method} ${path} timed out after ${this.timeoutMs} ms` : `${method} ${path} failed: ${networkDetail(e)}`, { retryable: true, code: timedOut ? 'timeout' : 'network', cause: e });
    }
    let answer: unknown;
    try {
      answer = JSON.parse(res.text);
    } catch {
      throw new BrokerError(`${method} ${path}: HTTP ${res.status} with a body that is not JSON`, { retryable: true, code: `http_${res.status}` });
    }
    if (res.ok) return answer;
    if (res.status === 404 && notFoundIsNull) return null;
    const message = (answer as { error?: unknown } | null)?.error;
    const text = `${method} ${path}: HTTP ${res.status}${typeof message === 'string' ? `: ${message}` : ''}`;
    const code = (answer as { code?: unknown } | null)?.code;
    const definitive = res.status >= 400 && res.status < 500 && res.status !== 429 && res.status !== 408;
    throw new BrokerError(text, { retryable: !definitive, code: typeof code === 'string' ? code : `http_${res.status}` });
  }

  /** One request and its whole answer, within the time limit (a `TimeoutError` past it: the request is abandoned). */
  private exchange(method: string, path: string, body: string | undefined, timeoutMs = this.timeoutMs): Promise<{ status: number; ok: boolean; text: string }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...this.#headers };
      if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
      const req = this.#send(`${this.baseUrl}${path}`, { method, headers, agent: this.#agent });
      const timer = realSetTimeout(() => {
        const e = new Error(`no answer within ${timeoutMs} ms`);
        e.name = 'TimeoutError';
        req.destroy(e);
      }, timeoutMs);
      timer.unref(); // the request's socket keeps the process alive while it is out
      const fail = (e: unknown) => {
        realClearTimeout(timer);
        reject(e);
      };
      req.setNoDelay(true);
      req.on('error', fail);
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', fail);
        res.on('end', () => {
          realClearTimeout(timer);
          const status = res.statusCode ?? 0;
          resolve({ status, ok: status >= 200 && status < 300, text: Buffer.concat(chunks).toString('utf8') });
        });
      });
      req.end(body);
    });
  }
}

/** A `node:http` error names the reason itself; an error with a cause (fetch's "fetch failed") gets the cause's. */
function networkDetail(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const detail = typeof cause?.message === 'string' && cause.message !== '' ? cause.message : typeof cause?.code === 'string' ? cause.code : null;
  const message = e instanceof Error ? e.message : String(e);
  return detail === null ? message : `${message} (${detail})`.slice(0, 300);
}

/**
 * The push half of HttpBroker: order reports streamed by the broker, as real venues push their
 * execution reports (OANDA's transactions stream, Binance's user data stream, FIX) instead of being
 * polled for them. One streaming `GET` for every listener: newline-delimited JSON, one OrderReport
 * per line; a blank line is a heartbeat.
 *
 * The stream has a connection of its own (`agent: false`), never one of the request agent's pool,
 * and never keeps the process alive by itself. It is open while anyone listens: a connection that
 * ends, fails, does not answer within `connectTimeoutMs` or falls silent for `silenceMs` is
 * abandoned and opened again after a pause (`reconnectMs`, doubling up to `maxReconnectMs`); the
 * last unsubscribe closes it. What is pushed while no connection is open is not replayed: the
 * engine's polls are the backstop.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { OrderReport } from '../domain/schemas.js';

// Real time, as the adapter's request timeouts: whatever fake timers a test installs later.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

/** A line longer than this (1 MiB) is not an order report: the connection is dropped and opened again. */
const MAX_LINE_CHARS = 1024 * 1024;

/**
 * Where the broker streams its order reports, and how the stream is kept open.
 *
 * @example
 * const broker = new HttpBroker({ baseUrl: 'http://127.0.0.1:7070', events: { path: '/events', reconnectMs: 100, maxReconnectMs: 2_000 } });
 */
export interface HttpEventsOptions {
  /** The stream's path on the broker, e.g. `/events`. */
  readonly path: string;
  /** First pause before a lost stream is opened again, doubling up to `maxReconnectMs`. Default 100 ms. */
  readonly reconnectMs?: number;
  /** Longest pause between attempts. Default 2,000 ms. */
  readonly maxReconnectMs?: number;
  /** Bound on the stream's answer (its status line) after a connect is started. Default: the adapter's `timeoutMs`. */
  readonly connectTimeoutMs?: number;
  /** Silence (not even a heartbeat line) for this long drops the stream, which is opened again. Default 15,000 ms. */
  readonly silenceMs?: number;
}

/**
 * What the stream did so far: connections answered, reports delivered, lines skipped as unreadable.
 *
 * @example
 * const { connects, reports, unreadable } = broker.eventStats()!;
 */
export interface HttpEventStats {
  readonly connects: number;
  readonly reports: number;
  readonly unreadable: number;
  /** Whether a stream is open now (answered, not yet ended). */
  readonly open: boolean;
}

/**
 * One stream for every listener of an adapter.
 *
 * @example
 * const stream = new HttpEventStream('http://127.0.0.1:7070', {}, { path: '/events' }, 5_000);
 * const stop = stream.add((report) => console.log(report.clientOrderId, report.status));
 * stop(); // the last listener gone: the connection is closed
 */
export class HttpEventStream {
  readonly #url: string;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #send: typeof httpRequest;
  readonly #reconnectMs: number;
  readonly #maxReconnectMs: number;
  readonly #connectTimeoutMs: number;
  readonly #silenceMs: number;
  readonly #listeners = new Set<(report: OrderReport) => void>();
  /** The connection being opened or read, if any. */
  #req: ClientRequest | null = null;
  #retry: ReturnType<typeof setTimeout> | null = null;
  #pauseMs: number;
  #open = false;
  #connects = 0;
  #reports = 0;
  #unreadable = 0;

  constructor(baseUrl: string, headers: Readonly<Record<string, string>>, options: HttpEventsOptions, timeoutMs: number) {
    if (typeof options.path !== 'string' || !options.path.startsWith('/')) throw new TypeError(`events.path must start with "/", got ${JSON.stringify(options.path)}`);
    const positive = (name: string, value: number | undefined, fallback: number) => {
      if (value === undefined) return fallback;
      if (!Number.isFinite(value) || value <= 0) throw new TypeError(`events.${name} must be a positive number of ms, got ${value}`);
      return value;
    };
    this.#url = `${baseUrl}${options.path}`;
    this.#headers = headers;
    this.#send = baseUrl.startsWith('https:') ? httpsRequest : httpRequest;
    this.#reconnectMs = positive('reconnectMs', options.reconnectMs, 100);
    this.#maxReconnectMs = Math.max(this.#reconnectMs, positive('maxReconnectMs', options.maxReconnectMs, 2_000));
    this.#connectTimeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs, timeoutMs);
    this.#silenceMs = positive('silenceMs', options.silenceMs, 15_000);
    this.#pauseMs = this.#reconnectMs;
  }

  /** Adds a listener (opening the stream if it is the first); the returned function removes it. */
  add(listener: (report: OrderReport) => void): () => void {
    this.#listeners.add(listener);
    if (this.#req === null && this.#retry === null) this.#connect();
    return () => {
      if (!this.#listeners.delete(listener) || this.#listeners.size > 0) return;
      this.#stop();
    };
  }

  stats(): HttpEventStats {
    return { connects: this.#connects, reports: this.#reports, unreadable: this.#unreadable, open: this.#open };
  }

  #stop(): void {
    if (this.#retry !== null) realClearTimeout(this.#retry);
    this.#retry = null;
    const req = this.#req;
    this.#req = null;
    this.#open = false;
    this.#pauseMs = this.#reconnectMs;
    req?.destroy();
  }

  #connect(): void {
    const req = this.#send(this.#url, { method: 'GET', headers: { accept: 'application/x-ndjson', ...this.#headers }, agent: false });
    this.#req = req;
    let buffer = '';
    // One watchdog: first the connect's limit, then the stream's silence limit, refreshed by every chunk.
    let watchdog = realSetTimeout(() => req.destroy(new Error(`no answer within ${this.#connectTimeoutMs} ms`)), this.#connectTimeoutMs);
    watchdog.unref();
    const end = () => {
      realClearTimeout(watchdog);
      if (this.#req !== req) return; // already ended, or unsubscribed
      this.#req = null;
      this.#open = false;
      req.destroy();
      if (this.#listeners.size === 0) return;
      this.#retry = realSetTimeout(() => {
        this.#retry = null;
        if (this.#listeners.size > 0) this.#connect();
      }, this.#pauseMs);
      this.#retry.unref();
      this.#pauseMs = Math.min(this.#pauseMs * 2, this.#maxReconnectMs);
    };
    req.on('socket', (socket) => {
      socket.unref(); // the stream alone never keeps the process alive
      socket.setNoDelay(true);
    });
    req.on('error', end);
    req.on('response', (res: IncomingMessage) => {
      res.on('error', end);
      res.on('close', end);
      if (res.statusCode !== 200) {
        res.resume();
        return end();
      }
      realClearTimeout(watchdog);
      watchdog = realSetTimeout(() => req.destroy(new Error(`silent for ${this.#silenceMs} ms`)), this.#silenceMs);
      watchdog.unref();
      this.#open = true;
      this.#connects++;
      this.#pauseMs = this.#reconnectMs;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (this.#req !== req) return;
        watchdog.refresh();
        buffer += chunk;
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (line !== '') this.#line(line);
        }
        if (buffer.length > MAX_LINE_CHARS) {
          this.#unreadable++;
          req.destroy(new Error('a line longer than 1 MiB'));
        }
      });
    });
    req.end();
  }

  #line(line: string): void {
    let report: unknown;
    try {
      report = JSON.parse(line);
    } catch {
      report = undefined;
    }
    // Only the shape of a report is checked here: the engine validates every push it routes.
    if (typeof report !== 'object' || report === null || typeof (report as { clientOrderId?: unknown }).clientOrderId !== 'string') {
      this.#unreadable++;
      return;
    }
    this.#reports++;
    for (const listener of [...this.#listeners]) {
      try {
        listener(report as OrderReport);
      } catch {
        // one listener's failure is its own: the stream goes on
      }
    }
  }
}

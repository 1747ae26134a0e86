/**
 * OANDA's transactions stream (`GET /v3/accounts/{accountID}/transactions/stream`): one
 * connection for every listener, newline-delimited JSON, a `HEARTBEAT` every few seconds carrying
 * `lastTransactionID`. A heartbeat ahead of the last transaction seen, a transaction past the next
 * id (v20 numbers them one after another and streams them in id order), or a reconnect, is a gap:
 * it is filled from `/transactions/sinceid` before anything newer is taken. Silence longer than the
 * heartbeat timeout is a dead stream: it is dropped and reopened.
 */
import type { OrderReport } from '../../domain/schemas.js';
import { TransactionHeartbeatSchema, TransactionSchema, type Transaction } from './schemas.js';

/** Wiring of the stream: where it is, how to fill a gap, and what a transaction means to Warden. */
export interface TransactionStreamOptions {
  readonly url: string;
  readonly headers: () => Record<string, string>;
  readonly sinceId: (id: string) => Promise<{ transactions: Transaction[]; lastTransactionID: string }>;
  readonly onTransaction: (t: Transaction) => OrderReport | null;
  readonly heartbeatTimeoutMs: number;
  readonly reconnectMs: number;
}

const RECONNECT_MAX_MS = 30_000;

/**
 * @example
 * const stream = new TransactionStream({ url, headers, sinceId, onTransaction, heartbeatTimeoutMs: 15_000, reconnectMs: 500 });
 * const stop = stream.add((report) => console.log(report.clientOrderId, report.status));
 */
export class TransactionStream {
  readonly #options: TransactionStreamOptions;
  readonly #listeners = new Set<(report: OrderReport) => void>();
  #running = false;
  #abort: AbortController | null = null;
  /** The last transaction id taken in (from a transaction, a heartbeat or a gap fill). */
  #lastId: string | null = null;

  constructor(options: TransactionStreamOptions) {
    this.#options = options;
  }

  add(listener: (report: OrderReport) => void): () => void {
    this.#listeners.add(listener);
    if (!this.#running) void this.#run();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#abort?.abort();
    };
  }

  close(): void {
    this.#listeners.clear();
    this.#abort?.abort();
  }

  async #run(): Promise<void> {
    this.#running = true;
    let pauseMs = this.#options.reconnectMs;
    try {
      while (this.#listeners.size > 0) {
        try {
          if (this.#lastId !== null) await this.#fillGap();
          if (await this.#readOnce()) pauseMs = this.#options.reconnectMs;
        } catch {
          // a failed gap fill or a dropped connection: try again after a pause
        }
        if (this.#listeners.size === 0) break;
        await new Promise((r) => setTimeout(r, pauseMs).unref());
        pauseMs = Math.min(pauseMs * 2, RECONNECT_MAX_MS);
      }
    } finally {
      this.#running = false;
    }
  }

  /** One connection, read until it ends, fails or falls silent. True when it delivered anything. */
  async #readOnce(): Promise<boolean> {
    const abort = new AbortController();
    this.#abort = abort;
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => abort.abort(), this.#options.heartbeatTimeoutMs);
      watchdog.unref();
    };
    let delivered = false;
    try {
      arm();
      const res = await fetch(this.#options.url, { headers: this.#options.headers(), signal: abort.signal });
      if (res.status !== 200 || !res.body) {
        await res.body?.cancel().catch(() => undefined);
        return false;
      }
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        arm();
        buffer += decoder.decode(chunk, { stream: true });
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (line.length === 0) continue;
          await this.#line(line);
          delivered = true;
        }
        if (this.#listeners.size === 0) break;
      }
      return delivered;
    } catch {
      return delivered;
    } finally {
      clearTimeout(watchdog);
      abort.abort();
      if (this.#abort === abort) this.#abort = null;
    }
  }

  async #line(line: string): Promise<void> {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      return; // an unreadable line: the next heartbeat shows the gap, and the gap fill reads it
    }
    // The spec wraps lines as { transaction } / { heartbeat }; the service sends them bare. Both are read.
    const wrapped = json as { heartbeat?: unknown; transaction?: unknown } | null;
    const heartbeat = TransactionHeartbeatSchema.safeParse(wrapped?.heartbeat ?? json);
    if (heartbeat.success) {
      if (this.#lastId === null) this.#lastId = heartbeat.data.lastTransactionID;
      else if (BigInt(heartbeat.data.lastTransactionID) > BigInt(this.#lastId)) await this.#fillGap();
      return;
    }
    const transaction = TransactionSchema.safeParse(wrapped?.transaction ?? json);
    if (!transaction.success) return;
    // Ids come one after another: one past the next means some were lost on the way; fetch them first.
    if (this.#lastId !== null && /^\d+$/.test(transaction.data.id) && BigInt(transaction.data.id) > BigInt(this.#lastId) + 1n) await this.#fillGap();
    this.#take(transaction.data);
  }

  async #fillGap(): Promise<void> {
    const since = await this.#options.sinceId(this.#lastId!);
    for (const t of since.transactions) this.#take(t);
    if (this.#lastId === null || BigInt(since.lastTransactionID) > BigInt(this.#lastId)) this.#lastId = since.lastTransactionID;
  }

  #take(t: Transaction): void {
    if (!/^\d+$/.test(t.id)) return;
    if (this.#lastId !== null && BigInt(t.id) <= BigInt(this.#lastId)) return; // already taken in
    this.#lastId = t.id;
    const report = this.#options.onTransaction(t);
    if (report === null) return;
    for (const listener of [...this.#listeners]) {
      try {
        listener(report);
      } catch {
        // one listener's failure is its own
      }
    }
  }
}

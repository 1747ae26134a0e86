/**
 * PaperBroker over HTTP on loopback, with its state persisted to a file after every change
 * (written to a temporary file, then renamed: a crash never leaves half a state). It survives
 * its own restarts, and a separate process (an engine that can be killed) can trade against it.
 *
 *   POST /orders                 OrderRequest       → OrderReport
 *   GET  /orders/:id                                → OrderReport | 404
 *   POST /orders/:id/cancel                         → OrderReport | 404
 *   POST /orders/cancel          { orders: [id…] }  → OrderReport[]: the venue's batch cancel, up
 *                                                     to 1,000 orders; an order it does not know
 *                                                     is left out of the answer
 *   GET  /positions/:symbol                         → PositionReport
 *   POST /protections            ProtectionRequest  → ProtectionReport
 *   GET  /health                                    → { ok: true }
 *   GET  /events                                    → a stream (application/x-ndjson): one
 *                                                     OrderReport per line, at every change of
 *                                                     any order (accepted, filled in part or
 *                                                     whole, cancelled, rejected); a blank line
 *                                                     every 5 s as a heartbeat
 *
 * Refusals are 422 `{ error, code, retryable: false }`; anything else is 500.
 *
 * The event stream is the venue's push (HttpBroker's `events` option reads it). It carries only
 * what changes while it is open (nothing is replayed: a client's polls are the backstop); it ends
 * when the service closes. A reader that falls behind by more than `eventBufferBytes` is dropped
 * rather than buffered without bound: it reconnects, and its polls see what it missed.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { OrderRequestSchema, SideSchema, SymbolSchema } from '../domain/schemas.js';
import { BrokerError } from './errors.js';
import { PaperBroker, type PaperBrokerOptions, type PaperBrokerState } from './paperBroker.js';

/**
 * The paper broker's options, plus the service's port and the file its state persists to.
 *
 * @example
 * const options: PaperServiceOptions = { port: 7070, stateFile: 'data/paper.json', seed: 7, markets: { EURUSD: { price: 1.1 } } };
 * const service = await startPaperService(options);
 */
export interface PaperServiceOptions extends PaperBrokerOptions {
  readonly port?: number;
  /** Where the venue's state lives between restarts. */
  readonly stateFile?: string;
  /** An event stream whose unsent output passes this many bytes is dropped. Default 1 MiB. */
  readonly eventBufferBytes?: number;
}

/**
 * A running paper service: its URL, the broker behind it, and how to stop it.
 *
 * @example
 * const service: PaperService = await startPaperService({ port: 0 });
 * const engine = createEngine({ broker: new HttpBroker({ baseUrl: service.url }) });
 * await service.close();
 */
export interface PaperService {
  readonly url: string;
  readonly broker: PaperBroker;
  /** How many `GET /events` streams are open now. */
  eventStreams(): number;
  close(): Promise<void>;
}

/** A blank line this often on every event stream, so a reader can tell a live stream from a dead one. */
const EVENT_HEARTBEAT_MS = 5_000;

/** A protective order as the service accepts it: the same bounds the engine sends. */
const ProtectionRequestSchema = z.strictObject({
  clientOrderId: z.string().min(1).max(64),
  symbol: SymbolSchema,
  side: SideSchema,
  quantity: z.number().finite().positive(),
  stopLoss: z.number().finite().positive(),
  takeProfit: z.number().finite().positive(),
});

/** The most orders one batch cancel names. */
export const PAPER_CANCEL_BATCH_MAX = 1_000;

/** A batch cancel: the client order ids, each as `POST /orders/:id/cancel` would take it. */
const CancelBatchSchema = z.strictObject({
  orders: z.array(z.string().min(1).max(64)).min(1).max(PAPER_CANCEL_BATCH_MAX),
});

/** A markets file for the paper venue: symbol → market. Anything else is refused, never guessed. */
export const PaperMarketsSchema = z.record(
  SymbolSchema,
  z.strictObject({
    price: z.number().finite().positive(),
    fillAfterMs: z.number().int().nonnegative().optional(),
    fillSteps: z.array(z.strictObject({ afterMs: z.number().int().nonnegative(), fraction: z.number().positive().max(1) })).max(100).optional(),
    noLiquidity: z.boolean().optional(),
    rejectWith: z.string().max(500).optional(),
    slippageBps: z.number().finite().nonnegative().max(10_000).optional(),
    protection: z.enum(['place', 'reject', 'lose']).optional(),
  }),
);

/** Parses a request body with `schema`; a body that does not fit is a 400 that names what is wrong. */
function valid<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    throw new BrokerError(`invalid ${what}: ${problems}`.slice(0, 500), { retryable: false, code: 'bad_request' });
  }
  return parsed.data;
}

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 128 * 1024) throw new BrokerError('request body too large', { retryable: false, code: 'too_large' });
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
  } catch {
    throw new BrokerError('request body is not JSON', { retryable: false, code: 'bad_request' });
  }
}

/**
 * @example
 * const service = await startPaperService({ port: 0, stateFile: 'data/paper.json', markets: { EURUSD: { price: 1.1 } } });
 * const broker = new HttpBroker({ baseUrl: service.url });
 */
export async function startPaperService(options: PaperServiceOptions): Promise<PaperService> {
  const broker = new PaperBroker(options);
  const { stateFile } = options;
  if (stateFile && existsSync(stateFile)) {
    let state: PaperBrokerState;
    try {
      state = JSON.parse(readFileSync(stateFile, 'utf8')) as PaperBrokerState;
      if (!state || !state.venue || !Array.isArray(state.venue.orders) || !Array.isArray(state.pendingFills)) throw new Error('unexpected shape');
    } catch (e) {
      throw new Error(`paper broker state ${stateFile} is not readable (${(e as Error).message}); refusing to overwrite it`);
    }
    broker.restore(state);
  }
  const persist = () => {
    if (!stateFile) return;
    const tmp = `${stateFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(broker.state()));
    renameSync(tmp, stateFile);
  };
  broker.onChange = persist;
  persist();

  // Every order report, pushed to every open event stream: serialized once, written to each; a
  // stream that cannot keep up is dropped (its client's polls see what it missed). The reports of
  // one synchronous stretch (a batch cancel's, say) leave as one write per stream, read by the
  // client as one piece.
  const streams = new Set<ServerResponse>();
  const bound = options.eventBufferBytes ?? 1024 * 1024;
  let pending: string[] = [];
  const flush = () => {
    const text = pending.join('');
    pending = [];
    for (const stream of streams) {
      stream.write(text);
      if (stream.writableLength > bound) stream.destroy();
    }
  };
  const write = (line: string) => {
    if (pending.push(line) === 1) process.nextTick(flush);
  };
  broker.subscribe((report) => {
    if (streams.size > 0) write(`${JSON.stringify(report)}\n`);
  });
  const heartbeat = setInterval(() => write('\n'), EVENT_HEARTBEAT_MS);
  heartbeat.unref();
  const openStream = (req: IncomingMessage, res: ServerResponse) => {
    req.socket.setNoDelay(true);
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    res.flushHeaders();
    streams.add(res);
    res.on('close', () => streams.delete(res));
  };

  const server: Server = createServer((req, res) => {
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    void (async () => {
      try {
        const url = new URL(req.url ?? '/', 'http://localhost');
        const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
        if (req.method === 'GET' && parts[0] === 'health') return send(200, { ok: true });
        if (req.method === 'GET' && parts.length === 1 && parts[0] === 'events') return openStream(req, res);
        if (req.method === 'POST' && parts.length === 1 && parts[0] === 'orders') return send(200, await broker.submitOrder(valid(OrderRequestSchema, await body(req), 'order')));
        if (req.method === 'GET' && parts.length === 2 && parts[0] === 'orders') {
          const order = await broker.getOrder({ clientOrderId: parts[1]! });
          return order ? send(200, order) : send(404, { error: `unknown order ${parts[1]}`, code: 'unknown_order', retryable: false });
        }
        if (req.method === 'POST' && parts.length === 2 && parts[0] === 'orders' && parts[1] === 'cancel') {
          const { orders } = valid(CancelBatchSchema, await body(req), 'batch cancel');
          return send(200, await broker.cancelOrders(orders.map((clientOrderId) => ({ clientOrderId }))));
        }
        if (req.method === 'POST' && parts.length === 3 && parts[0] === 'orders' && parts[2] === 'cancel') return send(200, await broker.cancelOrder({ clientOrderId: parts[1]! }));
        if (req.method === 'GET' && parts.length === 2 && parts[0] === 'positions') return send(200, await broker.getPosition(parts[1]!));
        if (req.method === 'POST' && parts.length === 1 && parts[0] === 'protections') return send(200, await broker.placeProtection(valid(ProtectionRequestSchema, await body(req), 'protection request')));
        return send(404, { error: `no route ${req.method} ${url.pathname}`, code: 'no_route', retryable: false });
      } catch (e) {
        if (e instanceof BrokerError && !e.retryable) return send(e.code === 'unknown_order' ? 404 : e.code === 'bad_request' || e.code === 'too_large' ? 400 : 422, { error: e.message, code: e.code, retryable: false });
        return send(500, { error: e instanceof Error ? e.message : String(e), retryable: true });
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://127.0.0.1:${port}`,
    broker,
    eventStreams: () => streams.size,
    // Idle keep-alive connections and event streams end with the service, as they would with its process.
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(heartbeat);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * A loopback TCP proxy that delays every chunk by a fixed time in each direction: an engine whose
 * database URL points at it sees PostgreSQL `2 × delayMs` further away per round trip. Order is
 * kept (equal delays fire in the order they were set). Used by test/fleet and `soak:cluster`.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface LatencyProxy {
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's. */
  via(url: string): string;
  close(): Promise<void>;
}

export async function startLatencyProxy(targetPort: number, delayMs: number): Promise<LatencyProxy> {
  if (!Number.isFinite(delayMs) || delayMs < 0) throw new Error(`a latency proxy needs a delay of 0 ms or more, got ${String(delayMs)}`);
  const sockets = new Set<Socket>();
  const pipe = (from: Socket, to: Socket) => {
    from.on('data', (chunk) => void setTimeout(() => to.destroyed || to.write(chunk), delayMs));
    from.on('end', () => void setTimeout(() => to.end(), delayMs));
    from.on('error', () => to.destroy());
    from.on('close', () => void setTimeout(() => to.destroy(), delayMs));
  };
  const server = createServer((client) => {
    client.setNoDelay(true);
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort, noDelay: true });
    sockets.add(client).add(upstream);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    via: (url) => {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

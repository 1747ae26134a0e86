/**
 * A network cut the server does not see: the writer's connection is gone on the engine's side
 * while its session lives on in PostgreSQL (no FIN or RST reached it; it ends when its TCP
 * keepalive gives up), still holding the writer's session lock. The writer must treat that as the
 * outage it is — tried again until its own old session ends — not as another process using its id.
 */
import { createConnection, createServer, type Socket } from 'node:net';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { JournalKind } from '../../src/journal/types.js';
import { PostgresStore } from '../../src/store/postgres/PostgresStore.js';
import { useDatabase } from './support/database.js';

const db = useDatabase();

/** A loopback proxy whose `partition()` drops the engine's side of every open connection and keeps the server's side open. */
async function partitionProxy(targetPort: number) {
  const upstreams = new Set<Socket>();
  const clients = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    clients.add(client);
    upstreams.add(upstream);
    client.on('data', (c) => upstream.write(c));
    upstream.on('data', (c) => client.destroyed || client.write(c));
    client.on('error', () => undefined);
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => (upstreams.delete(upstream), client.destroy()));
    client.on('close', () => clients.delete(client)); // the server's side is left as it is
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  return {
    url: (url: string) => Object.assign(new URL(url), { port: String(port) }).toString(),
    /** The engine's side of every connection open now is gone; PostgreSQL hears nothing. */
    partition: () => {
      const lingering = [...upstreams];
      for (const c of clients) c.destroy();
      return { giveUp: () => lingering.forEach((u) => u.destroy()) };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const transition = (to: string) => ({ kind: JournalKind.Transition, executionId: 'exec-part', advisoryId: 'adv-part', snapshotHash: null, to });

describe('a network cut PostgreSQL does not see', () => {
  let cleanup: (() => Promise<void>) | null = null;
  afterAll(async () => cleanup?.());

  it('the writer waits for its own lingering session to end, then writes what it queued', async () => {
    const proxy = await partitionProxy(Number(new URL(db.server().url).port));
    const store = await PostgresStore.connect(proxy.url(db.server().url), { writer: 'partitioned' });
    cleanup = async () => (await store.close(), await proxy.close());
    store.append(transition('before the cut'));
    await store.flush();
    const cut = proxy.partition();
    // The writer hears its connection end while idle (a reset reached the engine, not the server).
    await vi.waitFor(() => expect((store as unknown as { journal: { writerClient: unknown } }).journal.writerClient).toBeNull(), { timeout: 2_000, interval: 5 });
    store.append(transition('queued during the cut'));
    const during = await store.flush().then(() => null, (e: unknown) => e as { code: string; message: string });
    // Before: 'locked' ("writer partitioned is in use by another live connection"), for good: every later append refused.
    expect(during).toMatchObject({ code: 'unavailable' });
    cut.giveUp(); // the server's keepalive gives up on the old session: its lock is released
    await vi.waitFor(() => store.flush(), { timeout: 5_000, interval: 100 });
    expect((await store.records({ executionId: 'exec-part' })).map((r) => r.to)).toEqual(['before the cut', 'queued during the cut']);
    expect((await store.verify()).ok).toBe(true);
  }, 30_000);
});

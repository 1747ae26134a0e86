import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BrokerError, createEngine } from '../../src/index.js';
import { HttpBroker, startPaperService } from '../../src/entries/adapters.js';
import { silentLogger, snapshot } from '../support/fixtures.js';

const markets = { EURUSD: { price: 1.1, fillAfterMs: 30, slippageBps: 0 }, GBPUSD: { price: 1.3, fillAfterMs: 400, slippageBps: 0 } };
const order = (id: string, symbol = 'EURUSD') => ({ clientOrderId: id, symbol, side: 'buy' as const, quantity: 2, type: 'market' as const });
const tempFile = () => join(mkdtempSync(join(tmpdir(), 'warden-paper-')), 'paper.json');

describe('paper broker service and HttpBroker', () => {
  it('an engine executes end to end over HTTP: filled, protected, reconciled', async () => {
    const service = await startPaperService({ port: 0, latencyMs: [1, 2], markets });
    try {
      const engine = createEngine({ broker: new HttpBroker({ baseUrl: service.url }), logger: silentLogger(), pollIntervalMs: 20 });
      const s = snapshot({ createdAt: new Date(Date.now() - 60_000).toISOString(), expiresAt: new Date(Date.now() + 60_000).toISOString(), approval: { approvedBy: 'a', approvedAt: new Date(Date.now() - 30_000).toISOString() } });
      const result = await engine.execute(s);
      expect(result).toMatchObject({ status: 'filled', filledQuantity: 10, protectionPlaced: true, requiresManualResolution: false });
      expect(result.reconciliation?.status).toBe('matched');
      await engine.close();
    } finally {
      await service.close();
    }
  });

  it('keeps its book across its own restart, and fills that fell due while it was down happen on return', async () => {
    const stateFile = tempFile();
    const first = await startPaperService({ port: 0, latencyMs: [1, 1], markets, stateFile });
    const client = new HttpBroker({ baseUrl: first.url });
    await client.submitOrder(order('a-1'));
    await new Promise((r) => setTimeout(r, 80)); // a-1 fills (30 ms)
    await client.submitOrder(order('a-2', 'GBPUSD')); // fills at 400 ms: after the restart
    await first.close();
    const second = await startPaperService({ port: 0, latencyMs: [1, 1], markets, stateFile });
    try {
      const again = new HttpBroker({ baseUrl: second.url });
      expect((await again.getOrder({ clientOrderId: 'a-1' }))?.status).toBe('filled');
      expect((await again.submitOrder(order('a-1'))).brokerOrderId).toBe('P-1'); // idempotent across the restart
      await new Promise((r) => setTimeout(r, 450));
      expect((await again.getOrder({ clientOrderId: 'a-2' }))?.status).toBe('filled');
      expect((await again.getPosition('EURUSD')).quantity).toBe(2);
    } finally {
      await second.close();
    }
  });

  it('refuses an unreadable state file instead of overwriting it', async () => {
    const stateFile = tempFile();
    writeFileSync(stateFile, '{ truncated');
    await expect(startPaperService({ port: 0, markets, stateFile })).rejects.toThrow(/not readable.*refusing to overwrite/);
    expect(readFileSync(stateFile, 'utf8')).toBe('{ truncated');
  });

  it('classifies failures: refusals are definitive, 404 is "unknown order", 5xx and network errors are unknown outcomes', async () => {
    const service = await startPaperService({ port: 0, latencyMs: [1, 1], markets });
    const client = new HttpBroker({ baseUrl: service.url });
    try {
      expect(await client.getOrder({ clientOrderId: 'nope' })).toBeNull();
      const unlisted = await client.submitOrder(order('x', 'XAUUSD')).catch((e: unknown) => e);
      expect(unlisted).toBeInstanceOf(BrokerError);
      expect(unlisted).toMatchObject({ retryable: false, code: 'bad_symbol' });
      const cancelUnknown = await client.cancelOrder({ clientOrderId: 'nope' }).catch((e: unknown) => e);
      expect(cancelUnknown).toMatchObject({ retryable: false, code: 'unknown_order' });
    } finally {
      await service.close();
    }
    const down = await new HttpBroker({ baseUrl: service.url, timeoutMs: 500 }).submitOrder(order('y')).catch((e: unknown) => e);
    expect(down).toMatchObject({ retryable: true, code: 'network' });

    const failing = createServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"error":"maintenance"}');
    });
    await new Promise<void>((r) => failing.listen(0, '127.0.0.1', () => r()));
    const port = (failing.address() as { port: number }).port;
    const unavailable = await new HttpBroker({ baseUrl: `http://127.0.0.1:${port}` }).submitOrder(order('z')).catch((e: unknown) => e);
    expect(unavailable).toMatchObject({ retryable: true, code: 'http_503' });
    await new Promise((r) => failing.close(() => r(undefined)));
  });

  it('a request that never answers times out as an unknown outcome', async () => {
    const hanging = createServer(() => undefined);
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', () => r()));
    const port = (hanging.address() as { port: number }).port;
    const error = await new HttpBroker({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 50 }).submitOrder(order('t')).catch((e: unknown) => e);
    expect(error).toMatchObject({ retryable: true, code: 'timeout' });
    hanging.closeAllConnections();
    await new Promise((r) => hanging.close(() => r(undefined)));
  });
});

/**
 * A look-up's answer must be about the order asked for. docs/brokers.md (OANDA, "How failures are
 * classified"): "a look-up whose answer names another client id, or does not parse → unknown
 * outcome: never taken as an answer about this order". `getOrder` reads the order, then its
 * filling transaction (`GET /transactions/{id}`); a filling transaction that belongs to another
 * order (another `orderID`, another `clientOrderID`: a proxy's cache, a mixed-up answer) is such an
 * answer. Taken as this order's fill, its units and price become this execution's position and
 * the basis of its stop loss (rule 2).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerError } from '../../src/index.js';
import { OandaBroker } from '../../src/entries/adapters.js';

const ACCOUNT = '101-004-0000000-001';
let server: Server | null = null;
let broker: OandaBroker | null = null;
afterEach(async () => {
  broker?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = broker = null;
});

/** A v20 account whose order wd-mine FILLED points at the filling transaction of another order. */
async function lyingAccount(): Promise<string> {
  const routes: Record<string, unknown> = {
    [`/v3/accounts/${ACCOUNT}/instruments`]: { instruments: [{ name: 'EUR_USD', type: 'CURRENCY', displayPrecision: 5, tradeUnitsPrecision: 0, minimumTradeSize: '1' }], lastTransactionID: '9' },
    [`/v3/accounts/${ACCOUNT}/orders/@wd-mine`]: { order: { id: '6', state: 'FILLED', type: 'MARKET', instrument: 'EUR_USD', units: '1000', clientExtensions: { id: 'wd-mine' }, fillingTransactionID: '8' }, lastTransactionID: '9' },
    // Transaction 8 fills order 4 (another desk's wd-other), 5000 units at 1.2.
    [`/v3/accounts/${ACCOUNT}/transactions/8`]: { transaction: { id: '8', type: 'ORDER_FILL', orderID: '4', clientOrderID: 'wd-other', instrument: 'EUR_USD', units: '5000', price: '1.2', tradeOpened: { tradeID: '8', units: '5000', price: '1.2' } }, lastTransactionID: '9' },
  };
  server = createServer((req, res) => {
    const body = routes[(req.url ?? '').split('?')[0]!];
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? { errorCode: 'NO_SUCH_ORDER', errorMessage: 'not found' }));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

describe('OandaBroker: a filling transaction about another order', () => {
  it('is an unknown outcome (wrong_order), never this order\'s fill', async () => {
    broker = new OandaBroker({ token: 't', accountId: ACCOUNT, restUrl: await lyingAccount() });
    const answer = await broker.getOrder({ clientOrderId: 'wd-mine' }).then((r) => r, (e: unknown) => e);
    expect(answer).toBeInstanceOf(BrokerError);
    expect(answer).toMatchObject({ retryable: true, code: 'wrong_order' });
  });
});

/**
 * Wraps a broker so every request is journaled *before* it is sent and every answer or
 * failure after. Answers that arrive after the execution stopped listening are journaled too.
 */
import type { BrokerAdapter } from '../broker/types.js';
import { JournalKind } from '../journal/types.js';

export type BrokerCallRecorder = (kind: typeof JournalKind.BrokerRequest | typeof JournalKind.BrokerResponse | typeof JournalKind.BrokerError, method: string, payload: unknown) => void;

export function journaledBroker(broker: BrokerAdapter, record: BrokerCallRecorder): BrokerAdapter {
  const call = async <T>(method: string, args: unknown, send: () => Promise<T>): Promise<T> => {
    record(JournalKind.BrokerRequest, method, args);
    try {
      const answer = await send();
      record(JournalKind.BrokerResponse, method, answer);
      return answer;
    } catch (e) {
      record(JournalKind.BrokerError, method, e);
      throw e;
    }
  };
  const wrapped: BrokerAdapter = {
    name: broker.name,
    submitOrder: (req) => call('submitOrder', req, () => broker.submitOrder(req)),
    cancelOrder: (ref) => call('cancelOrder', ref, () => broker.cancelOrder(ref)),
    getOrder: (ref) => call('getOrder', ref, () => broker.getOrder(ref)),
    getPosition: (symbol) => call('getPosition', { symbol }, () => broker.getPosition(symbol)),
    placeProtection: (req) => call('placeProtection', req, () => broker.placeProtection(req)),
  };
  if (broker.subscribe) {
    const subscribe = broker.subscribe.bind(broker);
    return { ...wrapped, subscribe: (listener) => subscribe(listener) };
  }
  return wrapped;
}

export type { BrokerAdapter, ClientOrderIdDurability, OrderRef, OrderReport, OrderRequest, PositionReport, ProtectionReport, ProtectionRequest, Quote } from './types.js';
export { BrokerError, classifyBrokerFailure, toBrokerError, type BrokerErrorCode, type BrokerFailure } from './errors.js';
export { checkedBroker, type BrokerCall, type BrokerMethod, type BrokerObserver, type CancelItem, type CancelOutcome, type CheckedBroker, type CheckedBrokerOptions } from './checkedBroker.js';
export { PaperBroker, seededRandom, type PaperBrokerOptions, type PaperMarket, type PaperBrokerState } from './paperBroker.js';
export { Venue, type VenueState } from './venue.js';

export type { BrokerAdapter, ClientOrderIdDurability, OrderRef, OrderReport, OrderRequest, PositionReport, ProtectionReport, ProtectionRequest } from './types.js';
export { BrokerError, classifyBrokerFailure, type BrokerFailure } from './errors.js';
export { PaperBroker, seededRandom, type PaperBrokerOptions, type PaperMarket, type PaperBrokerState } from './paperBroker.js';
export { HttpBroker, type HttpBrokerOptions } from './httpBroker.js';
export { startPaperService, type PaperService, type PaperServiceOptions } from './paperService.js';
export { Venue, type VenueState } from './venue.js';
export * from './ccxt/index.js';

export type { BrokerAdapter, OrderRef, OrderReport, OrderRequest, PositionReport, ProtectionReport, ProtectionRequest } from './types.js';
export { BrokerError, classifyBrokerFailure, type BrokerFailure } from './errors.js';
export { PaperBroker, seededRandom, type PaperBrokerOptions, type PaperMarket } from './paperBroker.js';
export { Venue, type VenueState } from './venue.js';

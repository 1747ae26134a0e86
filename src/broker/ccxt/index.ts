export { CcxtBroker } from './ccxtBroker.js';
export { loadCcxt } from './connect.js';
export type { CcxtBrokerOptions, CcxtConnectOptions, CcxtExchange, CcxtMarket, CcxtOrder, CcxtPosition } from './types.js';
export { classifyCcxtError, classifySubmitError, type CcxtFailure, type CcxtFailureKind } from './errors.js';

export { CcxtBroker, loadCcxt, type CcxtBrokerOptions, type CcxtConnectOptions, type CcxtExchange, type CcxtMarket, type CcxtOrder, type CcxtPosition } from './ccxtBroker.js';
export { classifyCcxtError, type CcxtFailure, type CcxtFailureKind } from './errors.js';

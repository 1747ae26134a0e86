export { OandaBroker, OANDA_HOSTS, type OandaBrokerOptions, type OandaAccountCheck } from './oandaBroker.js';
export { instrumentMap } from './instruments.js';

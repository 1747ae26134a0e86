/**
 * `warden/adapters`: adapters for real and remote brokers — `CcxtBroker` (a venue through ccxt,
 * an optional peer dependency loaded only by `CcxtBroker.create`), `OandaBroker` (OANDA v20 over
 * `fetch`, no dependency), `HttpBroker` and the paper broker as an HTTP service.
 *
 * @example
 * import { CcxtBroker } from 'warden/adapters';
 * const broker = await CcxtBroker.create({ exchange: 'binanceusdm', apiKey, secret, sandbox: true });
 */
export { HttpBroker, type HttpBrokerOptions, type HttpCancelBatchOptions } from '../broker/httpBroker.js';
export { startPaperService, type PaperService, type PaperServiceOptions } from '../broker/paperService.js';
export * from '../broker/ccxt/index.js';
export * from '../broker/oanda/index.js';

export * from './protection.js';
export * from './slippage.js';
export * from './killSwitch.js';
export * from './preconditions.js';
export * from './orderReports.js';
export * from './reconciliation.js';
export * from './outcome.js';
export * from './polling.js';

/**
 * Warden: executes frozen, human-approved trade snapshots against a broker under six safety
 * rules, as an XState v5 statechart.
 */
export * from './domain/index.js';
export * from './broker/index.js';
export * from './engine/index.js';
export * from './journal/index.js';
/**
 * The six safety rules as pure functions, the same ones the statechart's guards call.
 *
 * @example
 * import { rules } from 'warden';
 * rules.protectiveLevels('buy', 1.1, -0.01, 0.02); // { stopLoss: 1.089, takeProfit: 1.122 }
 */
export * as rules from './rules/index.js';
export { executionMachine, createExecutionMachine, clientOrderIdFor, createAdvisoryRegistry, type ExecutionMachine, type ExecutionMachineDeps, type AdvisoryRegistry, type ExecutionContext, type ExecutionEvent, type ExecutionInput, type ExecutionHostEvent } from '../machines/execution.machine.js';

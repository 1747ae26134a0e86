/**
 * Warden: executes frozen, human-approved trade snapshots against a broker under six safety
 * rules, as an XState v5 statechart.
 */
export * from './domain/index.js';
export * from './broker/index.js';
export * from './engine/index.js';
export * from './journal/index.js';
export * as rules from './rules/index.js';
export { executionMachine, createExecutionMachine, clientOrderIdFor, createAdvisoryRegistry, type ExecutionMachine, type ExecutionMachineDeps, type AdvisoryRegistry, type ExecutionContext, type ExecutionEvent, type ExecutionInput } from '../machines/execution.machine.js';

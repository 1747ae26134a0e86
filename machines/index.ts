export * from './execution.machine.js';
export { buildExecutionResult, refusedResult, internalFailureResult } from './execution.result.js';

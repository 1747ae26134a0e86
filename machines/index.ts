export * from './execution.machine.js';
export { buildExecutionResult } from './execution.result.js';

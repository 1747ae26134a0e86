/**
 * `warden/console`: the operator console (a web app over a journal file), its Prometheus metrics
 * and the operator commands it shares with the CLI. Loads hono and prom-client, which the root
 * entry never does.
 *
 * @example
 * import { startConsole } from 'warden/console';
 * const running = await startConsole({ journal: 'data/warden.journal.sqlite', token: process.env.WARDEN_CONSOLE_TOKEN });
 * console.log(`console at ${running.url}`);
 */
export { startConsole, createConsoleApp, type ConsoleOptions, type RunningConsole } from '../console/server.js';
export { ConsoleView, type ConsoleSnapshot, type ExecutionView, type RecordSource } from '../console/view.js';
export { WardenMetrics, instrumentJournal } from '../console/metrics.js';
export { applyOperatorCommand, adminEngine, type OperatorOutcome } from '../engine/operator.js';
export { addOperator, readOperators, tokenDigest, type ConsoleOperator } from '../console/operators.js';

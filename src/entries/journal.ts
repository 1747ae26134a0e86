/**
 * `warden/journal`: tools for reading a journal — the human timeline of one execution, JSON Lines
 * export and import, and chain verification.
 *
 * @example
 * import { renderTimeline, executionTrail } from 'warden/journal';
 * console.log(renderTimeline(executionTrail(await engine.journal.records({ advisoryId }))));
 */
export { renderTimeline, executionTrail } from '../journal/timeline.js';
export { toJsonl, parseJsonl } from '../journal/jsonl.js';
export { verifyChain, GENESIS_HASH } from '../journal/hashChain.js';

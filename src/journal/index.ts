export * from './types.js';
export { MemoryJournal } from './memoryJournal.js';
export { SqliteJournal, type JournalWriter } from './sqliteJournal.js';
export { verifyChain, GENESIS_HASH } from './hashChain.js';
export { toJournalPayload, REDACTED } from './payload.js';
export { renderTimeline, executionTrail } from './timeline.js';
export { toJsonl, parseJsonl } from './jsonl.js';

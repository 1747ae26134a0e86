export * from './types.js';
export * from './capabilities.js';
export { MemoryJournal, MEMORY_JOURNAL_DEFAULT_MAX_RECORDS, type MemoryJournalOptions } from './memoryJournal.js';
export { verifyChain, GENESIS_HASH } from './hashChain.js';
export { toJournalPayload, REDACTED } from './payload.js';

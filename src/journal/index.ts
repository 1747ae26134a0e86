export * from './types.js';
export { MemoryJournal } from './memoryJournal.js';
export { verifyChain, GENESIS_HASH } from './hashChain.js';
export { toJournalPayload, REDACTED } from './payload.js';

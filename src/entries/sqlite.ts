/**
 * `warden/sqlite`: the durable journal on SQLite (better-sqlite3, a native module). Kept out of
 * the root entry so that `import 'warden'` loads no native code.
 *
 * @example
 * import { createEngine, PaperBroker } from 'warden';
 * import { SqliteJournal } from 'warden/sqlite';
 * const engine = createEngine({ broker: new PaperBroker(), journal: new SqliteJournal('data/warden.journal.sqlite') });
 */
export { SqliteJournal, type JournalWriter } from '../journal/sqliteJournal.js';
export type { ChainHead } from '../journal/sqliteIntegrity.js';
export { archiveJournal, type ArchiveOptions, type ArchiveOutcome } from '../journal/archive.js';
export { readArchive, verifyAcrossArchives, type ArchiveAudit } from '../journal/archiveAudit.js';

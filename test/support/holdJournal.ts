/** A second process for the writer-lock tests: opens a journal for writing, says so, and waits to be killed. */
import { SqliteJournal } from '../../src/journal/sqliteJournal.js';

const journal = new SqliteJournal(process.argv[2]!);
process.stdout.write(`ready ${process.pid}\n`);
setInterval(() => void journal, 1_000); // stays until killed

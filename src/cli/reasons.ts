/** The CLI's reasons are the journal's rendering of a result (`src/journal/reasons.ts`), shared with the console. */
export { reasonOf } from '../journal/reasons.js';

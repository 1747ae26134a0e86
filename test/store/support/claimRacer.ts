/**
 * A child process of the claim race: one PostgresStore (its own writer) claims every advisory of
 * the race, in its own random order, several at a time, and prints what it won.
 * Usage: node --import tsx claimRacer.ts <url> <advisories> <concurrency> <startAt ms since epoch>
 */
import { PostgresStore } from '../../../src/store/postgres/PostgresStore.js';
import { snapshot } from '../../support/fixtures.js';

const [url, countText, concurrencyText, startAtText] = process.argv.slice(2);
const count = Number(countText);
const concurrency = Number(concurrencyText);
const store = await PostgresStore.connect(url!, { writer: `racer-${process.pid}` });
// Connected: wait for the moment every racer starts at (bounded by the test's own timeout).
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAtText ?? 0) - Date.now())));
const ids = Array.from({ length: count }, (_, i) => `race-${i}`).sort(() => Math.random() - 0.5);
const claimed: string[] = [];
let duplicates = 0;
let errors = 0;
let next = 0;
const worker = async () => {
  while (next < ids.length) {
    const advisoryId = ids[next++]!;
    try {
      const outcome = await store.claim({
        advisoryId,
        executionId: `${advisoryId}-${process.pid}`,
        clientOrderId: `W-${advisoryId}`,
        deadlineAt: Date.parse('2030-01-01T00:00:30.000Z'),
        snapshot: snapshot({ advisoryId }),
        broker: 'paper',
      });
      if (outcome === 'claimed') claimed.push(advisoryId);
      else duplicates++;
    } catch {
      errors++;
    }
  }
};
await Promise.all(Array.from({ length: concurrency }, worker));
await store.close();
process.stdout.write(JSON.stringify({ pid: process.pid, claimed, duplicates, errors }));

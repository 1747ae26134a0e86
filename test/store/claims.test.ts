/**
 * Advisory claims across instances: exactly one claim per advisory, whoever races for it, and a
 * duplicate is an answer, never a crash. The race runs in real, separate processes.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useDatabase } from './support/database.js';
import { snapshot } from '../support/fixtures.js';

const db = useDatabase();

/** Processes racing, advisories each of them tries to claim, claims in flight per process. */
const RACERS = 4;
const ADVISORIES = 300;
const CONCURRENCY = 8;
/** Bound on one racing process (start-up included). */
const RACER_TIMEOUT_MS = 30_000;
/** Time for every racer to start and connect before they all begin at once. */
const RACER_START_DELAY_MS = 3_000;

const racer = fileURLToPath(new URL('./support/claimRacer.ts', import.meta.url));

const request = (advisoryId: string, clientOrderId = `W-${advisoryId}`) => ({
  advisoryId,
  executionId: `exec-${advisoryId}-${clientOrderId}`,
  clientOrderId,
  deadlineAt: Date.parse('2030-01-01T00:00:30.000Z'),
  snapshot: snapshot({ advisoryId, positionSize: 1 }),
  broker: 'paper',
});

describe('PostgresStore claims', () => {
  it('claims an advisory once: a second claim, or another advisory with the same clientOrderId, is a duplicate', async () => {
    const a = await db.open();
    const b = await db.open();
    expect(await a.claim(request('adv-1'))).toBe('claimed');
    expect(await b.claim(request('adv-1', 'W-other'))).toBe('duplicate');
    expect(await b.claim(request('adv-2', 'W-adv-1'))).toBe('duplicate');
    const claim = await b.claimed('adv-1');
    expect(claim).toMatchObject({ advisoryId: 'adv-1', clientOrderId: 'W-adv-1', writer: a.writer, broker: 'paper', snapshot: { advisoryId: 'adv-1', positionSize: 1, symbol: 'EURUSD' } });
    expect(await b.claimed('adv-2')).toBeNull();
  });

  it('a claim that resolved survives a server crash (immediate stop, WAL recovery)', async () => {
    const store = await db.open();
    expect(await store.claim(request('adv-durable'))).toBe('claimed');
    await db.server().suspend({ crash: true });
    await db.server().resume();
    expect((await store.claimed('adv-durable'))?.clientOrderId).toBe('W-adv-durable');
    expect(await store.claim(request('adv-durable', 'W-again'))).toBe('duplicate');
  });

  it(`${RACERS} processes racing for ${ADVISORIES} advisories: exactly one claim each`, async () => {
    const startAt = Date.now() + RACER_START_DELAY_MS;
    const started = performance.now();
    const runs = await Promise.all(
      // Every racer connects, then waits for the same moment to start: they really race.
      Array.from({ length: RACERS }, () =>
        promisify(execFile)(process.execPath, ['--import', 'tsx', racer, db.server().url, String(ADVISORIES), String(CONCURRENCY), String(startAt)], { timeout: RACER_TIMEOUT_MS }),
      ),
    );
    const results = runs.map((r) => JSON.parse(r.stdout) as { pid: number; claimed: string[]; duplicates: number; errors: number });
    const won = results.flatMap((r) => r.claimed);
    console.log(`claim race: ${RACERS} processes × ${ADVISORIES} advisories in ${Math.round(performance.now() - started)} ms; wins per process ${results.map((r) => r.claimed.length).join('/')}`);
    expect(results.map((r) => r.errors)).toEqual(Array(RACERS).fill(0));
    expect(won).toHaveLength(ADVISORIES);
    expect(new Set(won).size).toBe(ADVISORIES);
    for (const r of results) expect(r.claimed.length + r.duplicates).toBe(ADVISORIES);
    const store = await db.open();
    for (const id of ['race-0', `race-${ADVISORIES - 1}`]) {
      const claim = await store.claimed(id);
      expect(results.find((r) => r.claimed.includes(id))?.pid).toBe(Number(claim?.writer.replace('racer-', '')));
    }
  }, 60_000);
});

/**
 * How long new work may wait in the store's intake gate (no database: a pool double and fake
 * timers). A statement waits `INTAKE_WAIT_MS` at most, then it is refused with nothing sent; an
 * advisory's claim with its lease, one statement doing the work of a lease grant and a claim, may
 * wait what those two could together. Without that, one statement per advisory admitted no more
 * of a 150 ms burst than two had (each of the two had a wait of its own).
 */
import type pg from 'pg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { INTAKE_WAIT_MS, intakeGate } from '../../src/store/postgres/connection.js';

/** A pool that hands out connections at once; `released` counts what came back. */
function poolDouble() {
  let released = 0;
  const client = () => ({ release: () => void released++ }) as unknown as pg.PoolClient;
  const pool = { connect: () => Promise.resolve(client()), query: () => Promise.resolve({ rows: [] }) } as unknown as Pick<pg.Pool, 'query' | 'connect'>;
  return { pool, released: () => released };
}

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe('the intake gate: how long new work waits', () => {
  it('refuses a statement after INTAKE_WAIT_MS; one given twice that still waits, and gets the connection freed', async () => {
    const { pool, released } = poolDouble();
    const gate = intakeGate(pool, 1, INTAKE_WAIT_MS);
    const busy = await gate.connect(); // the one place, taken
    const plain = gate.connect().then(() => 'connected', (e: unknown) => (e as Error).message);
    const combined = gate.connectWithin(2 * INTAKE_WAIT_MS).then((c) => (c.release(), 'connected'), (e: unknown) => (e as Error).message);
    await vi.advanceTimersByTimeAsync(INTAKE_WAIT_MS + 1);
    expect(await plain).toMatch(`no connection for new work within ${INTAKE_WAIT_MS} ms`);
    busy.release();
    expect(await combined).toBe('connected');
    expect(released()).toBe(2);
  });

  it('refuses the combined statement too once twice the wait has passed', async () => {
    const { pool } = poolDouble();
    const gate = intakeGate(pool, 1, INTAKE_WAIT_MS);
    await gate.connect();
    const combined = gate.connectWithin(2 * INTAKE_WAIT_MS).then(() => 'connected', (e: unknown) => (e as Error).message);
    await vi.advanceTimersByTimeAsync(2 * INTAKE_WAIT_MS + 1);
    expect(await combined).toMatch(`no connection for new work within ${2 * INTAKE_WAIT_MS} ms`);
  });
});

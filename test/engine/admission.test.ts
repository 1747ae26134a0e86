/**
 * Admission (`loop.admit`, src/engine/loopBudget.ts): a burst of executions is started in slices so the event loop never stalls, and each
 * execution still reads its input when execute() is called — changing the object afterwards
 * changes nothing (rule 1), however long the execution waited to start.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createEngine, MemoryJournal } from '../../src/index.js';
import { rawSnapshot } from '../support/fixtures.js';
import { InstantBroker } from '../../bench/instantBroker.js';

describe('admission in slices', () => {
  it('a burst of 2,000 all settle, each as it was handed over, though the inputs change right after', async () => {
    // Which turn of the event loop each execution started in: a turn ends at each setImmediate.
    let turn = 0;
    const startedIn: number[] = [];
    const engine = createEngine({
      broker: new InstantBroker(),
      journal: new MemoryJournal(),
      logger: pino({ level: 'silent' }),
      inspect: (ev) => {
        if (ev.type === '@xstate.event' && ev.event.type === 'xstate.init' && ev.actorRef.sessionId === ev.rootId) startedIn.push(turn);
      },
    });
    let counting = true;
    const count = () => {
      turn++;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    const now = Date.now();
    const inputs = Array.from({ length: 2_000 }, (_, i) =>
      rawSnapshot({
        advisoryId: `burst-${i}`, symbol: `B${i % 20}`, positionSize: 3,
        createdAt: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 600_000).toISOString(),
        approval: { approvedBy: 'alice', approvedAt: new Date(now - 30_000).toISOString() },
      }),
    );
    const pending = inputs.map((input) => engine.execute(input));
    for (const input of inputs) {
      input.positionSize = 9_999; // the caller reuses its objects at once
      input.symbol = 'OTHER';
    }
    const results = await Promise.all(pending);
    counting = false;
    // In slices: the burst started over several turns, the first of them taking only part of it.
    expect(startedIn).toHaveLength(2_000);
    expect(startedIn.filter((t) => t === startedIn[0]).length).toBeLessThan(2_000);
    expect(new Set(startedIn).size).toBeGreaterThan(1);
    expect(results.map((r) => r.status)).toEqual(results.map(() => 'filled'));
    expect(new Set(results.map((r) => r.filledQuantity))).toEqual(new Set([3]));
    expect(new Set(results.map((r) => r.advisoryId)).size).toBe(2_000);
    await engine.close();
  }, 60_000);
});

/**
 * An advisory a store already holds (a plain re-run of one a previous process executed) is refused
 * in words a person reads: no error class name leaks into the result.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, MemoryJournal } from '../../../src/index.js';
import { ScriptedBroker, VirtualClock } from '../../../src/testing/index.js';
import { silentLogger, snapshot, T0 } from '../../support/fixtures.js';

describe('a duplicate claim on a store', () => {
  it('is rejected as duplicate_advisory with a message that names no class', async () => {
    const clock = new VirtualClock(T0);
    const broker = new ScriptedBroker({ clock });
    const journal = Object.assign(new MemoryJournal(clock), { claim: async () => 'duplicate' as const });
    const engine = createEngine({ broker, journal, clock, logger: silentLogger() });
    const result = await clock.run(engine.execute(snapshot({ advisoryId: 'again-1' })));
    expect(result.status).toBe('rejected');
    expect(result.error?.code).toBe('duplicate_advisory');
    expect(result.error?.message).toMatch(/already claimed \(a previous run executed it/);
    expect(result.error?.message).not.toMatch(/[A-Z][a-z]+Error/);
    expect(broker.callsOf('submitOrder')).toHaveLength(0);
    await engine.close();
  });
});

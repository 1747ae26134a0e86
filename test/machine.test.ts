import { createActor } from 'xstate';
import { describe, expect, it } from 'vitest';
import { createExecutionMachine } from '../machines/execution.machine.js';
import { ScriptedBroker, VirtualClock } from '../src/testing/index.js';
import { snapshot, T0 } from './support/fixtures.js';

describe('the execution machine used directly (as a child actor would be)', () => {
  it('reports an event no state handles instead of dropping it', async () => {
    const clock = new VirtualClock(T0);
    const machine = createExecutionMachine({ broker: new ScriptedBroker({ clock }), clock });
    const actor = createActor(machine, { input: { snapshot: snapshot() }, clock });
    const unhandled: string[] = [];
    actor.on('unhandled', (e) => unhandled.push(e.event.type));
    actor.start();
    // An event the chart does not know (a host's typo, or an old RESOLVE): reported, never dropped silently.
    actor.send({ type: 'RESOLVE', operator: 'carol', note: 'too early' } as never);
    expect(unhandled).toEqual(['RESOLVE']);
    expect(actor.getSnapshot().value).toBe('checkingLimits');
    actor.stop();
  });

  it('runs to completion on its own with createExecutionMachine({ broker })', async () => {
    const clock = new VirtualClock(T0);
    const broker = new ScriptedBroker({ clock });
    broker.onAccepted((o) => clock.setTimeout(() => broker.fillRemaining(o.clientOrderId, 1.1), 50));
    const actor = createActor(createExecutionMachine({ broker, clock }), { input: { snapshot: snapshot() }, clock }).start();
    await clock.run(new Promise<void>((resolve) => actor.subscribe((s) => s.hasTag('settled') && resolve())));
    expect(actor.getSnapshot().context.result?.status).toBe('filled');
  });
});

import { createActor } from 'xstate';
import { describe, expect, it } from 'vitest';
import { createExecutionMachine, executionMachine } from '../../machines/execution.machine.js';
import { guardLabel } from '../../scripts/machineDoc.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { snapshot, T0 } from '../support/fixtures.js';

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

  it('guards read only the context and their params: a deployment supplies no guard of its own', () => {
    const clock = new VirtualClock(T0);
    const deployed = createExecutionMachine({ broker: new ScriptedBroker({ clock }), clock, advisories: { has: () => true, claim: () => undefined } });
    const bare = executionMachine.implementations.guards;
    const names = Object.keys(bare);
    expect(names.length).toBeGreaterThan(20);
    // Built once, over no clock, registry or venue: every deployment judges with the very same functions.
    for (const name of names) expect(deployed.implementations.guards[name], name).toBe(bare[name]);
  });

  it('time and outside facts reach the guards as context data, read when the execution starts', () => {
    // The registry already knows the advisory and the clock stands two hours after the snapshot expired.
    const clock = new VirtualClock(T0 + 7_200_000);
    const machine = createExecutionMachine({ broker: new ScriptedBroker({ clock }), clock, advisories: { has: () => true, claim: () => undefined } });
    const actor = createActor(machine, { input: { snapshot: snapshot() }, clock }).start();
    expect(actor.getSnapshot().context.facts).toMatchObject({ now: T0 + 7_200_000, advisoryKnown: true });
    expect(actor.getSnapshot().context.result?.error?.code).toBe('snapshot_expired');
    // At the start the input gives, the same machine judges the advisory fresh, and refuses it as a duplicate.
    const again = createActor(machine, { input: { snapshot: snapshot(), startedAt: T0 }, clock }).start();
    expect(again.getSnapshot().context.result?.error?.code).toBe('duplicate_advisory');
  });

  it("rule 5's preconditions are written once, in checkingResend", () => {
    const preconditions = ['deadlinePassed', 'snapshotHashIntact', 'notExpired', 'submitAttemptsLeft', 'resendSafeOnVenue'];
    const where = new Map<string, Set<string>>();
    const walk = (node: typeof executionMachine.root) => {
      for (const t of [...(node.always ?? []), ...[...node.transitions.values()].flat()]) {
        for (const name of guardLabel(t.guard).match(/[A-Za-z]+/g) ?? []) (where.get(name) ?? where.set(name, new Set()).get(name)!).add(node.id);
      }
      for (const child of Object.values(node.states)) walk(child as typeof executionMachine.root);
    };
    walk(executionMachine.root);
    const resendStates = (name: string) => [...(where.get(name) ?? [])].filter((id) => id.startsWith('execution.live'));
    for (const name of preconditions) expect(resendStates(name), name).toEqual(['execution.live.trading.unconfirmed.checkingResend']);
  });
});

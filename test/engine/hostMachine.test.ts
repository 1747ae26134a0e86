/**
 * Warden embedded in a host's own XState machine: every ending reaches the parent's `onDone` with
 * the ExecutionResult as its output, and fills reach it as `warden.fill` events.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assign, createActor, sendTo, setup, toPromise } from 'xstate';
import { describe, expect, it } from 'vitest';
import { createExecutionMachine, type ExecutionHostEvent, type ExecutionResult, type FrozenSnapshot, type KillSwitchState } from '../../src/index.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { snapshot, T0 } from '../support/fixtures.js';
import { runHostExample } from '../../examples/host-machine.js';

type HostEvent = ExecutionHostEvent | { type: 'HALT' };

/** A parent that invokes one execution and keeps what it hears: its output, its fills, its settled event. */
function parentOf(broker: ScriptedBroker, clock: VirtualClock, s: FrozenSnapshot, killSwitch: KillSwitchState = 'off') {
  return setup({
    types: { context: {} as { fills: number[]; settled: string[] }, events: {} as HostEvent },
    actors: { execution: createExecutionMachine({ broker, clock }) },
  }).createMachine({
    context: { fills: [], settled: [] },
    initial: 'running',
    states: {
      running: {
        invoke: { id: 'exec', src: 'execution', input: { snapshot: s, executionId: 'child-1', killSwitch }, onDone: { target: 'over', actions: assign({ settled: ({ context, event }) => [...context.settled, `done:${event.output.status}`] }) } },
        on: {
          HALT: { actions: sendTo('exec', { type: 'KILL_SWITCH', state: 'active' }) },
          'warden.fill': { actions: assign({ fills: ({ context, event }) => [...context.fills, event.signedQuantity] }) },
          'warden.settled': { actions: assign({ settled: ({ context, event }) => [...context.settled, `${event.executionId}:${event.state}`] }) },
        },
      },
      over: { type: 'final' },
    },
  });
}

async function runParent(setupVenue: (broker: ScriptedBroker, clock: VirtualClock) => void, options: { killSwitch?: KillSwitchState; halt?: number; s?: FrozenSnapshot } = {}) {
  const clock = new VirtualClock(T0);
  const broker = new ScriptedBroker({ clock });
  setupVenue(broker, clock);
  const s = options.s ?? snapshot();
  const parent = createActor(parentOf(broker, clock, s, options.killSwitch), { clock });
  if (options.halt !== undefined) clock.setTimeout(() => parent.send({ type: 'HALT' }), options.halt);
  const done = toPromise(parent.start());
  await clock.run(done);
  return { context: parent.getSnapshot().context };
}

describe('a host machine invoking createExecutionMachine(...)', () => {
  it('filled: onDone carries the result, and each fill reached the parent as warden.fill', async () => {
    const { context } = await runParent((broker, clock) => broker.onAccepted((o) => clock.setTimeout(() => broker.fillRemaining(o.clientOrderId, 1.1), 50)));
    expect(context.settled).toEqual(['child-1:completed', 'done:filled']);
    expect(context.fills.at(-1)).toBe(10);
  });

  it('cancelled: a kill switch the parent sends during the order ends it, and onDone still fires', async () => {
    const { context } = await runParent(() => undefined, { halt: 1_000 });
    expect(context.settled).toEqual(['child-1:completed', 'done:cancelled']);
    expect(context.fills.length).toBeGreaterThan(0);
    expect(context.fills.every((q) => q === 0)).toBe(true);
  });

  it('rejected: the kill switch before (in the input) refuses it, nothing sent, onDone fires', async () => {
    const { context } = await runParent(() => undefined, { killSwitch: 'active' });
    expect(context.settled).toEqual(['child-1:rejected', 'done:rejected']);
  });

  it('timed out: nothing fills in 30 s, onDone fires with failed_timeout', async () => {
    const { context } = await runParent(() => undefined);
    expect(context.settled).toEqual(['child-1:completed', 'done:failed_timeout']);
  });

  it('flagged: a reconciliation mismatch is an ending too; the output says a person must look', async () => {
    let output: ExecutionResult | undefined;
    const clock = new VirtualClock(T0);
    const broker = new ScriptedBroker({ clock });
    broker.onAccepted((o) => clock.setTimeout(() => broker.fillRemaining(o.clientOrderId, 1.1), 50));
    broker.venue.setPosition('EURUSD', 1, 1); // someone else's position on the symbol: the venue disagrees
    const parent = createActor(
      setup({ actors: { execution: createExecutionMachine({ broker, clock }) } }).createMachine({
        initial: 'running',
        states: { running: { invoke: { src: 'execution', input: { snapshot: snapshot() }, onDone: { target: 'over', actions: ({ event }) => void (output = event.output) } } }, over: { type: 'final' } },
      }),
      { clock },
    );
    await clock.run(toPromise(parent.start()));
    expect(output?.status).toBe('filled');
    expect(output?.requiresManualResolution).toBe(true);
    expect(output?.reconciliation?.status).toBe('mismatch');
  });
});

describe('examples/host-machine.ts', () => {
  it('two advisories on one symbol, a durable claim and the kill switch: each output as expected', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-host-test-'));
    try {
      const clock = new VirtualClock(T0);
      const out = await runHostExample({ clock, dir, run: (p) => clock.run(p) });
      expect(Object.fromEntries(Object.entries(out.results).map(([k, r]) => [k, [r.status, r.filledQuantity, r.requiresManualResolution, r.error?.code ?? null]]))).toEqual({
        'host-a': ['filled', 1_000, false, null],
        'host-b': ['filled', 500, false, null],
        'host-c': ['rejected', 0, false, 'kill_switch_active'],
      });
      // The parent's ledger from warden.fill is what the venue holds; each reconciliation expected the other's fill.
      expect(out.fills).toEqual({ 'exec-a': 1_000, 'exec-b': 500 });
      expect(out.venuePosition).toBe(1_500);
      // The claim is durable: a new host on the same journal refuses the advisory again.
      expect([out.again.status, out.again.error?.code]).toEqual(['rejected', 'duplicate_advisory']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs as a script without the network and exits', async () => {
    const { execFile } = await import('node:child_process');
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = execFile(process.execPath, ['--import', 'tsx', 'examples/host-machine.ts'], { timeout: 60_000 }, (error, stdout) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout }));
      child.stdin?.end();
    });
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^host-c: rejected, 0 filled \(kill_switch_active\)$/m);
    expect(out.stdout).toMatch(/^host-a again after a restart: rejected \(duplicate_advisory\)$/m);
  }, 70_000);
});

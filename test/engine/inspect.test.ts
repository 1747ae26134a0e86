import { createInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import { describe, expect, it } from 'vitest';
import { harness, snapshot } from '../support/fixtures.js';

/** States the machine passes through inside one macrostep: they never appear in a snapshot. */
const TRANSIENT = new Set(['validating', 'live.trading.unconfirmed.checkingResend', 'live.assessing', 'live.stopping.checkingFinal', 'judging']);

const name = (value: unknown): string =>
  typeof value === 'string' ? value : Object.entries(value as object).map(([k, v]) => `${k}.${name(v)}`)[0]!;

describe('the inspect option with @statelyai/inspect', () => {
  it('streams every transition of an execution through a custom inspector adapter', async () => {
    const received: StatelyInspectionEvent[] = [];
    const inspector = createInspector({ send: (event) => void received.push(event) });
    const h = harness({ engine: { inspect: inspector.inspect } });
    h.broker.script.submit.push({ kind: 'fail' }); // a retry, so the path is not trivial
    h.fillOnAccept(2_000, 1.1);
    const result = await h.run(h.engine.execute(snapshot()));
    // @statelyai/inspect converts events in a zero-delay setTimeout; let that queue drain (no deadline is waited for).
    await new Promise((resolve) => setTimeout(resolve, 0));
    inspector.stop();

    const root = received.find((e) => e.type === '@xstate.actor' && (e as { definition?: string }).definition?.includes('"execution"'));
    expect(root, 'the execution actor was registered with the inspector').toBeDefined();
    const seen = received.filter((e) => e.type === '@xstate.snapshot' && e.sessionId === root!.sessionId).map((e) => name((e as { snapshot: { value: unknown } }).snapshot.value));

    const journalTargets = (await h.engine.journal.records({ executionId: result.executionId }))
      .filter((r) => r.kind === 'transition' && r.from !== r.to && !TRANSIENT.has(r.to!))
      .map((r) => r.to!);
    expect(journalTargets.length).toBeGreaterThan(5);
    // Every state the journal says the execution entered reached the inspector, in order.
    let i = 0;
    for (const state of seen) if (state === journalTargets[i]) i++;
    expect(journalTargets.slice(i), 'transitions the inspector never saw').toEqual([]);
    expect(seen.at(-1)).toBe('completed');
  });
});

describe('examples/inspect.ts', () => {
  it('runs without the network: prints each state of the execution and exits once it has ended', async () => {
    const { execFile } = await import('node:child_process');
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = execFile(process.execPath, ['--import', 'tsx', 'examples/inspect.ts'], { timeout: 60_000 }, (error, stdout) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout }));
      child.stdin?.end();
    });
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/live\.trading\.working[\s\S]*live\.protecting[\s\S]*completed/);
    expect(out.stdout).toMatch(/^filled: 1000 @ /m);
  }, 70_000);
});

/**
 * Where an execution's CPU goes, measured: the V8 sampling profiler (node:inspector, in this
 * process) over many clean executions against the instant broker, each sample's self time
 * attributed to a part by the source file it was in.
 */
import { Session } from 'node:inspector/promises';
import { pino } from 'pino';
import { createEngine } from '../src/index.js';
import { InstantBroker } from './instantBroker.js';
import { benchSnapshot, quick } from './util.js';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Parts, in the order they are tried: the first whose test matches a sample's frame takes it. */
const PARTS: readonly (readonly [string, (url: string, fn: string) => boolean])[] = [
  ['garbage collection', (_u, fn) => fn === '(garbage collector)'],
  ['XState (interpreter, assign, inspection events)', (u) => u.includes('/node_modules/xstate/')],
  ['journal (records, SHA-256, payload copy)', (u) => u.includes('/src/journal/') || u.includes('node:internal/crypto')],
  ['validation (zod, snapshot parsing, JSON copies)', (u) => u.includes('/node_modules/zod/') || /\/src\/domain\/(schemas|snapshot|json)\.ts/.test(u)],
  ['statechart definition (guards, actions, actors)', (u) => u.includes('/machines/')],
  ['engine wiring (inspection observer, ledger, registry)', (u) => u.includes('/src/engine/')],
  ['broker boundary (checkedBroker, rules)', (u) => u.includes('/src/broker/') || u.includes('/src/rules/')],
  ['the instant broker and the bench loop', (u) => u.includes('/bench/')],
  ['timers, promises and the rest of Node', () => true],
];

export interface Breakdown {
  readonly executions: number;
  readonly usPerExecution: number;
  readonly parts: readonly { readonly part: string; readonly us: number; readonly share: number }[];
}

export async function benchBreakdown(): Promise<Breakdown> {
  const n = quick ? 2_000 : 6_000;
  const engine = createEngine({ broker: new InstantBroker(), logger: pino({ level: 'silent' }) });
  for (let i = 0; i < 500; i++) await engine.execute(benchSnapshot(`W${i % 100}`)); // warm-up
  const snapshots = Array.from({ length: n }, (_, i) => benchSnapshot(`P${i % 100}`));
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  for (const s of snapshots) await engine.execute(s);
  const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
  session.disconnect();
  await engine.close();

  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const us = new Map<string, number>(PARTS.map(([part]) => [part, 0]));
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)?.callFrame;
    if (!frame || frame.functionName === '(idle)' || frame.functionName === '(program)') return;
    const part = PARTS.find(([, test]) => test(frame.url, frame.functionName))![0];
    us.set(part, us.get(part)! + profile.timeDeltas[i]!);
  });
  const total = [...us.values()].reduce((a, b) => a + b, 0);
  return {
    executions: n,
    usPerExecution: total / n,
    parts: [...us].map(([part, t]) => ({ part, us: t / n, share: t / total })).filter((p) => p.us > 0),
  };
}

import { pino } from 'pino';
import { createEngine } from '../src/index.js';
import { InstantBroker } from './instantBroker.js';
import { floorRunner } from './floor.js';
const floor = floorRunner(new InstantBroker());
import { benchSnapshot } from './util.js';
const engine = createEngine({ broker: new InstantBroker(), logger: pino({ level: 'silent' }) });
const per = 2000; const w: number[] = []; const f: number[] = [];
for (let r = -1; r < 7; r++) {
  const a = Array.from({ length: per }, (_, i) => benchSnapshot(`S${i % 100}`));
  const b = Array.from({ length: per }, (_, i) => benchSnapshot(`S${i % 100}`));
  let t = performance.now();
  for (const s of b) await floor(s);
  const fl = ((performance.now() - t) * 1000) / per;
  t = performance.now();
  for (const s of a) { const x = await engine.execute(s); if (x.status !== 'filled') throw new Error(x.status); }
  const wu = ((performance.now() - t) * 1000) / per;
  if (r >= 0) { w.push(wu); f.push(fl); }
}
const med = (x: number[]) => [...x].sort((p, q) => p - q)[x.length >> 1]!;
console.log(`warden ${med(w).toFixed(0)} µs, floor ${med(f).toFixed(0)} µs, ratio ${(med(w) / med(f)).toFixed(2)} (ratios ${w.map((x, i) => (x / f[i]!).toFixed(2)).join(' ')})`);
await engine.close();

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createEngine } from '../src/index.js';
import { SqliteJournal } from '../src/entries/sqlite.js';
import { InstantBroker } from './instantBroker.js';
import { benchSnapshot } from './util.js';
for (let run = 0; run < 3; run++) {
  const dir = mkdtempSync(join(tmpdir(), 'warden-dur-'));
  const engine = createEngine({ broker: new InstantBroker(), journal: new SqliteJournal(join(dir, 'j.sqlite')), logger: pino({ level: 'silent' }) });
  const N = 5000; let next = 0; const started = performance.now();
  const worker = async () => { while (next < N) { next++; const r = await engine.execute(benchSnapshot(`T${next % 200}`)); if (r.status !== 'filled') throw new Error(r.status); } };
  await Promise.all(Array.from({ length: 200 }, worker));
  console.log((N / ((performance.now() - started) / 1000)).toFixed(0), '/s');
  await engine.close(); rmSync(dir, { recursive: true, force: true });
}

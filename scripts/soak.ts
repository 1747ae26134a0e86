/**
 * `npm run soak -- --runs N [--seed S]`: many randomized executions (broker faults, fills,
 * disconnects, kill switches, and fast-check choosing the order of every broker answer), each
 * checked against every invariant. Prints the seed, the rate, and on failure the shrunk
 * counterexample with the command that replays it. `--venue oanda`: the same through OandaBroker
 * and the offline v20 venue over loopback (slower: a few runs per second).
 */
import fc from 'fast-check';
import { faultProperty } from '../test/support/faults.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const runs = Number(arg('--runs') ?? 10_000);
const seed = arg('--seed') !== undefined ? Number(arg('--seed')) : Math.floor(Math.random() * 2 ** 31);
if (!Number.isInteger(runs) || runs <= 0 || !Number.isInteger(seed)) {
  console.error('usage: npm run soak -- --runs N [--seed S] [--venue oanda]   (N and S whole numbers)');
  process.exit(2);
}

if (arg('--venue') === 'oanda') {
  const { runOandaSoak } = await import('../test/venues/oandaSoakRun.js');
  console.log(`soak: ${runs} executions through OandaBroker and the offline v20 venue, seed ${seed}`);
  const started = performance.now();
  try {
    const { statuses, partial } = await runOandaSoak({ seed, runs });
    const seconds = (performance.now() - started) / 1000;
    console.log(`\nsoak passed: ${runs} executions (${[...statuses].map(([k, n]) => `${k} ${n}`).join(', ')}; ${partial} partly filled), 0 invariant violations, no open trade ever without its stop, ${seconds.toFixed(1)} s, seed ${seed}`);
    process.exit(0);
  } catch (e) {
    console.error(`\nFAILED (seed ${seed}): ${e instanceof Error ? e.message : String(e)}\nreplay: npm run soak -- --venue oanda --runs ${runs} --seed ${seed}`);
    process.exit(1);
  }
}
console.log(`soak: ${runs} randomized executions, seed ${seed}`);
const started = performance.now();
let done = 0;
let lastReport = started;
const property = faultProperty(() => {
  done++;
  const now = performance.now();
  if (now - lastReport > 5_000) {
    lastReport = now;
    console.log(`  ${done} runs (${Math.round(done / ((now - started) / 1000))} runs/s)`);
  }
});
const details = await fc.check(property, { seed, numRuns: runs, endOnFailure: false });
const seconds = (performance.now() - started) / 1000;
if (details.failed) {
  console.error(`\nFAILED after ${details.numRuns} runs (seed ${seed}, path ${details.counterexamplePath})`);
  console.error(`counterexample (shrunk): ${fc.stringify(details.counterexample)}`);
  console.error(`error: ${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}`);
  console.error(`replay: npm run soak -- --runs ${runs} --seed ${seed}`);
  process.exit(1);
}
console.log(`\nsoak passed: ${details.numRuns} executions, 0 invariant violations, ${seconds.toFixed(1)} s (${Math.round(details.numRuns / seconds)} runs/s), seed ${seed}`);

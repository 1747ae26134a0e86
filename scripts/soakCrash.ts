/** `npm run soak:crash -- --trials N [--seed S]`: many kill/restart trials; prints every problem found. */
import { crashTrial } from '../test/crash/trial.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const trials = Number(arg('--trials') ?? 50);
const first = arg('--seed') !== undefined ? Number(arg('--seed')) : Math.floor(Math.random() * 1e6);
if (!Number.isInteger(trials) || trials <= 0 || !Number.isInteger(first)) {
  console.error('usage: npm run soak:crash -- --trials N [--seed S]');
  process.exit(2);
}
console.log(`soak:crash: ${trials} kill/restart trials, seeds ${first}…${first + trials - 1}`);
const started = performance.now();
let killed = 0;
let failures = 0;
let executions = 0;
let resumed = 0;
let trialsWithResumption = 0;
for (let t = 0; t < trials; t++) {
  const outcome = await crashTrial(first + t);
  if (outcome.killed) killed++;
  executions += outcome.results;
  resumed += outcome.unfinishedAtKill;
  if (outcome.unfinishedAtKill > 0) trialsWithResumption++;
  if (outcome.problems.length > 0) {
    failures++;
    console.error(`seed ${first + t} (killed after ${outcome.killAfterMs} ms): ${outcome.problems.join('; ')}`);
  }
  if ((t + 1) % 10 === 0) console.log(`  ${t + 1}/${trials} trials, ${failures} with problems`);
}
const seconds = (performance.now() - started) / 1000;
console.log(`\nsoak:crash ${failures === 0 ? 'passed' : 'FAILED'}: ${trials} trials, ${killed} killed by SIGKILL, ${trialsWithResumption} left executions unfinished (${resumed} resumed in all), ${executions} executions, ${failures} with duplicates, losses or unprotected fills; ${seconds.toFixed(0)} s`);
process.exit(failures === 0 ? 0 : 1);

/**
 * One engine process of a fleet test: an engine over a shared PostgreSQL store and a shared paper
 * broker service, driven by JSON lines on stdin, answering with JSON lines on stdout.
 * Usage: node --import tsx engineProcess.ts <databaseUrl> <brokerUrl> <writer>
 */
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { createEngine, type KillSwitchState } from '../../../src/index.js';
import { HttpBroker } from '../../../src/entries/adapters.js';
import { PostgresStore } from '../../../src/store/postgres/PostgresStore.js';

type Command = { cmd: 'execute'; snapshots: unknown[] } | { cmd: 'killSwitch'; state: KillSwitchState; reason: string } | { cmd: 'close' };

const [databaseUrl, brokerUrl, writer] = process.argv.slice(2);
const say = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);
const store = await PostgresStore.connect(databaseUrl!, { writer: writer! });
const engine = createEngine({ broker: new HttpBroker({ baseUrl: brokerUrl! }), journal: store, logger: pino({ level: 'silent' }), pollIntervalMs: 100 });
say({ type: 'ready', writer });

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as Command;
  if (command.cmd === 'execute') {
    void Promise.all(command.snapshots.map((s) => engine.execute(s))).then((results) => say({ type: 'results', results }));
  } else if (command.cmd === 'killSwitch') {
    engine.killSwitch.set(command.state, { reason: command.reason, operator: writer! });
    say({ type: 'killSwitchSet', at: Date.now() });
  } else {
    await engine.close();
    say({ type: 'closed' });
    break;
  }
}

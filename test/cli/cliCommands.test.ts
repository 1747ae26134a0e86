/**
 * One file per command, one table of them: every command the dispatcher knows is in the overview
 * `warden --help` prints and has its own usage text, and a name the table does not hold (even one
 * every JavaScript object inherits) is an unknown command, never a crash.
 */
import { describe, expect, it } from 'vitest';
import { COMMANDS, MAIN_HELP } from '../../src/cli/commands/index.js';
import { warden } from '../support/cli.js';

describe('the command table', () => {
  for (const [name, command] of Object.entries(COMMANDS)) {
    it(`lists ${name} in the overview and gives it its own usage`, () => {
      expect(MAIN_HELP).toMatch(new RegExp(`^  ${name} `, 'm'));
      expect(command.help).toMatch(new RegExp(`^usage: warden ${name}\\b`));
    });
  }

  it('says "unknown command" for a name it does not hold, inherited ones included', async () => {
    for (const name of ['main', 'constructor', 'frob']) {
      const r = await warden([name], 60_000);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(`warden: unknown command "${name}" (warden --help lists them)`);
    }
  }, 180_000);
});

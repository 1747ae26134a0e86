/**
 * The reading commands refuse what they do not understand, as the writing ones do: a symbol the
 * engine would not accept (`eurusd`, `EUR USD`), a stray argument (`kill-switch show off`), an
 * option that only another action takes (`limits show --symbol`, `journal show --full`). Each is one
 * usage line naming it (exit 2), before the journal is opened — never an answer to a question that
 * was not the one asked ("eurusd: off, holds: none" while EURUSD is halted).
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { applyOperatorCommand } from '../../src/engine/operator.js';
import { parse, UsageError, type Command } from '../../src/cli/args.js';
import { flagsCommand } from '../../src/cli/commands/flags.js';
import { journalCommand } from '../../src/cli/commands/journal.js';
import { killSwitchCommand } from '../../src/cli/commands/killSwitch.js';
import { limitsCommand } from '../../src/cli/commands/limits.js';
import { tempJournalPath } from '../support/crash.js';
import { warden } from '../support/cli.js';

/** A command run as `warden NAME …` runs it, in this process: its exit code, or the error it would print (exit 2 for a UsageError). */
async function run(name: string, spec: Command, argv: string[]): Promise<number | Error> {
  try {
    return await spec.run(parse(name, spec, argv), argv);
  } catch (e) {
    return e as Error;
  }
}

/** Expects a usage error (exit 2) whose line matches `message`, with nothing printed before it. */
async function refused(name: string, spec: Command, argv: string[], message: RegExp): Promise<void> {
  const printed = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const outcome = await run(name, spec, argv);
  expect(outcome).toBeInstanceOf(UsageError);
  expect((outcome as Error).message).toMatch(message);
  expect(printed).not.toHaveBeenCalled();
  printed.mockRestore();
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('warden kill-switch show refuses what it does not understand', () => {
  it('EURUSD active: a lower-case or spaced symbol and a stray argument are exit 2, naming them; the right symbol shows active', async () => {
    const path = tempJournalPath();
    expect((await applyOperatorCommand(path, { kind: 'kill_switch', state: 'active', symbol: 'EURUSD', reason: 'news', operator: 'ana' })).ok).toBe(true);
    const lower = await warden(['kill-switch', 'show', '--symbol', 'eurusd', '--journal', path]);
    expect(lower.code).toBe(2);
    expect(lower.stdout).toBe('');
    expect(lower.stderr).toMatch(/^warden: --symbol "eurusd": must be 1-32 upper-case characters .*\(did you mean EURUSD\?\)/);
    const spaced = await warden(['kill-switch', 'show', '--symbol', 'EUR USD', '--journal', path]);
    expect(spaced.code).toBe(2);
    expect(spaced.stderr).toMatch(/--symbol "EUR USD": must be 1-32 upper-case characters/);
    const stray = await warden(['kill-switch', 'show', 'off', '--journal', path]);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toMatch(/^warden: kill-switch show: unexpected argument "off"/);
    const right = await warden(['kill-switch', 'show', '--symbol', 'EURUSD', '--journal', path]);
    expect(right.code).toBe(0);
    expect(right.stdout).toMatch(/^EURUSD: active$/m);
  }, 60_000);

  it('show refuses the options only set takes; set refuses a stray argument, an unknown state and a malformed symbol, writing nothing', async () => {
    const path = tempJournalPath();
    expect((await applyOperatorCommand(path, { kind: 'kill_switch', state: 'warning', reason: 'x', operator: 'ana' })).ok).toBe(true);
    const before = readFileSync(path);
    await refused('kill-switch', killSwitchCommand, ['show', '--reason', 'r', '--operator', 'o', '--journal', path], /^kill-switch show does not take --reason, --operator/);
    await refused('kill-switch', killSwitchCommand, ['set', 'off', 'now', '--reason', 'r', '--operator', 'o', '--journal', path], /unexpected argument "now"/);
    await refused('kill-switch', killSwitchCommand, ['set', 'of', '--reason', 'r', '--operator', 'o', '--journal', path], /^kill-switch set needs a state: off, warning or active \(got "of"\)/);
    await refused('kill-switch', killSwitchCommand, ['set', 'active', '--symbol', 'eurusd', '--reason', 'r', '--operator', 'o', '--journal', path], /^--symbol "eurusd": .*did you mean EURUSD/);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('the checks come before the journal is opened: a missing journal is not what the operator hears about', async () => {
    const missing = tempJournalPath();
    await refused('kill-switch', killSwitchCommand, ['show', 'off', '--journal', missing], /unexpected argument "off"/);
    await refused('kill-switch', killSwitchCommand, ['show', '--symbol', 'eurusd', '--journal', missing], /--symbol "eurusd"/);
  });
});

describe('the other reading commands refuse what they do not understand', () => {
  it('limits show: an option of set (--symbol, a limit, --operator) is refused, not ignored; set refuses a malformed symbol', async () => {
    const path = tempJournalPath();
    expect((await applyOperatorCommand(path, { kind: 'kill_switch', state: 'warning', reason: 'x', operator: 'ana' })).ok).toBe(true);
    await refused('limits', limitsCommand, ['show', '--symbol', 'EURUSD', '--journal', path], /^limits show does not take --symbol/);
    await refused('limits', limitsCommand, ['show', '--max-position', '5', '--operator', 'o', '--journal', path], /^limits show does not take --max-position, --operator/);
    await refused('limits', limitsCommand, ['set', '--symbol', 'eurusd', '--max-position', '5', '--operator', 'o', '--reason', 'r', '--journal', path], /^--symbol "eurusd": .*did you mean EURUSD/);
    const shown = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    expect(await run('limits', limitsCommand, ['show', '--journal', path])).toBe(0);
    expect(shown).toHaveBeenCalled();
  });

  it('journal verify|show|export: a stray argument, or an option of another action, is refused', async () => {
    const path = tempJournalPath();
    expect((await applyOperatorCommand(path, { kind: 'kill_switch', state: 'warning', reason: 'x', operator: 'ana' })).ok).toBe(true);
    await refused('journal', journalCommand, ['verify', 'adv-1', '--journal', path], /^journal verify: unexpected argument "adv-1"/);
    await refused('journal', journalCommand, ['verify', '--jsonl', '--out', 'x.jsonl', '--journal', path], /^journal verify does not take --out, --jsonl/);
    await refused('journal', journalCommand, ['show', 'adv-1', '--full', '--journal', path], /^journal show does not take --full/);
    await refused('journal', journalCommand, ['export', 'adv-1', '--jsonl', '--journal', path], /^journal export: unexpected argument "adv-1"/);
    await refused('journal', journalCommand, ['export', '--jsonl', '--full', '--journal', path], /^journal export does not take --full/);
    await refused('journal', journalCommand, ['show', '--journal', path], /^journal show needs an ADVISORY/);
    const said = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    expect(await run('journal', journalCommand, ['verify', '--full', '--journal', path])).toBe(0);
    expect(said.mock.calls.flat().join('\n')).toMatch(/verified/);
  });

  it('flags takes no argument at all', async () => {
    await refused('flags', flagsCommand, ['EURUSD', '--journal', tempJournalPath()], /^flags: unexpected argument "EURUSD"/);
  });
});

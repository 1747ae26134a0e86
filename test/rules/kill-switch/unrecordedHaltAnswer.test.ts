/**
 * While the journal fails, an operator's change that halts more is applied and the operator is told
 * it was not recorded (README, "A journal that fails is fail-safe"; `src/engine/recordedControls.ts`).
 * Through the command inbox that is a third answer, neither success nor refusal: `ok: true` with
 * `unrecorded: true`. The CLI prints it as applied with a warning (exit 4, not a refusal's 1) and
 * the console shows it as applied with a warning notice: at night, "refused" reads as "nothing
 * stopped" and the operator acts on it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEngine, JournalError, PaperBroker, type Journal } from '../../../src/index.js';
import { SqliteJournal } from '../../../src/entries/sqlite.js';
import { createConsoleApp, ConsoleView, WardenMetrics } from '../../../src/entries/console.js';
import { tokenDigest } from '../../../src/console/operators.js';
import { MemoryJournal } from '../../../src/journal/memoryJournal.js';
import { parse } from '../../../src/cli/args.js';
import { killSwitchCommand } from '../../../src/cli/commands/killSwitch.js';
import { applyOperatorCommand } from '../../../src/engine/operator.js';
import { tempJournalPath } from '../../support/crash.js';
import { silentLogger } from '../../support/fixtures.js';

const UNRECORDED = /global off → active applied on this engine, but the journal could not record it .*set it again once the journal works/;

/** An engine on a journal file whose disk fills when the test says so. */
function engineOnAFillingDisk() {
  const path = tempJournalPath();
  const inner = new SqliteJournal(path);
  const disk = { full: false };
  const journal: Journal = {
    append: (e) => {
      if (disk.full) throw new JournalError('unavailable', 'SQLITE_FULL: database or disk is full');
      return inner.append(e);
    },
    readAll: () => inner.readAll(),
    records: (f) => inner.records(f),
    verify: () => inner.verify(),
    close: () => inner.close(),
  };
  const engine = createEngine({ broker: new PaperBroker({ markets: { EURUSD: { price: 1.1 } } }), journal: Object.assign(journal, { watchCommands: inner.watchCommands.bind(inner) }), logger: silentLogger() });
  return { path, disk, engine };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('an operator halts everything through the inbox while the disk is full', () => {
  it('the switch is active on the engine, and the answer is applied-but-not-recorded, not a refusal', async () => {
    const { path, disk, engine } = engineOnAFillingDisk();
    try {
      disk.full = true;
      const told = await applyOperatorCommand(path, { kind: 'kill_switch', state: 'active', reason: 'venue outage: stop everything', operator: 'ana' });
      expect(engine.killSwitch.state()).toBe('active'); // applied: stopping matters most
      expect(told.message).toMatch(UNRECORDED);
      expect(told.ok).toBe(true);
      expect(told.unrecorded).toBe(true);
    } finally {
      await engine.close();
    }
  });

  it('warden kill-switch set prints it as applied with a warning, exit 4: never "refused"', async () => {
    const printed = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const { path, disk, engine } = engineOnAFillingDisk();
    try {
      disk.full = true;
      const code = await killSwitchCommand.run(parse('kill-switch', killSwitchCommand, ['set', 'active', '--reason', 'venue outage', '--operator', 'ana', '--journal', path]), []);
      expect(engine.killSwitch.state()).toBe('active');
      expect(code).toBe(4);
      expect(printed.mock.calls.flat().join('\n')).toMatch(/applied on this engine, .*\(applied by the running engine, pid \d+\)/);
      const said = errors.mock.calls.flat().join('\n');
      expect(said).toMatch(/WARNING: the change is in force on the running engine but NOT recorded in its journal; a restart will not remember it/);
      expect(said).not.toMatch(/refused/);
    } finally {
      await engine.close();
    }
  });

  it('the console shows it as applied with a warning notice, never "refused"', async () => {
    const ANA = 'ana-token-0123456789abcdef';
    const { path, disk, engine } = engineOnAFillingDisk();
    const view = new ConsoleView(new MemoryJournal());
    const app = createConsoleApp({
      view,
      metrics: new WardenMetrics(view),
      store: path,
      token: null,
      operators: [{ name: 'ana', tokenSha256: tokenDigest(ANA) }],
      now: () => Date.parse('2026-03-02T10:00:00.000Z'),
      sessionMs: 60_000,
      act: (command) => applyOperatorCommand(path, command),
      readAdvisory: async () => null,
      subscribe: () => () => undefined,
    });
    const from = { incoming: { socket: { remoteAddress: '127.0.0.1' }, headers: { host: 'localhost:7080' } } };
    const post = (to: string, form: Record<string, string>, cookie = '') =>
      app.request(to, { method: 'POST', body: new URLSearchParams(form), headers: { origin: 'http://localhost', 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) } }, from);
    const get = (to: string, cookie: string) => app.request(to, { headers: { cookie } }, from);
    try {
      const cookie = (await post('/login', { token: ANA })).headers.get('set-cookie')!.split(';')[0]!;
      const csrf = /name="csrf" value="([^"]+)"/.exec(await (await get('/kill-switch', cookie)).text())![1]!;
      disk.full = true;
      const acted = await post('/stop-everything', { reason: 'venue outage', operator: '', confirmed: 'yes', csrf }, cookie);
      expect(acted.status).toBe(303);
      expect(engine.killSwitch.state()).toBe('active');
      const notice = /<div class="notice ([a-z]+)" id="notice">([^<]*)<\/div>/.exec(await (await get('/kill-switch', cookie)).text());
      expect(notice?.[1]).toBe('warn');
      expect(notice?.[2]).toMatch(/^applied, but NOT recorded — stopped everything: kill switch global off → active applied on this engine, but the journal could not record it/);
      expect(notice?.[2]).not.toMatch(/refused/);
    } finally {
      await engine.close();
    }
  });
});

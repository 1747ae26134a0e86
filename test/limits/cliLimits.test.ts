/** `warden run --limits FILE` and `warden limits show|set`, as an operator uses them. */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine, PaperBroker } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { warden } from '../support/cli.js';
import { silentLogger } from '../support/fixtures.js';

const raw = (advisoryId: string, positionSize: number) => ({
  advisoryId, symbol: 'EURUSD', side: 'buy', positionSize, referencePrice: 1.1, slOffsetPct: -0.01, tpOffsetPct: 0.02,
  createdAt: new Date(Date.now() - 60_000).toISOString(), expiresAt: new Date(Date.now() + 600_000).toISOString(),
  approval: { approvedBy: 'alice', approvedAt: new Date(Date.now() - 30_000).toISOString() },
});

describe('warden and the pre-trade limits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-limits-'));

  it('run --limits refuses a file it does not understand before opening anything, naming the file and the field', async () => {
    const journal = join(dir, 'never.sqlite');
    const snapshots = join(dir, 'one.json');
    writeFileSync(snapshots, JSON.stringify(raw('lim-0', 1)));
    const cases: [string, RegExp][] = [
      ['{"symbols": {"*": {"maxQty": 5}}}', /--limits .*bad-0\.json: .*maxQty/],
      ['{"symbols": {"EURUSD": {"maxQuantity": -5}}}', /--limits .*bad-1\.json: limits\.symbols\.EURUSD\.maxQuantity: must be a positive number/],
      ['{"symbols": {"*": {"maxQuantity": 5}},}', /--limits .*bad-2\.json: not JSON/],
    ];
    for (const [i, [text, message]] of cases.entries()) {
      const file = join(dir, `bad-${i}.json`);
      writeFileSync(file, text);
      const r = await warden(['run', snapshots, '--journal', journal, '--limits', file]);
      expect(r.code, text).toBe(2);
      expect(r.stderr.trim(), text).toMatch(message);
    }
    expect(existsSync(journal)).toBe(false);
  }, 60_000);

  it('run --limits refuses an order above a limit, and limits show prints what the journal recorded', async () => {
    const journal = join(dir, 'run.sqlite');
    const limits = join(dir, 'limits.json');
    writeFileSync(limits, JSON.stringify({ symbols: { '*': { maxQuantity: 5 } }, maxOrdersPerMinute: 30 }));
    const snapshots = join(dir, 'batch.json');
    writeFileSync(snapshots, JSON.stringify([raw('lim-1', 5), raw('lim-2', 6)]));
    const r = await warden(['run', snapshots, '--journal', journal, '--limits', limits, '--json'], 60_000);
    expect(r.code).toBe(1);
    const results = JSON.parse(r.stdout) as { advisoryId: string; status: string; error: { code: string; message: string } | null }[];
    expect(results.map((x) => [x.advisoryId, x.status, x.error?.code ?? null])).toEqual([
      ['lim-1', 'filled', null],
      ['lim-2', 'rejected', 'limit_quantity'],
    ]);
    expect(results[1]!.error!.message).toBe('maxQuantity 5 on EURUSD: the order is for 6');
    const shown = await warden(['limits', 'show', '--journal', journal]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/set when the engine started/);
    expect(shown.stdout).toMatch(/\* \(default\)\s+maxQuantity 5/);
    expect(shown.stdout).toMatch(/all symbols together: maxOrdersPerMinute 30/);
    const explained = await warden(['journal', 'show', 'lim-2', '--journal', journal]);
    expect(explained.stdout).toMatch(/validating → checkingLimits/);
    // The two snapshots run at once: lim-1 was admitted (5 reserved, counted) when lim-2 was checked.
    expect(explained.stdout).toMatch(/limits checked: position 0 \(\+5 in open orders\), 1 earlier order\(s\) in the last minute/);
    expect(explained.stdout).toMatch(/= rejected {2}\(limit_quantity: maxQuantity 5 on EURUSD: the order is for 6\)/);
  }, 60_000);

  it('limits set tightens the running engine through its inbox, journaled; loosening and an idle journal are refused', async () => {
    const path = join(dir, 'live.sqlite');
    const engine = createEngine({ broker: new PaperBroker({ seed: 1, markets: { EURUSD: { price: 1.1 } } }), journal: new SqliteJournal(path), logger: silentLogger(), limits: { symbols: { '*': { maxQuantity: 10 } } } });
    try {
      const set = await warden(['limits', 'set', '--symbol', 'EURUSD', '--max-position', '50', '--max-quantity', '4', '--operator', 'ana', '--reason', 'thin market', '--journal', path]);
      expect(set.code, set.stderr).toBe(0);
      expect(set.stdout).toMatch(/limits tightened.*applied by the running engine, pid \d+/);
      expect(engine.limits.current().symbols.EURUSD).toEqual({ maxPosition: 50, maxQuantity: 4 });
      const looser = await warden(['limits', 'set', '--max-quantity', '20', '--operator', 'ana', '--reason', 'more room', '--journal', path]);
      expect(looser.code).toBe(2); // refused, as the same command is with no engine running
      expect(looser.stderr).toMatch(/refused: limits can only be tightened .*symbols\.\*\.maxQuantity: 10 → 20/);
      expect(engine.limits.current().symbols['*']).toEqual({ maxQuantity: 10 });
      const noFigure = await warden(['limits', 'set', '--operator', 'ana', '--reason', 'r', '--journal', path]);
      expect(noFigure.code).toBe(2);
      expect(noFigure.stderr).toMatch(/limits set needs at least one of --max-quantity/);
      const notNumber = await warden(['limits', 'set', '--max-position', 'lots', '--operator', 'ana', '--reason', 'r', '--journal', path]);
      expect(notNumber.stderr.trim()).toBe('warden: --max-position must be a number, got lots');
    } finally {
      await engine.close();
    }
    const shown = await warden(['limits', 'show', '--journal', path]);
    expect(shown.stdout).toMatch(/tightened by ana: thin market/);
    expect(shown.stdout).toMatch(/EURUSD\s+maxQuantity 4\s+maxPosition 50/);
    const idle = await warden(['limits', 'set', '--max-quantity', '1', '--operator', 'ana', '--reason', 'r', '--journal', path]);
    expect(idle.code).toBe(2);
    expect(idle.stderr).toMatch(/no engine is running on .*: limits are set when an engine starts/);
  }, 60_000);
});

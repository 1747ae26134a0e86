import { describe, expect, it } from 'vitest';
import { harness, capturingLogger, snapshot } from '../support/fixtures.js';

describe('failure 8: protective order rejected or lost', () => {
  const cases = [
    ['refused (definitive)', { kind: 'refuse', reason: 'reduce-only rejected' }, 'missing_sl_tp'],
    ['answered rejected', { kind: 'rejectedReport', reason: 'price outside band' }, 'missing_sl_tp'],
    ['acknowledged but lost', { kind: 'lose' }, 'missing_sl_tp'],
  ] as const;
  for (const [name, step, status] of cases) {
    it(`${name}: flagged unprotected, symbol halted, alert logged`, async () => {
      const { logger, lines } = capturingLogger();
      const h = harness({ engine: { logger } });
      const s = snapshot();
      h.fillOnAccept(100, 1.1);
      h.broker.script.protection.push(step);
      const result = await h.finish(s);
      expect(result.reconciliation?.status).toBe(status);
      expect(result.requiresManualResolution).toBe(true);
      expect(h.engine.killSwitch.state('EURUSD')).toBe('warning');
      expect(lines.some((l) => l.level === 40 && /manual resolution/.test(l.msg) && l.advisoryId === s.advisoryId)).toBe(true);
    });
  }

  it('unknown outcome three times: retried with the same id, then flagged', async () => {
    const h = harness();
    const s = snapshot();
    h.fillOnAccept(100, 1.1);
    h.broker.script.protection.push({ kind: 'fail' }, { kind: 'fail' }, { kind: 'fail' });
    const result = await h.finish(s);
    expect(new Set(h.broker.callsOf('placeProtection').map((c) => (c.args as { clientOrderId: string }).clientOrderId)).size).toBe(1);
    expect(result.error?.code).toBe('protection_failed');
    expect(result.requiresManualResolution).toBe(true);
  });
});

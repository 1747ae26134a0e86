import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { executionMachine } from '../machines/execution.machine.js';
import { renderMachineDoc } from '../scripts/machineDoc.js';

describe('docs/execution-machine.md', () => {
  it('is exactly what the machine generates (run `npm run docs` after changing the machine)', () => {
    const committed = readFileSync('docs/execution-machine.md', 'utf8');
    expect(committed).toBe(renderMachineDoc(executionMachine, 'machines/execution.machine.ts'));
  });

  it('names every guard of the machine in the diagram or the table', () => {
    const doc = renderMachineDoc(executionMachine, 'machines/execution.machine.ts');
    for (const guard of ['killSwitchAllowsEntry', 'snapshotHashIntact', 'fillPriceKnown', 'deadlinePassed', 'submitAttemptsLeft', 'resendSafeOnVenue', 'killSwitchCancelsOrders', 'anyQuantityFilled', 'reconciliationMatched']) {
      expect(doc).toContain(guard);
    }
  });
});

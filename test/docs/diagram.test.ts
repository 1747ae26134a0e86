import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { executionMachine } from '../../machines/execution.machine.js';
import { guardLabel, renderMachineDoc } from '../../scripts/machineDoc.js';

describe('docs/execution-machine.md', () => {
  it('is exactly what the machine generates (run `npm run docs` after changing the machine)', () => {
    const committed = readFileSync('docs/execution-machine.md', 'utf8');
    expect(committed).toBe(renderMachineDoc(executionMachine, 'machines/execution.machine.ts'));
  });

  it('names every guard of the machine in the diagram or the table, and the chart uses every guard it defines', () => {
    const doc = renderMachineDoc(executionMachine, 'machines/execution.machine.ts');
    const defined = Object.keys(executionMachine.implementations.guards);
    // The guards the chart's transitions name, read off the machine itself (inside `and`/`not` too).
    const used = new Set<string>();
    const walk = (node: typeof executionMachine.root) => {
      for (const t of [...(node.always ?? []), ...[...node.transitions.values()].flat()]) for (const name of guardLabel(t.guard).match(/[A-Za-z]+/g) ?? []) used.add(name);
      for (const child of Object.values(node.states)) walk(child as typeof executionMachine.root);
    };
    walk(executionMachine.root);
    expect(defined.length).toBeGreaterThan(25);
    expect(defined.filter((g) => !used.has(g)), 'guards defined but never used by the chart').toEqual([]);
    expect([...used].filter((g) => !defined.includes(g)), 'guards the chart names but never defines').toEqual([]);
    expect(defined.filter((g) => !doc.includes(g)), 'guards missing from the generated doc').toEqual([]);
  });
});

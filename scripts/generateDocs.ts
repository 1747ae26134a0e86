/** `npm run docs`: regenerates the documents that are derived from code. */
import { readFileSync, writeFileSync } from 'node:fs';
import { executionMachine } from '../machines/execution.machine.js';
import { renderMachineDoc } from './machineDoc.js';
import { TESTING_DOC_PATH, updateTestingDoc } from './testingDoc.js';

export const MACHINE_DOC_PATH = 'docs/execution-machine.md';

writeFileSync(MACHINE_DOC_PATH, renderMachineDoc(executionMachine, 'machines/execution.machine.ts'));
console.log(`wrote ${MACHINE_DOC_PATH}`);

writeFileSync(TESTING_DOC_PATH, updateTestingDoc(readFileSync(TESTING_DOC_PATH, 'utf8')));
console.log(`wrote ${TESTING_DOC_PATH}`);

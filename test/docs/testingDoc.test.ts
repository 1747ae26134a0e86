/** docs/testing.md carries a map of the test tree generated from the tree itself, and it is current. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { casesIn, mapProblems, purposeOf, renderTestMap, TEST_FOLDERS, TESTING_DOC_PATH, testFolders, updateTestingDoc } from '../../scripts/testingDoc.js';

describe('docs/testing.md', () => {
  it('its test map is what the test tree generates (run `npm run docs` after adding, moving or renaming a test)', () => {
    const doc = readFileSync(TESTING_DOC_PATH, 'utf8');
    expect(doc).toBe(updateTestingDoc(doc));
  });

  it('the map names every test file of the tree, this one included', () => {
    const map = renderTestMap();
    for (const file of ['test/docs/testingDoc.test.ts', 'test/docs/architecture.test.ts', 'test/paths/paths.test.ts', 'test/failures/01-ambiguousSubmit.test.ts']) expect(map).toContain(`(../${file})`);
  });

  it('is a map: every test file sits in a folder, and every folder says in one line what rule or failure class it covers', () => {
    expect(mapProblems()).toEqual([]);
    for (const folder of testFolders()) expect(renderTestMap()).toContain(`### \`${folder}/\`\n\n${TEST_FOLDERS[folder]}\n`);
  });

  it('names a test file at the root and a folder without its line, and lists known folders first, in their order', () => {
    const root = mkdtempSync(join(tmpdir(), 'warden-testmap-'));
    for (const dir of ['zeta', 'alpha']) mkdirSync(join(root, dir));
    writeFileSync(join(root, 'stray.test.ts'), "it('a', () => {})");
    writeFileSync(join(root, 'zeta', 'z.test.ts'), "it('z', () => {})");
    writeFileSync(join(root, 'alpha', 'a.test.ts'), "it('a', () => {})");
    const r = root.split('\\').join('/');
    expect(mapProblems(r)).toEqual([
      `${r}/stray.test.ts sits at the root of ${r}/: move it into the folder of the rule or failure class it tests`,
      `${r}/alpha/ does not say what it covers: give it a line in TEST_FOLDERS (scripts/testingDoc.ts)`,
      `${r}/zeta/ does not say what it covers: give it a line in TEST_FOLDERS (scripts/testingDoc.ts)`,
    ]);
    expect(testFolders().slice(0, 6)).toEqual(['test/rules/frozen-snapshot', 'test/rules/protection', 'test/rules/kill-switch', 'test/rules/timeout', 'test/rules/retries', 'test/rules/reconciliation']);
  });

  it('reads a purpose from the header, or from the first describe, and counts the cases', () => {
    expect(purposeOf('/**\n * Rule 4: the deadline. More words.\n */\ndescribe("x", () => {})')).toBe('Rule 4: the deadline.');
    expect(purposeOf("describe('the kill switch | scoped', () => {})")).toBe('the kill switch \\| scoped');
    expect(casesIn("it('a', () => {});\n  it.each([1])('b', () => {});\nit('c', async () => {})")).toBe(3);
  });
});

/** docs/testing.md carries a map of the test tree generated from the tree itself, and it is current. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { casesIn, purposeOf, renderTestMap, TESTING_DOC_PATH, updateTestingDoc } from '../../scripts/testingDoc.js';

describe('docs/testing.md', () => {
  it('its test map is what the test tree generates (run `npm run docs` after adding, moving or renaming a test)', () => {
    const doc = readFileSync(TESTING_DOC_PATH, 'utf8');
    expect(doc).toBe(updateTestingDoc(doc));
  });

  it('the map names every test file of the tree, this one included', () => {
    const map = renderTestMap();
    for (const file of ['test/docs/testingDoc.test.ts', 'test/docs/architecture.test.ts', 'test/paths/paths.test.ts', 'test/failures/01-ambiguousSubmit.test.ts']) expect(map).toContain(`(../${file})`);
  });

  it('reads a purpose from the header, or from the first describe, and counts the cases', () => {
    expect(purposeOf('/**\n * Rule 4: the deadline. More words.\n */\ndescribe("x", () => {})')).toBe('Rule 4: the deadline.');
    expect(purposeOf("describe('the kill switch | scoped', () => {})")).toBe('the kill switch \\| scoped');
    expect(casesIn("it('a', () => {});\n  it.each([1])('b', () => {});\nit('c', async () => {})")).toBe(3);
  });
});

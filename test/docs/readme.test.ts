/**
 * The README's first example runs as written (its imports pointed at this checkout): no fixed
 * dates that expire, no names the package does not export.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ENTRIES: Record<string, string> = {
  warden: 'src/index.ts',
  'warden/sqlite': 'src/entries/sqlite.ts',
  'warden/adapters': 'src/entries/adapters.ts',
  'warden/journal': 'src/entries/journal.ts',
  'warden/testing': 'src/testing/index.ts',
  'warden/console': 'src/entries/console.ts',
};

/** The TypeScript blocks under a README heading. */
function blocksUnder(heading: string): string[] {
  const readme = readFileSync('README.md', 'utf8');
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no "## ${heading}" section`);
  const end = readme.indexOf('\n## ', start + 4);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe('README examples', () => {
  it('"Using it" runs as written against the package’s entry points', async () => {
    const [example] = blocksUnder('Using it');
    expect(example).toBeDefined();
    const code = example!.replace(/from '(warden(?:\/[a-z]+)?)'/g, (_, name: string) => {
      const target = ENTRIES[name];
      if (!target) throw new Error(`the README imports ${name}, which the package does not export`);
      return `from ${JSON.stringify(resolve(target))}`;
    });
    mkdirSync('.scratch', { recursive: true });
    const file = join('.scratch', 'readme-using-it.ts');
    writeFileSync(file, `${code}\nconsole.log(JSON.stringify({ status: result.status, protectionPlaced: result.protectionPlaced }));\n`);
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file], { timeout: 60_000 });
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({ status: 'filled', protectionPlaced: true });
  }, 60_000);
});

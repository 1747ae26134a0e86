#!/usr/bin/env node
// The `warden` command. Installed as a dependency, it runs the compiled CLI (dist/) with plain
// Node; in a clone of the repository (where src/ exists) it runs the TypeScript source through
// tsx, so a stale build can never stand in for the code being worked on.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';

const source = fileURLToPath(new URL('../src/cli/warden.ts', import.meta.url));
const built = fileURLToPath(new URL('../dist/src/cli/warden.js', import.meta.url));
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(source).href);
} else if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  console.error('warden: the compiled CLI is missing (dist/src/cli/warden.js); reinstall the package');
  process.exit(1);
}

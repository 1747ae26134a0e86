#!/usr/bin/env node
// The `warden` command: the compiled CLI when the package is built, the TypeScript source otherwise.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';

const built = fileURLToPath(new URL('../dist/src/cli/warden.js', import.meta.url));
if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/warden.ts', import.meta.url).href);
}

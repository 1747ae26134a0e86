/**
 * `warden console` as an operator starts it: it prints where it listens, serves the journal, takes
 * its token from the environment or an owner-only file (never a flag), and stops on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine, PaperBroker } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { warden } from '../support/cli.js';
import { silentLogger } from '../support/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-cli-console-'));
const journal = join(dir, 'j.sqlite');

async function aJournal(): Promise<void> {
  const engine = createEngine({ broker: new PaperBroker(), journal: new SqliteJournal(journal), logger: silentLogger() });
  engine.killSwitch.set('warning', { symbol: 'EURUSD', reason: 'cli test', operator: 'ops' });
  await engine.close();
}

/** Starts `warden console`, resolves with its URL once it listens; the process is stopped by the caller. */
function serve(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['bin/warden.mjs', 'console', '--journal', journal, '--port', '0', ...args], { env: { ...process.env, ...env } });
  let out = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /console at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, url, exited, output: () => out };
}

describe('warden console', () => {
  it('serves the journal read-only without a token, and stops cleanly on SIGTERM', async () => {
    await aJournal();
    const c = serve([], { WARDEN_CONSOLE_TOKEN: '' });
    const url = await c.url;
    expect(c.output()).toMatch(/read-only/);
    const page = await (await fetch(new URL('/kill-switch', url))).text();
    expect(page).toContain('cli test');
    c.child.kill('SIGTERM');
    expect(await c.exited).toBe(0);
  }, 30_000);

  it('creates an owner-only token file when missing, and refuses one others can read', async () => {
    const tokenFile = join(dir, 'secrets', 'console.token');
    const c = serve(['--token-file', tokenFile], { WARDEN_CONSOLE_TOKEN: '' });
    await c.url;
    expect(c.output()).toContain(`operator token written to ${tokenFile}`);
    expect(c.output()).not.toContain(readFileSync(tokenFile, 'utf8').trim());
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    c.child.kill('SIGTERM');
    await c.exited;
    const loose = join(dir, 'loose.token');
    writeFileSync(loose, 'a-token-long-enough-1234567890');
    chmodSync(loose, 0o644);
    const r = await warden(['console', '--journal', journal, '--port', '0', '--token-file', loose]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/readable by others .*chmod 600/);
  }, 30_000);

  it('add-operator prints a token once; signed in with it, what the operator does is journaled under their name', async () => {
    await aJournal();
    const operators = join(dir, 'ops', 'operators.json');
    const added = await warden(['console', 'add-operator', 'dana', '--operators', operators]);
    expect(added.code).toBe(0);
    const token = added.stdout.trim().split('\n').at(-1)!;
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(operators, 'utf8')).not.toContain(token);
    expect(statSync(operators).mode & 0o777).toBe(0o600);
    expect((await warden(['console', 'add-operator', 'dana', '--operators', operators])).stderr).toMatch(/already exists/);
    const c = serve(['--operators', operators], { WARDEN_CONSOLE_TOKEN: '' });
    const url = (await c.url).replace(/\/$/, '');
    expect(c.output()).toMatch(/1 named operator\(s\) sign in with their own token/);
    const login = await fetch(`${url}/login`, { method: 'POST', body: new URLSearchParams({ token }), headers: { origin: url }, redirect: 'manual' });
    expect(login.status).toBe(303);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(await (await fetch(`${url}/kill-switch`, { headers: { cookie } })).text())![1]!;
    const set = await fetch(`${url}/kill-switch`, { method: 'POST', body: new URLSearchParams({ state: 'warning', symbol: 'GBPUSD', reason: 'cable news', operator: 'someone-else', csrf }), headers: { origin: url, cookie }, redirect: 'manual' });
    expect(set.status).toBe(303);
    c.child.kill('SIGTERM');
    await c.exited;
    const change = new SqliteJournal(journal, undefined, { readOnly: true }).readAll().findLast((r) => r.kind === 'kill_switch')?.payload as { operator: string; symbol: string };
    expect(change).toMatchObject({ operator: 'dana', symbol: 'GBPUSD' });
    expect((await warden(['console', '--journal', journal, '--port', '0', '--operators', join(dir, 'none.json')])).stderr).toMatch(/no operators file at/);
  }, 30_000);

  it('refuses an address beyond loopback unless allowed, and a missing journal', async () => {
    const remote = await warden(['console', '--journal', journal, '--port', '0', '--host', '0.0.0.0']);
    expect(remote.code).toBe(2);
    expect(remote.stderr).toMatch(/loopback only unless allowed/);
    const missing = await warden(['console', '--journal', join(dir, 'none.sqlite'), '--port', '0']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no journal at/);
  }, 30_000);
});

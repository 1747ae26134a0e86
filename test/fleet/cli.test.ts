/** The warden command on a shared PostgreSQL store (--store): the fleet's kill switch, runs and the whole store's journal. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPaperService, type PaperService } from '../../src/entries/adapters.js';
import { useDatabase } from '../store/support/database.js';
import { warden } from '../support/cli.js';
import { clusterSnapshot } from '../../scripts/cluster/cluster.js';

const db = useDatabase();
let service: PaperService;
const dir = mkdtempSync(join(tmpdir(), 'warden-fleet-cli-'));

beforeAll(async () => {
  service = await startPaperService({ port: 0, seed: 9, latencyMs: [1, 3], markets: { EURUSD: { price: 1.1, fillAfterMs: 30 } } });
});
afterAll(async () => service?.close());

describe('warden … --store postgres://', () => {
  it('sets the fleet kill switch, runs against it, and verifies and shows the whole store', async () => {
    const url = db.server().url;
    const set = await warden(['kill-switch', 'set', 'active', '--store', url, '--reason', 'venue outage', '--operator', 'ops'], 60_000);
    expect(set.stdout).toMatch(/global: off → active for the fleet/);
    expect((await warden(['kill-switch', 'show', '--store', url], 60_000)).stdout).toMatch(/^global: active$/m);

    const file = join(dir, 'cli-fleet.json');
    writeFileSync(file, JSON.stringify([clusterSnapshot('cli-fleet-1', 'EURUSD', 1.1)]));
    const refused = await warden(['run', file, '--store', url, '--broker', service.url, '--json', '--log-file', join(dir, 'run.log')], 60_000);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)[0]).toMatchObject({ status: 'rejected', error: { code: 'kill_switch_active' } });

    expect((await warden(['kill-switch', 'set', 'off', '--store', url, '--reason', 'venue back', '--operator', 'ops'], 60_000)).code).toBe(0);
    writeFileSync(file, JSON.stringify([clusterSnapshot('cli-fleet-2', 'EURUSD', 1.1)]));
    const ran = await warden(['run', file, '--store', url, '--broker', service.url, '--log-file', join(dir, 'run.log')], 60_000);
    expect(ran.stdout).toMatch(/cli-fleet-2\s+filled/);
    expect(ran.code).toBe(0);

    const flags = await warden(['flags', '--store', url], 60_000);
    expect([flags.code, flags.stdout.trim()]).toEqual([0, 'no execution awaits resolution']);
    const verified = await warden(['journal', 'verify', '--store', url], 60_000);
    expect(verified.stdout).toMatch(/store: \d+ records of 2 writer\(s\), hash chains verified/);
    const shown = await warden(['journal', 'show', 'cli-fleet-2', '--store', url], 60_000);
    expect(shown.stdout).toMatch(/result: filled/);
    expect((await warden(['journal', 'verify', '--store', url, '--journal', join(dir, 'x.sqlite')], 60_000)).stderr).toMatch(/--journal FILE or --store URL, not both/);
    expect((await warden(['journal', 'verify', '--store', 'mysql://x'], 60_000)).stderr).toMatch(/postgres:\/\//);
  }, 120_000);
});

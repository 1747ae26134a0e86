/** `warden run --broker oanda:practice`, with and without --dry-run, against the offline v20 venue. */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { rawSnapshot } from '../support/fixtures.js';
import { OandaVenue, VENUE_ACCOUNT, VENUE_TOKEN } from './oandaVenue.js';

let venue: OandaVenue | null = null;
afterEach(async () => {
  expect(venue?.schemaErrors ?? []).toEqual([]);
  await venue?.close();
  venue = null;
});

const run = (args: string[], env: Record<string, string>) =>
  promisify(execFile)(process.execPath, ['bin/warden.mjs', ...args], { timeout: 60_000, env: { ...process.env, OANDA_TOKEN: '', OANDA_ACCOUNT: '', OANDA_URL: '', ...env } }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

function files() {
  const dir = mkdtempSync(join(tmpdir(), 'warden-oanda-'));
  const at = (ms: number) => new Date(Date.now() + ms).toISOString();
  const snapshotFile = join(dir, 'snapshot.json');
  writeFileSync(snapshotFile, JSON.stringify(rawSnapshot({ advisoryId: 'adv-oanda-cli', symbol: 'XAUUSD', positionSize: 2, referencePrice: 2400, createdAt: at(-120_000), expiresAt: at(600_000), approval: { approvedBy: 'alice', approvedAt: at(-60_000) } })));
  return { snapshotFile, journal: join(dir, 'warden.journal.sqlite') };
}

describe('warden run --broker oanda:practice', () => {
  it('--dry-run reads the account and the instruments, sends nothing and opens no journal', async () => {
    venue = await new OandaVenue().start();
    const { snapshotFile, journal } = files();
    const r = await run(['run', snapshotFile, '--broker', 'oanda:practice', '--dry-run', '--journal', journal], { OANDA_TOKEN: VENUE_TOKEN, OANDA_ACCOUNT: VENUE_ACCOUNT, OANDA_URL: venue.url });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`account ${VENUE_ACCOUNT}: 100000.0000 USD`);
    expect(r.stdout).toContain('XAUUSD → XAU_USD: prices to 3 decimals');
    expect(r.stdout).toContain('nothing was sent');
    expect(venue.requests.map((q) => q.method)).not.toContain('POST');
    expect(venue.requests.map((q) => q.path.split('?')[0])).toEqual([`/v3/accounts/${VENUE_ACCOUNT}/summary`, `/v3/accounts/${VENUE_ACCOUNT}/instruments`]);
    expect(existsSync(journal)).toBe(false);
    expect(r.stdout + r.stderr).not.toContain(VENUE_TOKEN);
  });

  it('without OANDA_TOKEN/OANDA_ACCOUNT it refuses, sending nothing; --dry-run needs oanda', async () => {
    const { snapshotFile, journal } = files();
    const missing = await run(['run', snapshotFile, '--broker', 'oanda:practice', '--dry-run', '--journal', journal], {});
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('needs OANDA_TOKEN and OANDA_ACCOUNT');
    const paper = await run(['run', snapshotFile, '--dry-run', '--journal', journal], {});
    expect(paper.code).toBe(2);
    expect(paper.stderr).toContain('--dry-run needs --broker oanda');
    expect(existsSync(journal)).toBe(false);
  });

  it('runs a snapshot: filled, stopped at the venue from the fill, reconciled', async () => {
    venue = await new OandaVenue().start();
    const { snapshotFile, journal } = files();
    const r = await run(['run', snapshotFile, '--broker', 'oanda:practice', '--journal', journal, '--json'], { OANDA_TOKEN: VENUE_TOKEN, OANDA_ACCOUNT: VENUE_ACCOUNT, OANDA_URL: venue.url });
    const [result] = JSON.parse(r.stdout) as { status: string; filledQuantity: number; clientOrderId: string; reconciliation: { status: string } }[];
    expect(result).toMatchObject({ status: 'filled', filledQuantity: 2, reconciliation: { status: 'matched' } });
    expect(venue.tradeOf(result!.clientOrderId)).toMatchObject({ units: 2, stopLoss: 2376, takeProfit: 2448 });
    expect(r.code).toBe(0);
  });
});

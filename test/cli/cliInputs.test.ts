/**
 * What the operator's tools accept is validated: the paper service's request bodies and markets
 * files, and approvals when `warden run --approver` asks for them. `approve` and `trace` are
 * `warden` subcommands.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { warden } from '../support/cli.js';
import { startPaperService, type PaperService } from '../../src/entries/adapters.js';


let service: PaperService | null = null;
afterEach(async () => {
  await service?.close();
  service = null;
});

describe('validated inputs', () => {
  it('the paper service refuses a body it cannot accept (negative quantity) with 400 and the reason, and places nothing', async () => {
    service = await startPaperService({ port: 0, markets: { EURUSD: { price: 1.1 } } });
    const post = (path: string, body: unknown) => fetch(`${service!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const bad = await post('/orders', { clientOrderId: 'x-1', symbol: 'EURUSD', side: 'buy', quantity: -5, type: 'market' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/invalid order: quantity/);
    const extra = await post('/orders', { clientOrderId: 'x-2', symbol: 'EURUSD', side: 'buy', quantity: 1, type: 'market', leverage: 100 });
    expect(extra.status).toBe(400);
    const protection = await post('/protections', { clientOrderId: 'x-3', symbol: 'EURUSD', side: 'buy', quantity: 1, stopLoss: 'low', takeProfit: 2 });
    expect(protection.status).toBe(400);
    expect(await service.broker.getOrder({ clientOrderId: 'x-1' })).toBeNull();
  });

  it('warden paper-broker refuses a markets file with a price that is not a number', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-inputs-'));
    const markets = join(dir, 'markets.json');
    writeFileSync(markets, JSON.stringify({ EURUSD: { price: 'abc' } }));
    const r = await warden(['paper-broker', '--port', '0', '--markets', markets]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/EURUSD\.price: .*number/);
  });

  it('warden run --approver: an unsigned snapshot is not approved; one signed with warden approve sign fills', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-inputs-'));
    expect((await warden(['approve', 'keygen', '--out', dir])).code).toBe(0);
    const now = Date.now();
    const raw = {
      advisoryId: 'signed-1', symbol: 'EURUSD', side: 'buy', positionSize: 1, referencePrice: 1.1, slOffsetPct: -0.01, tpOffsetPct: 0.02,
      createdAt: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 600_000).toISOString(),
      approval: { approvedBy: 'alice', approvedAt: new Date(now - 30_000).toISOString() },
    };
    const unsigned = join(dir, 'unsigned.json');
    writeFileSync(unsigned, JSON.stringify({ ...raw, advisoryId: 'unsigned-1' }));
    const refused = await warden(['run', unsigned, '--approver', join(dir, 'approver.pub.pem'), '--journal', join(dir, 'j.sqlite')]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/unsigned-1\s+rejected .*not_approved/);
    const plain = join(dir, 'plain.json');
    writeFileSync(plain, JSON.stringify(raw));
    const signed = await warden(['approve', 'sign', plain, '--key', join(dir, 'approver.key.pem')]);
    expect(signed.code).toBe(0);
    const signedFile = join(dir, 'signed.json');
    writeFileSync(signedFile, signed.stdout);
    const ok = await warden(['run', signedFile, '--approver', join(dir, 'approver.pub.pem'), '--journal', join(dir, 'j.sqlite')]);
    expect(ok.stdout).toMatch(/signed-1\s+filled/);
    const exported = join(dir, 'j.jsonl');
    expect((await warden(['journal', 'export', '--jsonl', '--out', exported, '--journal', join(dir, 'j.sqlite')])).code).toBe(0);
    const traced = await warden(['trace', exported, 'signed-1']);
    expect(traced.code).toBe(0);
    expect(traced.stdout).toMatch(/hash chain verified/);
  }, 60_000);
});

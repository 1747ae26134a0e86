import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { generateApproverKeys, signSnapshot } from '../../../src/index.js';
import { harness, snapshot } from '../../support/fixtures.js';

const alice = generateApproverKeys();
const mallory = generateApproverKeys();

describe('signed approvals', () => {
  const engineFor = (approvers: string[]) => harness({ engine: { approvers } });

  it('a snapshot signed by a listed approver executes', async () => {
    const h = engineFor([alice.publicKey]);
    h.fillOnAccept(50, 1.1);
    const result = await h.run(h.engine.execute(signSnapshot(snapshot(), alice.privateKey)));
    expect(result.status).toBe('filled');
  });

  it('survives a JSON round trip (it travels between services as JSON)', async () => {
    const h = engineFor([alice.publicKey]);
    h.fillOnAccept(50, 1.1);
    const result = await h.run(h.engine.execute(JSON.parse(JSON.stringify(signSnapshot(snapshot(), alice.privateKey)))));
    expect(result.status).toBe('filled');
  });

  const refusals: [string, () => unknown, RegExp][] = [
    ['unsigned', () => snapshot(), /carries no signature/],
    ['signed by a key that is not listed', () => signSnapshot(snapshot(), mallory.privateKey), /not a listed approver/],
    ['a listed approver\'s signature copied from another snapshot', () => ({ ...snapshot(), approvalSignature: signSnapshot(snapshot({ advisoryId: 'other' }), alice.privateKey).approvalSignature }), /does not match this snapshot/],
    ['a listed public key with a forged signature', () => ({ ...snapshot(), approvalSignature: { publicKey: alice.publicKey, signature: Buffer.alloc(64, 7).toString('base64') } }), /does not match/],
  ];
  for (const [name, make, message] of refusals) {
    it(`${name} → rejected/not_approved, nothing sent`, async () => {
      const h = engineFor([alice.publicKey]);
      const result = await h.run(h.engine.execute(make()));
      expect(result.status).toBe('rejected');
      expect(result.error?.code).toBe('not_approved');
      expect(result.error?.message).toMatch(message);
      expect(h.broker.calls).toHaveLength(0);
    });
  }

  it('content edited after signing is caught as tampering before the signature is even looked at', async () => {
    const h = engineFor([alice.publicKey]);
    const signed = JSON.parse(JSON.stringify(signSnapshot(snapshot(), alice.privateKey)));
    signed.positionSize = 1_000;
    const result = await h.run(h.engine.execute(signed));
    expect(result.error?.code).toBe('snapshot_tampered');
  });

  it('an engine without approvers does not require signatures', async () => {
    const h = harness();
    h.fillOnAccept(50, 1.1);
    expect((await h.run(h.engine.execute(snapshot()))).status).toBe('filled');
  });

  it('bad approver configuration is refused when the engine is created', () => {
    expect(() => harness({ engine: { approvers: [] } })).toThrow(/approvers is empty/);
    expect(() => harness({ engine: { approvers: ['not a key'] } })).toThrow(/approvers\[0\] is not a public key/);
    expect(() => harness({ engine: { approvers: [alice.privateKey] } })).toThrow(/is a private key/);
  });
});

describe('npm run approve', () => {
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/approve.ts', ...args], { timeout: 30_000 }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

  it('keygen, sign and verify from the command line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-approve-'));
    expect((await run(['keygen', '--out', dir])).code).toBe(0);
    expect((await run(['keygen', '--out', dir])).stderr).toMatch(/refusing to overwrite/);
    const snapshotFile = join(dir, 'snapshot.json');
    writeFileSync(snapshotFile, JSON.stringify(snapshot()));
    const signed = await run(['sign', snapshotFile, '--key', join(dir, 'approver.key.pem')]);
    expect(signed.code).toBe(0);
    const signedFile = join(dir, 'signed.json');
    writeFileSync(signedFile, signed.stdout);
    expect((await run(['verify', signedFile, '--approver', join(dir, 'approver.pub.pem')])).stdout).toMatch(/^approved: adv-1/);
    const other = join(dir, 'other.pub.pem');
    writeFileSync(other, mallory.publicKey);
    const refused = await run(['verify', signedFile, '--approver', other]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/not a listed approver/);
    expect((await run(['sign', join(dir, 'missing.json'), '--key', 'x'])).stderr.trim()).toMatch(/^approve: cannot read .*missing\.json: ENOENT$/);
  }, 60_000);
});

/**
 * Signed approvals: an approver signs the snapshot's hash with an Ed25519 key; an engine
 * created with `approvers` refuses any snapshot not signed by one of them. node:crypto only.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { deepFreeze } from './json.js';
import type { FrozenSnapshot } from './schemas.js';

/**
 * Carried beside `hash` (and, like it, outside the hashed content: it signs the hash).
 *
 * @example
 * ApprovalSignatureSchema.parse(signSnapshot(snapshot, privateKeyPem).approvalSignature); // { publicKey, signature }
 */
export const ApprovalSignatureSchema = z.strictObject({
  /** The signer's Ed25519 public key, SPKI PEM. */
  publicKey: z.string().min(1).max(1_000),
  /** Base64 Ed25519 signature over the ASCII bytes of the 64-hex-digit snapshot hash. */
  signature: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/).max(200),
});
/**
 * An approver's Ed25519 signature over a snapshot's hash, with the key that made it.
 *
 * @example
 * const signature: ApprovalSignature | undefined = signSnapshot(snapshot, privateKeyPem).approvalSignature;
 */
export type ApprovalSignature = z.infer<typeof ApprovalSignatureSchema>;

/**
 * A new Ed25519 key pair for an approver, as PEM strings.
 *
 * @example
 * const { publicKey, privateKey } = generateApproverKeys();
 * const engine = createEngine({ broker, approvers: [publicKey] });
 */
export function generateApproverKeys(): { publicKey: string; privateKey: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/**
 * Signs a frozen snapshot's hash; returns the snapshot with its `approvalSignature`.
 *
 * @example
 * const signed = signSnapshot(freezeSnapshot(raw), privateKeyPem);
 */
export function signSnapshot(snapshot: FrozenSnapshot, privateKeyPem: string): FrozenSnapshot {
  const key = createPrivateKey(privateKeyPem);
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError(`approver keys are Ed25519, got ${key.asymmetricKeyType}`);
  const signature = sign(null, Buffer.from(snapshot.hash, 'ascii'), key).toString('base64');
  const publicKey = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  return deepFreeze({ ...snapshot, approvalSignature: { publicKey, signature } });
}

/**
 * Parses approver public keys once; throws a clear error for anything that is not an Ed25519 public key.
 *
 * @example
 * const approvers = parseApproverKeys([generateApproverKeys().publicKey]);
 */
export function parseApproverKeys(pems: readonly string[]): KeyObject[] {
  return pems.map((pem, i) => {
    // node:crypto would derive a public key from a private one: refuse, a private key does not belong in engine config.
    if (typeof pem === 'string' && /PRIVATE KEY/.test(pem)) throw new TypeError(`approvers[${i}] is a private key: give the engine public keys only, and keep private keys with the approvers`);
    let key: KeyObject;
    try {
      key = createPublicKey(pem);
    } catch (e) {
      throw new TypeError(`approvers[${i}] is not a public key: ${(e as Error).message}`);
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new TypeError(`approvers[${i}] is ${key.asymmetricKeyType}, not Ed25519`);
    return key;
  });
}

const der = (key: KeyObject) => key.export({ type: 'spki', format: 'der' }).toString('base64');

/**
 * Why the snapshot's signature is not acceptable to `approvers`, or null when it is.
 *
 * @example
 * const { publicKey, privateKey } = generateApproverKeys();
 * signatureProblem(signSnapshot(snapshot, privateKey), parseApproverKeys([publicKey])); // null
 */
export function signatureProblem(snapshot: FrozenSnapshot, approvers: readonly KeyObject[]): string | null {
  const sig = snapshot.approvalSignature;
  if (!sig) return 'the engine requires a signed approval and the snapshot carries no signature';
  let signer: KeyObject;
  try {
    signer = createPublicKey(sig.publicKey);
  } catch {
    return 'the approval signature names an unreadable public key';
  }
  const approver = approvers.find((k) => der(k) === der(signer));
  if (!approver) return 'the approval is signed by a key that is not a listed approver';
  const ok = verify(null, Buffer.from(snapshot.hash, 'ascii'), approver, Buffer.from(sig.signature, 'base64'));
  return ok ? null : 'the approval signature does not match this snapshot';
}

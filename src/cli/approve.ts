/**
 * `npm run approve -- …`: keys and signatures for signed approvals.
 *
 *   keygen --out DIR                       writes DIR/approver.pub.pem and DIR/approver.key.pem (0600)
 *   sign SNAPSHOT.json --key KEY.pem       prints the frozen snapshot with its approvalSignature
 *   verify SNAPSHOT.json --approver PUB…   checks the hash and that a listed approver signed it
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateApproverKeys, parseApproverKeys, parseSnapshotInput, signatureProblem, signSnapshot } from '../domain/index.js';

const USAGE = `usage:
  npm run approve -- keygen --out DIR
  npm run approve -- sign SNAPSHOT.json --key KEY.pem
  npm run approve -- verify SNAPSHOT.json --approver PUB.pem [--approver PUB.pem …]`;

class UsageError extends Error {}

const option = (args: string[], name: string): string[] => args.flatMap((a, i) => (a === name && args[i + 1] ? [args[i + 1]!] : []));
const read = (file: string) => {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
};
const readSnapshot = (file: string) => {
  let json: unknown;
  try {
    json = JSON.parse(read(file));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${file} is not JSON`);
  }
  const parsed = parseSnapshotInput(json);
  if (parsed.kind === 'invalid') throw new UsageError(`${file} is not a valid snapshot: ${parsed.issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
  if (parsed.kind === 'tampered') throw new UsageError(`${file} was edited after it was frozen: its hash does not match its content`);
  return parsed.snapshot;
};

function main(args: string[]): number {
  const [command, file] = args;
  if (!command || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  switch (command) {
    case 'keygen': {
      const [dir] = option(args, '--out');
      if (!dir) throw new UsageError('keygen needs --out DIR');
      const pub = join(dir, 'approver.pub.pem');
      const key = join(dir, 'approver.key.pem');
      if (existsSync(pub) || existsSync(key)) throw new UsageError(`${dir} already holds approver keys; refusing to overwrite them`);
      mkdirSync(dir, { recursive: true });
      const keys = generateApproverKeys();
      writeFileSync(pub, keys.publicKey);
      writeFileSync(key, keys.privateKey, { mode: 0o600 });
      console.log(`wrote ${pub} (give it to the engine as an approver)\nwrote ${key} (keep it secret: it approves trades)`);
      return 0;
    }
    case 'sign': {
      const [keyFile] = option(args, '--key');
      if (!file || !keyFile) throw new UsageError('sign needs SNAPSHOT.json and --key KEY.pem');
      let signed;
      try {
        signed = signSnapshot(readSnapshot(file), read(keyFile));
      } catch (e) {
        if (e instanceof UsageError) throw e;
        throw new UsageError(`cannot sign with ${keyFile}: ${(e as Error).message}`);
      }
      console.log(JSON.stringify(signed, null, 2));
      return 0;
    }
    case 'verify': {
      const approverFiles = option(args, '--approver');
      if (!file || approverFiles.length === 0) throw new UsageError('verify needs SNAPSHOT.json and at least one --approver PUB.pem');
      const snapshot = readSnapshot(file);
      let keys;
      try {
        keys = parseApproverKeys(approverFiles.map(read));
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      const problem = signatureProblem(snapshot, keys);
      if (problem) {
        console.error(`not approved: ${problem}`);
        return 1;
      }
      console.log(`approved: ${snapshot.advisoryId} (hash ${snapshot.hash.slice(0, 16)}…) is signed by a listed approver`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${command}\n${USAGE}`);
  }
}

/** `warden approve …` and `npm run approve -- …`: the exit code, errors as one line. */
export function runApprove(args: string[]): number {
  try {
    return main(args);
  } catch (e) {
    console.error(`approve: ${(e as Error).message}`);
    return e instanceof UsageError ? 2 : 1;
  }
}

// Run directly (npm run approve): the arguments after the script.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = runApprove(process.argv.slice(2));

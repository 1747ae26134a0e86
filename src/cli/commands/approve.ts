/** `warden approve keygen|sign|verify`: keys and signatures for signed approvals. */
import type { Args, Command } from '../args.js';

const HELP = `usage: warden approve keygen --out DIR
       warden approve sign SNAPSHOT.json --key KEY.pem
       warden approve verify SNAPSHOT.json --approver PUB.pem [--approver PUB.pem …]

Keys and signatures for signed approvals (see README, "Signed approvals").`;

/** `warden approve`, its options and its help. */
export const approveCommand: Command = {
  help: HELP,
  options: {
    out: { type: 'string', help: 'keygen: the folder for the key pair' },
    key: { type: 'string', help: 'sign: the private key (PEM file)' },
    approver: { type: 'string', multiple: true, help: 'verify: a public key (PEM file); repeat for several' },
  },
  positionals: [1, 2],
  run: approve,
};

async function approve(_a: Args, rest: string[]): Promise<number> {
  return (await import('../approve.js')).runApprove(rest);
}

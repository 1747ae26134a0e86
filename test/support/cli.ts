/** Runs the `warden` command as a user would (a real process), resolving with its exit code and output whatever it is. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export const warden = (args: string[], timeout = 30_000): Promise<CliRun> =>
  promisify(execFile)(process.execPath, ['bin/warden.mjs', ...args], { timeout }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

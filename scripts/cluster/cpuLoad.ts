/**
 * CPU load for fleet soaks: child processes spinning busy loops, each bounded in time (it exits by
 * itself) and ended by its pid when the load is stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface CpuLoad {
  readonly pids: readonly number[];
  stop(): void;
}

/** Starts `processes` busy loops that end by themselves after `maxMs`. */
export function startCpuLoad(processes: number, maxMs: number): CpuLoad {
  if (!Number.isInteger(processes) || processes < 0) throw new Error(`--cpu-load needs a whole number of processes, got ${String(processes)}`);
  const spin = `const end = Date.now() + ${Math.max(0, Math.floor(maxMs))}; while (Date.now() < end) { for (let i = 0; i < 1e6; i++); }`;
  const children: ChildProcess[] = Array.from({ length: processes }, () => spawn(process.execPath, ['-e', spin], { stdio: 'ignore' }));
  return {
    pids: children.map((c) => c.pid!),
    stop: () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    },
  };
}

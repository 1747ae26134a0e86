/**
 * One process writes a journal file at a time: the `<journal>.lock` file beside it names the
 * writer (pid, host, since, a token). Taking it is an atomic create; a lock left by a process that
 * died on this host is stale and taken over; one from another host cannot be checked, so it holds.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { JournalError } from './types.js';

/**
 * Who holds a journal's writer lock (the `<journal>.lock` file beside it).
 *
 * @example
 * const writer: JournalWriter | null = SqliteJournal.writerOf('data/warden.journal.sqlite');
 * if (writer) console.log(`written by pid ${writer.pid} on ${writer.host} since ${writer.since}`);
 */
export interface JournalWriter {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
  readonly token: string;
}

const WriterSchema = z.object({ pid: z.number().int().positive(), host: z.string().max(256), since: z.string().max(64), token: z.string().max(64) });

const lockPathOf = (path: string) => `${path}.lock`;

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
};

/** The live writer of `path`, or null. A lock left by a process that died on this host is stale. */
export function liveWriter(path: string): JournalWriter | null {
  let text: string;
  try {
    text = readFileSync(lockPathOf(path), 'utf8');
  } catch {
    return null;
  }
  let parsed;
  try {
    parsed = WriterSchema.safeParse(JSON.parse(text));
  } catch {
    parsed = { success: false as const };
  }
  // An unreadable lock (a crash mid-write) proves nobody; one from another host cannot be checked, so it holds.
  if (!parsed.success) return null;
  const w = parsed.data;
  if (w.host === hostname() && !pidAlive(w.pid)) return null;
  return w;
}

/** Takes `path`'s writer lock (atomically creating the lock file), or throws `locked` naming the holder. */
export function takeWriterLock(path: string): string {
  const token = randomUUID();
  const me: JournalWriter = { pid: process.pid, host: hostname(), since: new Date().toISOString(), token };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPathOf(path), 'wx');
      try {
        writeSync(fd, JSON.stringify(me));
      } finally {
        closeSync(fd);
      }
      return token;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new JournalError('unreadable', `cannot lock journal ${path}: ${(e as Error).message}`);
    }
    const holder = liveWriter(path);
    if (holder) {
      throw new JournalError(
        'locked',
        `${path} is being written by pid ${holder.pid} on ${holder.host} since ${holder.since}; one process writes a journal at a time. ` +
          'Operators reach that process with `warden kill-switch set` and `warden resolve`, which hand it the command.',
      );
    }
    try {
      unlinkSync(lockPathOf(path)); // stale: its process is gone
    } catch {
      // someone else removed it first; try again
    }
  }
  throw new JournalError('locked', `${path}: could not take the writer lock`);
}

/** Gives the lock back, if it is still the one `token` took. */
export function releaseWriterLock(path: string, token: string): void {
  try {
    const w = WriterSchema.safeParse(JSON.parse(readFileSync(lockPathOf(path), 'utf8')));
    if (w.success && w.data.token === token) unlinkSync(lockPathOf(path));
  } catch {
    // already gone
  }
}

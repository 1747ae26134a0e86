/**
 * The PostgreSQL store's schema: created once however many instances connect at the same moment,
 * refused (never migrated or written to) when a newer Warden wrote it; one live connection per writer id.
 */
import { describe, expect, it } from 'vitest';
import { JournalError, JournalKind } from '../../src/journal/types.js';
import { PostgresStore } from '../../src/store/postgres/PostgresStore.js';
import { POSTGRES_SCHEMA_VERSION } from '../../src/store/postgres/schema.js';
import { useDatabase } from './support/database.js';

const db = useDatabase();

const query = db.query;

describe('PostgresStore schema', () => {
  it('is created once when several instances connect at the same moment, and again is a no-op', async () => {
    await Promise.all([db.open(), db.open(), db.open()]);
    await db.open();
    const versions = await query<{ version: number }>('SELECT version FROM warden_migrations ORDER BY version');
    expect(versions.map((v) => v.version)).toEqual(Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1));
    const tables = await query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'warden_%' ORDER BY table_name");
    expect(tables.map((t) => t.table_name)).toEqual(['warden_claims', 'warden_kill_switch_changes', 'warden_leases', 'warden_limit_changes', 'warden_migrations', 'warden_position_totals', 'warden_positions', 'warden_records']);
  });

  it('refuses a database written by a newer Warden, with a clear error, and changes nothing', async () => {
    await db.open();
    await query('INSERT INTO warden_migrations (version) VALUES ($1)', [POSTGRES_SCHEMA_VERSION + 1]);
    try {
      const error = await PostgresStore.connect(db.server().url).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JournalError);
      expect((error as JournalError).code).toBe('unsupported_schema');
      expect((error as JournalError).message).toMatch(new RegExp(`version ${POSTGRES_SCHEMA_VERSION + 1}, and this Warden knows versions up to ${POSTGRES_SCHEMA_VERSION}.*upgrade Warden`));
      expect(await query('SELECT version FROM warden_migrations')).toHaveLength(POSTGRES_SCHEMA_VERSION + 1);
    } finally {
      await query('DELETE FROM warden_migrations WHERE version > $1', [POSTGRES_SCHEMA_VERSION]);
    }
  });

  it('lets one live connection write a writer id; the same id later continues its chain', async () => {
    const first = await PostgresStore.connect(db.server().url, { writer: 'engine-a' });
    first.append({ kind: JournalKind.KillSwitch, executionId: null, advisoryId: null, snapshotHash: null, payload: { n: 1 } });
    await first.flush();
    const second = await PostgresStore.connect(db.server().url, { writer: 'engine-a' }).catch((e: unknown) => e);
    expect((second as JournalError).code).toBe('locked');
    await first.close();

    const again = await db.open({ writer: 'engine-a' });
    expect(again.readAll().map((r) => r.sequence)).toEqual([1]);
    const next = again.append({ kind: JournalKind.KillSwitch, executionId: null, advisoryId: null, snapshotHash: null, payload: { n: 2 } });
    expect(next.sequence).toBe(2);
    expect(next.previousHash).toBe(again.readAll()[0]!.hash);
    await again.flush();
    expect((await again.verify()).ok).toBe(true);
  });

  it('says where it could not connect, without the password', async () => {
    const error = await PostgresStore.connect('postgres://warden:s3cret@127.0.0.1:1/warden').catch((e: unknown) => e);
    expect((error as JournalError).code).toBe('unavailable');
    expect((error as Error).message).not.toContain('s3cret');
    expect((error as Error).message).toMatch(/check that the server runs/);
  });
});

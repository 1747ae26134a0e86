export { PostgresStore, DEFAULT_LEASE_TTL_MS, type PostgresStoreOptions, type ClaimRequest, type StoredClaim, type FleetKillSwitchRequest, type StoredKillSwitchChange, type Lease, type StoreVerification } from './PostgresStore.js';
export { FailClosedKillSwitch, KILL_SWITCH_STALENESS_BUDGET_MS, checkStalenessBudget, type FleetSwitch, type FailClosedOptions } from './failClosed.js';
export { KILL_SWITCH_POLL_MS, type KillSwitchWatch, type KillSwitchWatchOptions } from './killSwitchWatch.js';
export { PostgresStoreError } from './errors.js';
export { POSTGRES_SCHEMA_VERSION } from './schema.js';
export type { StoredRecord } from './records.js';
export { startEmbeddedPostgres, EmbeddedPostgresError, EMBEDDED_POSTGRES_DEFAULT_DIR, type EmbeddedPostgres, type EmbeddedPostgresOptions } from './embedded.js';

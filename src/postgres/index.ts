export { MIGRATIONS } from './migrations.js';
export { isPostgresOutage } from './outage.js';
export { POSTGRES_MAX_RUN_ID_BYTES, PostgresStore, type PostgresStoreOptions } from './postgres-store.js';

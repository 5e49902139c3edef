export { MIGRATIONS } from './migrations.js';
export { isPostgresOutage } from './outage.js';
export { PostgresStore, type PostgresStoreOptions } from './postgres-store.js';

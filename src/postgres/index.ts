export { MIGRATIONS } from './migrations.js';
export { PostgresStore, type PostgresStoreOptions } from './postgres-store.js';

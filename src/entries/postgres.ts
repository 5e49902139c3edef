/**
 * `hearsay/postgres`: the PostgreSQL store, for runs shared by several processes and worker pools. Needs the
 * `pg` package (an optional peer dependency).
 */

export { MIGRATIONS } from '../postgres/migrations.js';
export { isPostgresOutage } from '../postgres/outage.js';
export {
  POSTGRES_MAX_RUN_ID_BYTES,
  PostgresStore,
  type PostgresStoreOptions,
} from '../postgres/postgres-store.js';
export type {
  ActivationKey,
  ActivationQueue,
  Claim,
  ClaimRequest,
  QueueHint,
  StepMessage,
  StepResult,
} from '../workers/types.js';

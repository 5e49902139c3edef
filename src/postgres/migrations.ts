/**
 * The store's schema, as numbered migrations (also in `schema.sql` for people who manage their database by
 * hand). Names are written in the `hearsay` schema; the store substitutes its own schema name.
 *
 * Bodies are `json`, not `jsonb`: an event reads back byte for byte as it was written (key order, strings
 * with any character).
 */
export const MIGRATIONS: readonly (readonly [number, string])[] = [
  [
    1,
    `
CREATE TABLE "hearsay".runs (
  id         text PRIMARY KEY,
  seq        bigint NOT NULL,
  version    bigint NOT NULL,
  -- Commits at or below this version are no longer kept: a base below it is a conflict (base_too_old).
  horizon    bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE "hearsay".events (
  run             text   NOT NULL REFERENCES "hearsay".runs (id) ON DELETE CASCADE,
  seq             bigint NOT NULL,
  type            text   NOT NULL CHECK (type IN ('commit', 'message')),
  version         bigint NOT NULL,
  -- The paths a commit wrote (null for messages): what the conflict rule reads.
  writes          json,
  idempotency_key text,
  body            json   NOT NULL,
  PRIMARY KEY (run, seq)
);
CREATE UNIQUE INDEX events_idempotency ON "hearsay".events (run, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX events_commits ON "hearsay".events (run, version) WHERE type = 'commit';
CREATE TABLE "hearsay".snapshots (
  run     text   NOT NULL REFERENCES "hearsay".runs (id) ON DELETE CASCADE,
  version bigint NOT NULL,
  seq     bigint NOT NULL,
  state   json   NOT NULL,
  PRIMARY KEY (run, version)
);
`,
  ],
  [
    2,
    `
-- Steps a run's scheduler dispatched to workers: each claimed by one worker at a time (FOR UPDATE SKIP
-- LOCKED) under a lease timed by the database clock. Every claim increments the fence token; a commit or a
-- completion carrying an older token, or made after the lease expired, is refused.
CREATE TABLE "hearsay".activations (
  run         text        NOT NULL REFERENCES "hearsay".runs (id) ON DELETE CASCADE,
  activation  text        NOT NULL,
  -- The scheduler's attempt (its retry policy); lease expiries are counted in claims.
  attempt     integer     NOT NULL,
  agent       text        NOT NULL,
  queue       text        NOT NULL,
  status      text        NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  step        json        NOT NULL,
  result      json,
  lease_owner text,
  lease_until timestamptz,
  fence       bigint      NOT NULL DEFAULT 0,
  claims      integer     NOT NULL DEFAULT 0,
  queued_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  ended_at    timestamptz,
  PRIMARY KEY (run, activation, attempt)
);
CREATE INDEX activations_open ON "hearsay".activations (queue, queued_at) WHERE status IN ('queued', 'running');
`,
  ],
  [
    3,
    `
-- When a run finished (ms on the clock of the runtime that marked it), for retention policies; null while
-- it has not. Deleting a run's row deletes its events, snapshots and activations (ON DELETE CASCADE).
ALTER TABLE "hearsay".runs ADD COLUMN ended_at_ms bigint;
CREATE INDEX runs_ended ON "hearsay".runs (ended_at_ms) WHERE ended_at_ms IS NOT NULL;
`,
  ],
];

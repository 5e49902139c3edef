/**
 * The store's schema, as numbered migrations (also in `schema.sql` for people who manage their database by
 * hand). Names are written in the `hearsay` schema; the store substitutes its own schema name.
 *
 * Bodies are `json`, not `jsonb`: an event reads back byte for byte as it was written (key order, strings
 * with any character).
 *
 * `PostgresStore.connect` applies the missing ones itself; use the list to apply them with your own
 * migration tool, recording each version in a `migrations` table of the schema as the store does.
 *
 * @example
 * import { MIGRATIONS } from 'hearsay/postgres';
 * import pg from 'pg';
 *
 * const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
 * await client.connect();
 * await client.query('CREATE SCHEMA IF NOT EXISTS "hearsay"');
 * for (const [version, sql] of MIGRATIONS) console.log(version, sql.length); // or: await client.query(sql)
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
  [
    4,
    `
-- A commit is one statement: this function, called on its own (its own transaction). On the server, with no
-- client round trip in between, it locks the run's row, checks the fence against the clock now (under a
-- share lock a reclaim waits for), finds an earlier commit with the same idempotency key, applies the
-- path-level conflict rule to the writes committed after the base, appends the event, moves the head and
-- notifies. A client paused mid-commit therefore holds no lock while paused, and its commit is judged
-- when it reaches the server: a lease that expired meanwhile refuses it (fenced).
-- The body is the client's JSON with the head's numbers put in: body_head || seq || body_mid || version ||
-- body_tail (json keeps it byte for byte).
-- A path's prefixes, each as a fixed-size key, and whether it is the whole path. The key of a prefix hashes
-- the key of the one above it with the segment's JSON text (never decoded: any key the board accepts, NUL
-- and lone surrogates included, is compared as written), a number written as the string it reads as
-- (index 1 and key "1" name the same slot, as everywhere). A path costs its length, not its length squared.
CREATE FUNCTION "hearsay".path_prefixes(p json) RETURNS TABLE (k text, whole boolean)
LANGUAGE plpgsql IMMUTABLE AS $fn$
DECLARE
  n integer := json_array_length(p);
  i integer := 0;
  seg json;
BEGIN
  k := '';
  whole := n = 0;
  RETURN NEXT;
  FOR seg IN SELECT json_array_elements(p) LOOP
    i := i + 1;
    k := encode(sha256(convert_to(k || CASE json_typeof(seg) WHEN 'number' THEN to_json(seg::text)::text
                                            ELSE seg::text END, 'UTF8')), 'hex');
    whole := i = n;
    RETURN NEXT;
  END LOOP;
END
$fn$;

-- Whether a writer's fence still holds its activation's lease, by the clock now (no fence: a writer that
-- holds no lease, always true). The row is share-locked until the statement's transaction ends: a reclaim
-- waits for the write, or the write sees the reclaim.
-- Each commit's written paths, keyed once when it is written (path_prefixes): the keys of the whole paths,
-- and of every prefix of them. Every later commit's conflict check reads them instead of keying again.
ALTER TABLE "hearsay".events ADD COLUMN write_wholes text[], ADD COLUMN write_prefixes text[];
UPDATE "hearsay".events e
   SET write_wholes = coalesce(k.wholes, '{}'), write_prefixes = coalesce(k.prefixes, '{}')
  FROM (SELECT e2.run, e2.seq, array_agg(DISTINCT x.k) FILTER (WHERE x.whole) AS wholes,
               array_agg(DISTINCT x.k) AS prefixes
          FROM "hearsay".events e2, json_array_elements(e2.writes) w(path), "hearsay".path_prefixes(w.path) x
         WHERE e2.type = 'commit' GROUP BY e2.run, e2.seq) k
 WHERE e.run = k.run AND e.seq = k.seq;

CREATE FUNCTION "hearsay".fence_holds(p_run text, p_activation text, p_attempt integer, p_token bigint)
RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
  IF p_activation IS NULL THEN RETURN true; END IF;
  PERFORM 1 FROM "hearsay".activations a
    WHERE a.run = p_run AND a.activation = p_activation AND a.attempt = p_attempt
      AND a.fence = p_token AND a.status = 'running' AND a.lease_until > clock_timestamp()
    FOR SHARE;
  RETURN FOUND;
END
$fn$;

CREATE FUNCTION "hearsay".commit_event(
  p_run text, p_base bigint, p_touched json, p_writes json, p_key text,
  p_body_head text, p_body_mid text, p_body_tail text,
  p_fence_activation text, p_fence_attempt integer, p_fence_token bigint,
  p_channel text, p_lock_timeout_ms integer
) RETURNS TABLE (outcome text, at_seq bigint, at_version bigint, prior json)
LANGUAGE plpgsql AS $fn$
DECLARE
  head record;
  w_wholes text[];
  w_prefixes text[];
  t_wholes text[];
  t_prefixes text[];
BEGIN
  -- Keyed before the run is locked: the lock is held only for deciding and writing.
  SELECT coalesce(array_agg(DISTINCT x.k) FILTER (WHERE x.whole), '{}'), coalesce(array_agg(DISTINCT x.k), '{}')
    INTO w_wholes, w_prefixes
    FROM json_array_elements(p_writes) w(path), "hearsay".path_prefixes(w.path) x;
  SELECT coalesce(array_agg(DISTINCT x.k) FILTER (WHERE x.whole), '{}'), coalesce(array_agg(DISTINCT x.k), '{}')
    INTO t_wholes, t_prefixes
    FROM json_array_elements(p_touched) tp(path), "hearsay".path_prefixes(tp.path) x;
  PERFORM set_config('lock_timeout', p_lock_timeout_ms || 'ms', true);
  SELECT r.seq, r.version, r.horizon INTO head FROM "hearsay".runs r WHERE r.id = p_run FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'no_run'::text, NULL::bigint, NULL::bigint, NULL::json;
    RETURN;
  END IF;
  IF NOT "hearsay".fence_holds(p_run, p_fence_activation, p_fence_attempt, p_fence_token) THEN
    RETURN QUERY SELECT 'fenced'::text, head.seq, head.version, NULL::json;
    RETURN;
  END IF;
  -- After the fence: a worker that lost its lease is refused, even for a commit its successor already made.
  IF p_key IS NOT NULL THEN
    RETURN QUERY SELECT 'duplicate'::text, e.seq, e.version, e.body FROM "hearsay".events e
      WHERE e.run = p_run AND e.idempotency_key = p_key;
    IF FOUND THEN RETURN; END IF;
  END IF;
  -- The conflict rule: a touched path overlaps a later write when one is a prefix of the other. With every
  -- path keyed by its prefixes, the rule is two joins on keys, linear in the paths rather than one
  -- comparison per pair of them. Nothing later than the base: nothing to compare.
  IF p_base < head.horizon OR (p_base < head.version AND EXISTS (
    WITH later AS (
      SELECT e.write_wholes, e.write_prefixes FROM "hearsay".events e
       WHERE e.run = p_run AND e.type = 'commit' AND e.version > p_base)
    -- a later write that is a touched path or its ancestor
    SELECT 1 FROM (SELECT DISTINCT unnest(write_wholes) AS k FROM later) a
                  JOIN (SELECT DISTINCT unnest(t_prefixes) AS k) b USING (k)
    UNION ALL
    -- a later write below a touched path
    SELECT 1 FROM (SELECT DISTINCT unnest(t_wholes) AS k) a
                  JOIN (SELECT DISTINCT unnest(write_prefixes) AS k FROM later) b USING (k))) THEN
    RETURN QUERY SELECT 'conflict'::text, head.seq, head.version, NULL::json;
    RETURN;
  END IF;
  INSERT INTO "hearsay".events (run, seq, type, version, writes, idempotency_key, body, write_wholes, write_prefixes)
    VALUES (p_run, head.seq + 1, 'commit', head.version + 1, p_writes, p_key,
            (p_body_head || (head.seq + 1) || p_body_mid || (head.version + 1) || p_body_tail)::json,
            w_wholes, w_prefixes);
  UPDATE "hearsay".runs SET seq = head.seq + 1, version = head.version + 1 WHERE id = p_run;
  PERFORM pg_notify(p_channel, p_run || E'\\n' || (head.seq + 1));
  RETURN QUERY SELECT 'committed'::text, head.seq + 1, head.version + 1, NULL::json;
END
$fn$;

-- Messages appended in one statement, the same way: lock, fence (when given), insert after the head,
-- move the head, notify. Each body is body_head || seq || body_mid || version || its tail (the tails come
-- as one JSON array of strings: JSON text, so never a raw NUL or lone surrogate to decode).
CREATE FUNCTION "hearsay".append_messages(
  p_run text, p_body_head text, p_body_mid text, p_body_tails json,
  p_fence_activation text, p_fence_attempt integer, p_fence_token bigint,
  p_channel text, p_lock_timeout_ms integer
) RETURNS TABLE (outcome text, at_seq bigint, at_version bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
  head record;
  n integer := json_array_length(p_body_tails);
BEGIN
  PERFORM set_config('lock_timeout', p_lock_timeout_ms || 'ms', true);
  SELECT r.seq, r.version INTO head FROM "hearsay".runs r WHERE r.id = p_run FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'no_run'::text, NULL::bigint, NULL::bigint;
    RETURN;
  END IF;
  IF NOT "hearsay".fence_holds(p_run, p_fence_activation, p_fence_attempt, p_fence_token) THEN
    RETURN QUERY SELECT 'fenced'::text, head.seq, head.version;
    RETURN;
  END IF;
  INSERT INTO "hearsay".events (run, seq, type, version, writes, idempotency_key, body)
    SELECT p_run, head.seq + m.n, 'message', head.version, NULL, NULL,
           (p_body_head || (head.seq + m.n) || p_body_mid || head.version || m.tail)::json
      FROM json_array_elements_text(p_body_tails) WITH ORDINALITY AS m(tail, n);
  UPDATE "hearsay".runs SET seq = head.seq + n WHERE id = p_run;
  PERFORM pg_notify(p_channel, p_run || E'\\n' || (head.seq + n));
  RETURN QUERY SELECT 'appended'::text, head.seq, head.version;
END
$fn$;
`,
  ],
  [
    5,
    `
-- A transaction that notifies holds one lock of the whole database (the notification queue's) from its
-- commit's start to its end, its WAL flush included: every commit of every run waited for every other one.
-- Given no channel (null), commit_event and append_messages no longer notify; the store announces its
-- commits itself right after, in a statement of their own (coalesced: one for all commits of the moment),
-- which writes nothing and flushes nothing. Given a channel (a store of an earlier version), they notify
-- as before.
CREATE OR REPLACE FUNCTION "hearsay".commit_event(
  p_run text, p_base bigint, p_touched json, p_writes json, p_key text,
  p_body_head text, p_body_mid text, p_body_tail text,
  p_fence_activation text, p_fence_attempt integer, p_fence_token bigint,
  p_channel text, p_lock_timeout_ms integer
) RETURNS TABLE (outcome text, at_seq bigint, at_version bigint, prior json)
LANGUAGE plpgsql AS $fn$
DECLARE
  head record;
  w_wholes text[];
  w_prefixes text[];
  t_wholes text[];
  t_prefixes text[];
BEGIN
  -- Keyed before the run is locked: the lock is held only for deciding and writing.
  SELECT coalesce(array_agg(DISTINCT x.k) FILTER (WHERE x.whole), '{}'), coalesce(array_agg(DISTINCT x.k), '{}')
    INTO w_wholes, w_prefixes
    FROM json_array_elements(p_writes) w(path), "hearsay".path_prefixes(w.path) x;
  SELECT coalesce(array_agg(DISTINCT x.k) FILTER (WHERE x.whole), '{}'), coalesce(array_agg(DISTINCT x.k), '{}')
    INTO t_wholes, t_prefixes
    FROM json_array_elements(p_touched) tp(path), "hearsay".path_prefixes(tp.path) x;
  PERFORM set_config('lock_timeout', p_lock_timeout_ms || 'ms', true);
  SELECT r.seq, r.version, r.horizon INTO head FROM "hearsay".runs r WHERE r.id = p_run FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'no_run'::text, NULL::bigint, NULL::bigint, NULL::json;
    RETURN;
  END IF;
  IF NOT "hearsay".fence_holds(p_run, p_fence_activation, p_fence_attempt, p_fence_token) THEN
    RETURN QUERY SELECT 'fenced'::text, head.seq, head.version, NULL::json;
    RETURN;
  END IF;
  -- After the fence: a worker that lost its lease is refused, even for a commit its successor already made.
  IF p_key IS NOT NULL THEN
    RETURN QUERY SELECT 'duplicate'::text, e.seq, e.version, e.body FROM "hearsay".events e
      WHERE e.run = p_run AND e.idempotency_key = p_key;
    IF FOUND THEN RETURN; END IF;
  END IF;
  -- The conflict rule: a touched path overlaps a later write when one is a prefix of the other. With every
  -- path keyed by its prefixes, the rule is two joins on keys, linear in the paths rather than one
  -- comparison per pair of them. Nothing later than the base: nothing to compare.
  IF p_base < head.horizon OR (p_base < head.version AND EXISTS (
    WITH later AS (
      SELECT e.write_wholes, e.write_prefixes FROM "hearsay".events e
       WHERE e.run = p_run AND e.type = 'commit' AND e.version > p_base)
    -- a later write that is a touched path or its ancestor
    SELECT 1 FROM (SELECT DISTINCT unnest(write_wholes) AS k FROM later) a
                  JOIN (SELECT DISTINCT unnest(t_prefixes) AS k) b USING (k)
    UNION ALL
    -- a later write below a touched path
    SELECT 1 FROM (SELECT DISTINCT unnest(t_wholes) AS k) a
                  JOIN (SELECT DISTINCT unnest(write_prefixes) AS k FROM later) b USING (k))) THEN
    RETURN QUERY SELECT 'conflict'::text, head.seq, head.version, NULL::json;
    RETURN;
  END IF;
  INSERT INTO "hearsay".events (run, seq, type, version, writes, idempotency_key, body, write_wholes, write_prefixes)
    VALUES (p_run, head.seq + 1, 'commit', head.version + 1, p_writes, p_key,
            (p_body_head || (head.seq + 1) || p_body_mid || (head.version + 1) || p_body_tail)::json,
            w_wholes, w_prefixes);
  UPDATE "hearsay".runs SET seq = head.seq + 1, version = head.version + 1 WHERE id = p_run;
  IF p_channel IS NOT NULL THEN PERFORM pg_notify(p_channel, p_run || E'\\n' || (head.seq + 1)); END IF;
  RETURN QUERY SELECT 'committed'::text, head.seq + 1, head.version + 1, NULL::json;
END
$fn$;

-- The same for messages.
CREATE OR REPLACE FUNCTION "hearsay".append_messages(
  p_run text, p_body_head text, p_body_mid text, p_body_tails json,
  p_fence_activation text, p_fence_attempt integer, p_fence_token bigint,
  p_channel text, p_lock_timeout_ms integer
) RETURNS TABLE (outcome text, at_seq bigint, at_version bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
  head record;
  n integer := json_array_length(p_body_tails);
BEGIN
  PERFORM set_config('lock_timeout', p_lock_timeout_ms || 'ms', true);
  SELECT r.seq, r.version INTO head FROM "hearsay".runs r WHERE r.id = p_run FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'no_run'::text, NULL::bigint, NULL::bigint;
    RETURN;
  END IF;
  IF NOT "hearsay".fence_holds(p_run, p_fence_activation, p_fence_attempt, p_fence_token) THEN
    RETURN QUERY SELECT 'fenced'::text, head.seq, head.version;
    RETURN;
  END IF;
  INSERT INTO "hearsay".events (run, seq, type, version, writes, idempotency_key, body)
    SELECT p_run, head.seq + m.n, 'message', head.version, NULL, NULL,
           (p_body_head || (head.seq + m.n) || p_body_mid || head.version || m.tail)::json
      FROM json_array_elements_text(p_body_tails) WITH ORDINALITY AS m(tail, n);
  UPDATE "hearsay".runs SET seq = head.seq + n WHERE id = p_run;
  IF p_channel IS NOT NULL THEN PERFORM pg_notify(p_channel, p_run || E'\\n' || (head.seq + n)); END IF;
  RETURN QUERY SELECT 'appended'::text, head.seq, head.version;
END
$fn$;
`,
  ],
];

import pg from 'pg';
import {
  BlackboardError,
  type CommitDraft,
  type CommitEvent,
  type Conflict,
  checkRunId,
  type EndedRun,
  type Fence,
  type Fenced,
  type LogEvent,
  type MessageDraft,
  type MessageEvent,
  type OpenedRun,
  type Path,
  PathIndex,
  type Store,
  type StoreCommitResult,
  type StoredSnapshot,
} from '../blackboard/index.js';
import type {
  ActivationKey,
  ActivationQueue,
  Claim,
  ClaimRequest,
  QueueHint,
  StepMessage,
  StepResult,
} from '../workers/types.js';
import { activationKeyOf } from '../workers/types.js';
import { storeError } from './errors.js';
import { MIGRATIONS } from './migrations.js';
import { isPostgresOutage } from './outage.js';

/** Options of {@link PostgresStore.open}. */
export interface PostgresStoreOptions {
  /**
   * A `pg` pool to use (the store does not end it; give it an `error` listener, as `pg` asks of every
   * pool), or a connection string (the store owns its pool).
   */
  readonly pool?: pg.Pool;
  readonly connectionString?: string;
  /** The schema holding the store's tables (default `hearsay`); created by the migration. */
  readonly schema?: string;
  /**
   * How often watched runs are checked even without a notification (default 1000 ms): covers lost
   * notifications, a dropped LISTEN connection and poolers that do not pass LISTEN through.
   */
  readonly pollMs?: number;
  /**
   * The `application_name` of the connections of the pool the store makes (with `connectionString`), so
   * operators can tell who holds what in `pg_stat_activity`: name the worker or process (a worker's id, say).
   * Default `hearsay-<pid>`. Printable ASCII, at most 63 characters (what PostgreSQL keeps). With `pool`,
   * set `application_name` on your pool instead.
   */
  readonly applicationName?: string;
  /**
   * The longest a client of the store can hold a lock the run needs (default 5000 ms; 100–600,000). Commits
   * and appends are one statement each and hold nothing between round trips; the store's few transactions
   * (opening, compacting and migrating) are ended by the server once idle this long (a process paused or cut
   * off mid-transaction), which releases their locks. A statement waits at most twice this for a lock,
   * then fails with `lock_not_available` (55P03), which counts as an outage: waited out and tried again.
   */
  readonly lockTimeoutMs?: number;
  /**
   * The longest one statement of the store may run (default 30,000 ms; 1,000–3,600,000), on the pool the
   * store owns. On a pool you give, set `statement_timeout` on the pool yourself.
   */
  readonly statementTimeoutMs?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const APPLICATION_NAME = /^[\x20-\x7e]{1,63}$/;
/** The most runs a claim sends events of ({@link ClaimRequest.seen}). */
const CLAIM_SEEN_RUNS = 100;
/** The most events a claim sends for one run; a board further behind reads them itself. */
const CLAIM_EVENTS_MAX = 1000;
/** How long after a commit its announcement waits for others (and for a completion to carry it). */
const ANNOUNCE_AFTER_MS = 5;
/** How many waited steps the poll reads in one statement. */
const WAIT_CHECK_BATCH = 500;
/** NOTIFY's payload limit is 8,000 bytes. */
const NOTIFY_MAX_BYTES = 8000;

/**
 * The most UTF-8 bytes of a run id the store takes: it sits in index rows (at most about 2,700 bytes, with an
 * activation's id beside it) and in notifications (at most 8,000 bytes). Over it, `openRun` (and so a run
 * start) throws a `BlackboardError` `invalid_id` before anything reaches SQL.
 *
 * @example
 * if (Buffer.byteLength(runId) > POSTGRES_MAX_RUN_ID_BYTES) reply(400, 'run id too long');
 */
export const POSTGRES_MAX_RUN_ID_BYTES = 1000;

const rethrowStoreError = (error: unknown): never => {
  throw storeError(error);
};

/** Refuses (`invalid_id`) a run id PostgreSQL could not hold, before it reaches SQL. */
function checkPostgresRunId(runId: string): void {
  checkRunId(runId);
  const bytes = Buffer.byteLength(runId, 'utf8');
  if (bytes > POSTGRES_MAX_RUN_ID_BYTES)
    throw new BlackboardError(
      'invalid_id',
      `The run id ${JSON.stringify(runId.slice(0, 60))}… has ${bytes} bytes in UTF-8, more than the ${POSTGRES_MAX_RUN_ID_BYTES} a PostgresStore takes: use a shorter id.`,
      { details: { id: 'runId', problem: 'too long for PostgreSQL' } },
    );
}

/**
 * A store on PostgreSQL: each run's log in a table, every commit one transaction that locks the run's
 * row, checks the idempotency key, applies the same path-level conflict rule as every store (the
 * {@link PathIndex} over the writes committed after the base version), appends the event and bumps the
 * version: all of it happens, or none of it. Once committed, it is announced on `hearsay_events_<schema>`
 * (a statement of its own, shared by the commits of the moment; watchers also poll).
 *
 * @example
 * const store = await PostgresStore.open({ connectionString: process.env.DATABASE_URL });
 * const runtime = createRuntime({ ...team, store });
 */
export class PostgresStore implements Store, ActivationQueue {
  private closed = false;
  /** Listeners of queue hints (workers of this process). */
  private readonly hintListeners = new Set<(hint: QueueHint) => void>();
  /** Schedulers of this process waiting for dispatched steps to end, by key. */
  private readonly waiting = new Map<string, Set<() => void>>();
  /** The key of each entry of {@link waiting}: the poll reads all of them in one statement. */
  private readonly waitingKeys = new Map<string, ActivationKey>();
  /** The poll's read of the waited steps, while it runs (one at a time). */
  private checkingWaiting: Promise<void> | undefined;
  /** Who watches which run (boards of this process following writes by others). */
  private readonly watchers = new Map<string, Set<() => void>>();
  /** The dedicated LISTEN connection, while anything is watched. */
  private listener: pg.Client | undefined;
  private connecting = false;
  private poller: ReturnType<typeof setInterval> | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    private readonly ownsPool: boolean,
    private readonly pollMs: number,
    private readonly lockTimeoutMs: number,
  ) {}

  /** The `application_name` of this store's LISTEN connection (one per store: operators can find it). */
  readonly listenerName = `hearsay-listen-${Math.random().toString(36).slice(2, 8)}`;

  /** The channel commits and messages are announced on: one per schema. */
  get channel(): string {
    return `hearsay_events_${this.schema}`;
  }

  /** The channel queued and ended activations are announced on: one per schema. */
  get activationChannel(): string {
    return `hearsay_activations_${this.schema}`;
  }

  /** Connects and brings the schema up to date (migrations run once, in a transaction, under a lock). */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const schema = options.schema ?? 'hearsay';
    if (!SCHEMA_NAME.test(schema))
      throw new TypeError(`Schema "${schema}": use lower-case letters, digits and _.`);
    if (!options.pool && !options.connectionString) throw new TypeError('Give a pool or a connectionString.');
    const applicationName = options.applicationName ?? `hearsay-${process.pid}`;
    if (options.pool && options.applicationName !== undefined)
      throw new TypeError(
        'applicationName names the pool the store makes: set application_name on your pool.',
      );
    if (!APPLICATION_NAME.test(applicationName))
      throw new TypeError(
        `applicationName ${JSON.stringify(applicationName)}: use 1 to 63 printable ASCII characters.`,
      );
    const lockTimeoutMs = boundedMs('lockTimeoutMs', options.lockTimeoutMs, 5_000, 100, 600_000);
    const statementTimeoutMs = boundedMs(
      'statementTimeoutMs',
      options.statementTimeoutMs,
      30_000,
      1_000,
      3_600_000,
    );
    const pool =
      options.pool ??
      new pg.Pool({
        connectionString: options.connectionString,
        application_name: applicationName,
        statement_timeout: statementTimeoutMs,
        lock_timeout: 2 * lockTimeoutMs,
        idle_in_transaction_session_timeout: lockTimeoutMs,
      });
    // An idle connection the server drops (a restart, a terminated backend) is an 'error' on the pool;
    // unheard, it would end the process. The pool discards that connection and opens a new one when needed.
    if (!options.pool) pool.on('error', () => undefined);
    const store = new PostgresStore(pool, schema, !options.pool, options.pollMs ?? 1000, lockTimeoutMs);
    try {
      await store.migrate();
    } catch (error) {
      if (!options.pool) await pool.end();
      throw error;
    }
    return store;
  }

  /** The qualified name of one of the store's tables. */
  private t(name: string): string {
    return `"${this.schema}"."${name}"`;
  }

  private async migrate(): Promise<void> {
    await this.transaction(async (c) => {
      // One migrator at a time, whichever process starts first.
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hearsay:${this.schema}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${this.t('migrations')} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const done = new Set(
        (await c.query<{ version: number }>(`SELECT version FROM ${this.t('migrations')}`)).rows.map(
          (r) => r.version,
        ),
      );
      for (const [version, sql] of MIGRATIONS) {
        if (done.has(version)) continue;
        await c.query(sql.replaceAll('"hearsay".', `"${this.schema}".`));
        await c.query(`INSERT INTO ${this.t('migrations')} (version) VALUES ($1)`, [version]);
      }
    });
  }

  /** Operations in flight: `close` waits for them. */
  private readonly inFlight = new Set<Promise<unknown>>();

  private track<T>(op: Promise<T>): Promise<T> {
    this.inFlight.add(op);
    void op.finally(() => this.inFlight.delete(op)).catch(() => undefined);
    return op;
  }

  private transaction<T>(work: (client: Sql) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new BlackboardError('closed', 'The store is closed.'));
    return this.track(this.inTransaction(work).catch(rethrowStoreError));
  }

  private async inTransaction<T>(work: (client: Sql) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // A connection that drops between two statements of the transaction emits 'error' on the client (the
    // pool listens only to idle ones): heard here, the next statement fails and the transaction with it.
    let lost: Error | undefined;
    const onError = (error: Error) => {
      lost = error;
    };
    client.on('error', onError);
    try {
      // Bounded on any pool, ours or the caller's: a lock waited for, and a pause between statements.
      await client.query(
        `BEGIN; SET LOCAL lock_timeout = ${2 * this.lockTimeoutMs}; SET LOCAL idle_in_transaction_session_timeout = ${this.lockTimeoutMs}`,
      );
      const result = await work({
        query: <R extends pg.QueryResultRow>(sql: string, values: readonly unknown[] = []) =>
          client.query<R>(oneMessage(sql, values)),
      });
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.off('error', onError);
      // A broken connection is discarded, not returned to the pool.
      client.release(lost);
    }
  }

  /** One of the store's functions, called in one message (see {@link oneMessage}). */
  private call<R extends pg.QueryResultRow>(
    fn: string,
    columns: string,
    args: readonly (string | number | null)[],
  ): Promise<pg.QueryResult<R>> {
    return this.query<R>(
      `SELECT ${columns} FROM ${this.t(fn)}(${args.map((_, i) => `$${i + 1}`).join(', ')})`,
      args,
    );
  }

  /** Statements outside a transaction, each in one message (see {@link oneMessage}). */
  private readonly sql: Sql = { query: (sql, values = []) => this.query(sql, values) };

  private query<R extends pg.QueryResultRow>(
    sql: string,
    values: readonly unknown[],
  ): Promise<pg.QueryResult<R>> {
    if (this.closed) return Promise.reject(new BlackboardError('closed', 'The store is closed.'));
    return this.track(
      Promise.resolve()
        .then(() => this.pool.query<R>(oneMessage(sql, values)))
        .catch(rethrowStoreError),
    );
  }

  async openRun(runId: string, initial: unknown): Promise<OpenedRun> {
    checkPostgresRunId(runId);
    // Serialized before the transaction begins: a large state must not keep it idle (and past lockTimeoutMs).
    const state = JSON.stringify(initial ?? null);
    return this.transaction(async (c) => {
      const inserted = await c.query(
        `INSERT INTO ${this.t('runs')} (id, seq, version, horizon) VALUES ($1, 0, 0, 0) ON CONFLICT (id) DO NOTHING RETURNING id`,
        [runId],
      );
      if (inserted.rowCount === 1) {
        const snapshot: StoredSnapshot = { version: 0, seq: 0, state: initial };
        await c.query(`INSERT INTO ${this.t('snapshots')} (run, version, seq, state) VALUES ($1, 0, 0, $2)`, [
          runId,
          state,
        ]);
        return { created: true, head: { seq: 0, version: 0 }, snapshot };
      }
      const head = await c.query<{ seq: string; version: string }>(
        `SELECT seq, version FROM ${this.t('runs')} WHERE id = $1`,
        [runId],
      );
      const snap = await c.query<{ version: string; seq: string; state: unknown }>(
        `SELECT version, seq, state FROM ${this.t('snapshots')} WHERE run = $1 ORDER BY version DESC LIMIT 1`,
        [runId],
      );
      const s = snap.rows[0]!;
      return {
        created: false,
        head: { seq: Number(head.rows[0]!.seq), version: Number(head.rows[0]!.version) },
        snapshot: { version: Number(s.version), seq: Number(s.seq), state: s.state },
      };
    });
  }

  /** The run's row, locked for this transaction. */
  private async lockRun(c: Sql, runId: string): Promise<{ seq: number; version: number; horizon: number }> {
    const r = await c.query<{ seq: string; version: string; horizon: string }>(
      `SELECT seq, version, horizon FROM ${this.t('runs')} WHERE id = $1 FOR UPDATE`,
      [runId],
    );
    const row = r.rows[0];
    if (!row) throw new BlackboardError('run_mismatch', `No run "${runId}" in this store; open it first.`);
    return { seq: Number(row.seq), version: Number(row.version), horizon: Number(row.horizon) };
  }

  /** The shared conflict rule, over the writes committed after `baseVersion`. */
  private async conflictOf(
    c: Sql,
    runId: string,
    head: { version: number; horizon: number },
    baseVersion: number,
    touched: readonly Path[],
  ): Promise<Conflict | undefined> {
    const index = new PathIndex(head.horizon);
    if (baseVersion >= head.horizon) {
      const later = await c.query<{ version: string; writes: Path[] }>(
        `SELECT version, writes FROM ${this.t('events')} WHERE run = $1 AND type = 'commit' AND version > $2 ORDER BY version`,
        [runId, baseVersion],
      );
      for (const row of later.rows) index.record(row.writes, Number(row.version));
    }
    return index.check(touched, baseVersion, head.version);
  }

  /**
   * One statement, `commit_event` (migrations 4 and 5), decides and writes on the server: the run's lock,
   * the idempotency key, the fence (against the clock when the write applies), the conflict rule, the
   * insert and the head; the notification follows it (see announce). A conflict is then explained here, from the writes after the base.
   */
  async commit(
    runId: string,
    draft: CommitDraft,
    touched: readonly Path[],
    fence?: Fence,
  ): Promise<StoreCommitResult> {
    const body = bodyParts('commit', runId, draft);
    const r = await this.call<{ outcome: string; at_seq: string; at_version: string; prior: CommitEvent }>(
      'commit_event',
      'outcome, at_seq, at_version, prior',
      [
        runId,
        wholeNumber(draft.baseVersion, 'baseVersion'),
        JSON.stringify(touched),
        JSON.stringify(draft.writes),
        draft.idempotencyKey ?? null,
        body.head,
        body.mid,
        body.tail,
        ...fenceArgs(fence),
        // No channel: announced after the commit, not inside it (see announce).
        null,
        2 * this.lockTimeoutMs,
      ],
    );
    const row = r.rows[0]!;
    switch (row.outcome) {
      case 'committed': {
        this.announce(runId, Number(row.at_seq));
        const event: CommitEvent = {
          type: 'commit',
          runId,
          seq: Number(row.at_seq),
          version: Number(row.at_version),
          ...draft,
        };
        return { ok: true, event, duplicate: false };
      }
      case 'duplicate':
        return { ok: true, event: row.prior, duplicate: true };
      case 'fenced':
        return { ok: false, fenced: fencedBy(fence!) };
      case 'conflict':
        return { ok: false, conflict: await this.explainConflict(runId, draft.baseVersion, touched, row) };
      default:
        throw noRun(runId);
    }
  }

  /**
   * The conflict `commit_event` found, named as every store names it (the {@link PathIndex} over the writes
   * after the base). The log after the base only grows, so what the server saw is found here too.
   */
  private async explainConflict(
    runId: string,
    baseVersion: number,
    touched: readonly Path[],
    at: { at_version: string },
  ): Promise<Conflict> {
    const head = await this.requireRun(runId);
    const found = await this.conflictOf(this.sql, runId, head, baseVersion, touched);
    return (
      found ?? {
        code: 'conflict',
        reason: 'overlap',
        baseVersion,
        headVersion: Number(at.at_version),
        conflicts: [],
        message: `The board changed after version ${baseVersion}. Re-read and retry.`,
      }
    );
  }

  async append(runId: string, draft: MessageDraft): Promise<MessageEvent> {
    return (await this.appendMany(runId, [draft]))[0]!;
  }

  /** Appends messages in one statement (one lock of the run, one insert, one notification). */
  async appendMany(runId: string, drafts: readonly MessageDraft[]): Promise<MessageEvent[]> {
    if (drafts.length === 0) return [];
    const r = await this.appendMessages(runId, drafts);
    if (!r.ok) throw new Error('unreachable: no fence was given');
    return r.events;
  }

  async appendFenced(
    runId: string,
    draft: MessageDraft,
    fence: Fence,
  ): Promise<{ ok: true; event: MessageEvent } | { ok: false; fenced: Fenced }> {
    const r = await this.appendMessages(runId, [draft], fence);
    return r.ok ? { ok: true, event: r.events[0]! } : r;
  }

  /** `append_messages` (migrations 4 and 5): lock, fence when given, insert after the head; one statement. */
  private async appendMessages(
    runId: string,
    drafts: readonly MessageDraft[],
    fence?: Fence,
  ): Promise<{ ok: true; events: MessageEvent[] } | { ok: false; fenced: Fenced }> {
    const parts = drafts.map((d) => bodyParts('message', runId, d));
    const r = await this.call<{ outcome: string; at_seq: string; at_version: string }>(
      'append_messages',
      'outcome, at_seq, at_version',
      [
        runId,
        parts[0]!.head,
        parts[0]!.mid,
        JSON.stringify(parts.map((p) => p.tail)),
        ...fenceArgs(fence),
        null,
        2 * this.lockTimeoutMs,
      ],
    );
    const row = r.rows[0]!;
    if (row.outcome === 'fenced') return { ok: false, fenced: fencedBy(fence!) };
    if (row.outcome !== 'appended') throw noRun(runId);
    const seq = Number(row.at_seq);
    const version = Number(row.at_version);
    this.announce(runId, seq + drafts.length);
    return {
      ok: true,
      events: drafts.map((draft, i) => ({ type: 'message', runId, seq: seq + 1 + i, version, ...draft })),
    };
  }

  /** The newest seq of each run this store wrote and has not announced yet. */
  private readonly unannounced = new Map<string, number>();
  private announcing = false;

  /**
   * Announces a commit or append on {@link channel}, after it committed, in a statement of its own. Inside
   * the commit, `NOTIFY` held the database's one notification lock through the commit's end (its WAL flush
   * included), so every commit of every run waited for the others. Announcements made while one is sent go
   * out together in the next (one statement, one notice per run); a lost one (the process ends first, the
   * database is unreachable) is made good by the watchers' poll, which reads whatever they have not seen.
   * Sent {@link ANNOUNCE_AFTER_MS} after the first of them: a step's completion made before then carries
   * them instead (a worker's step commits, then records its end: one statement, not two), and commits of
   * that moment share one statement.
   */
  private announce(runId: string, seq: number): void {
    this.unannounced.set(runId, Math.max(seq, this.unannounced.get(runId) ?? 0));
    if (this.announcing) return;
    this.announcing = true;
    const sent = new Promise<void>((resolve) => setTimeout(resolve, ANNOUNCE_AFTER_MS)).then(() =>
      this.announceAll(),
    );
    void this.track(sent);
  }

  /** The announcements not yet sent (run and seq), taken to be sent now. */
  private takeUnannounced(): [string, number][] {
    const taken = [...this.unannounced];
    this.unannounced.clear();
    return taken;
  }

  private async announceAll(): Promise<void> {
    try {
      while (this.unannounced.size > 0) {
        const payloads = this.takeUnannounced().map(([run, seq]) => `${run}\n${seq}`);
        // Straight on the pool: what was committed before the store closed is still announced (close waits).
        await this.pool
          .query(oneMessage('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [this.channel, payloads]))
          .catch(() => undefined);
      }
    } finally {
      this.announcing = false;
    }
  }

  async read(runId: string, from: number, to?: number): Promise<LogEvent[]> {
    // One query (boards poll with it): no row at all means no such run; one row with no body, no events.
    const r = await this.query<{ body: LogEvent | null }>(
      `SELECT e.body FROM ${this.t('runs')} r LEFT JOIN ${this.t('events')} e
         ON e.run = r.id AND e.seq >= $2 AND ($3::bigint IS NULL OR e.seq <= $3)
       WHERE r.id = $1 ORDER BY e.seq`,
      [runId, from, to ?? null],
    );
    if (r.rows.length === 0)
      throw new BlackboardError('run_mismatch', `No run "${runId}" in this store; open it first.`);
    return r.rows.flatMap((row) => (row.body === null ? [] : [row.body]));
  }

  async findCommit(runId: string, idempotencyKey: string): Promise<CommitEvent | undefined> {
    // One statement (a keyed commit looks first): no row at all means no such run.
    const r = await this.query<{ body: CommitEvent | null }>(
      `SELECT e.body FROM ${this.t('runs')} r LEFT JOIN ${this.t('events')} e
         ON e.run = r.id AND e.idempotency_key = $2
       WHERE r.id = $1`,
      [runId, idempotencyKey],
    );
    if (r.rows.length === 0) throw noRun(runId);
    return r.rows[0]!.body ?? undefined;
  }

  async checkConflicts(
    runId: string,
    baseVersion: number,
    touched: readonly Path[],
  ): Promise<Conflict | undefined> {
    const head = await this.requireRun(runId);
    return this.conflictOf(this.sql, runId, head, baseVersion, touched);
  }

  async saveSnapshot(runId: string, snapshot: StoredSnapshot): Promise<void> {
    await this.requireRun(runId);
    await this.query(
      `INSERT INTO ${this.t('snapshots')} (run, version, seq, state) VALUES ($1, $2, $3, $4) ON CONFLICT (run, version) DO NOTHING`,
      [runId, snapshot.version, snapshot.seq, JSON.stringify(snapshot.state ?? null)],
    );
  }

  async loadSnapshot(runId: string, version: number): Promise<StoredSnapshot | undefined> {
    await this.requireRun(runId);
    const r = await this.query<{ version: string; seq: string; state: unknown }>(
      `SELECT version, seq, state FROM ${this.t('snapshots')} WHERE run = $1 AND version <= $2 ORDER BY version DESC LIMIT 1`,
      [runId, version],
    );
    const s = r.rows[0];
    return s ? { version: Number(s.version), seq: Number(s.seq), state: s.state } : undefined;
  }

  /**
   * Drops the run's events and snapshots before its newest snapshot, as the file store does: the board
   * reopens from that snapshot, and a commit based on an older version is a conflict (`base_too_old`).
   */
  compact(runId: string): Promise<{ removedRecords: number }> {
    return this.transaction(async (c) => {
      await this.lockRun(c, runId);
      const keep = (
        await c.query<{ version: string; seq: string }>(
          `SELECT version, seq FROM ${this.t('snapshots')} WHERE run = $1 ORDER BY version DESC LIMIT 1`,
          [runId],
        )
      ).rows[0]!;
      const removed = await c.query(`DELETE FROM ${this.t('events')} WHERE run = $1 AND seq <= $2`, [
        runId,
        keep.seq,
      ]);
      await c.query(`DELETE FROM ${this.t('snapshots')} WHERE run = $1 AND version < $2`, [
        runId,
        keep.version,
      ]);
      await c.query(`UPDATE ${this.t('runs')} SET horizon = $2 WHERE id = $1`, [runId, keep.version]);
      return { removedRecords: removed.rowCount ?? 0 };
    });
  }

  async listRuns(): Promise<string[]> {
    const r = await this.query<{ id: string }>(
      `SELECT id FROM ${this.t('runs')} ORDER BY created_at, id`,
      [],
    );
    return r.rows.map((row) => row.id);
  }

  /**
   * Calls `onChange` when the run may have new events: on each `NOTIFY` from the dedicated `LISTEN`
   * connection, after that connection is (re)established, and every `pollMs` regardless. The board reads
   * the log after the last event it has, so hints may be lost or repeated without losing or repeating
   * anything.
   */
  watch(runId: string, onChange: () => void): () => void {
    let set = this.watchers.get(runId);
    if (!set) {
      set = new Set();
      this.watchers.set(runId, set);
    }
    set.add(onChange);
    this.listen();
    this.startPolling();
    return () => {
      set.delete(onChange);
      if (set.size === 0) this.watchers.delete(runId);
      if (!this.wanted()) this.stopWatching();
    };
  }

  /** Whether anyone in this process follows runs or the activation queue. */
  private wanted(): boolean {
    return this.watchers.size > 0 || this.hintListeners.size > 0 || this.waiting.size > 0;
  }

  private startPolling(): void {
    this.poller ??= setInterval(() => this.notifyAll(), this.pollMs);
    this.poller.unref?.();
  }

  private notifyAll(): void {
    for (const set of this.watchers.values()) for (const w of set) w();
    this.checkWaiting();
    for (const l of this.hintListeners) l({ poll: true });
  }

  /**
   * The poll of dispatched steps waited for: one statement reads which of them have ended (or are gone),
   * and only their waiters wake and read their own row. Waking every waiter on every poll cost one read per
   * waiting step per poll (most of a dispatcher's statements with a pool of steps out). Should the read
   * fail, every waiter wakes and reads its own row, waiting out an outage as it does.
   */
  private checkWaiting(): void {
    if (this.checkingWaiting || this.waitingKeys.size === 0) return;
    const wake = (id: string) => {
      for (const w of this.waiting.get(id) ?? []) w();
    };
    const ids = [...this.waitingKeys.keys()];
    this.checkingWaiting = (async () => {
      for (let at = 0; at < ids.length; at += WAIT_CHECK_BATCH) {
        // Those whose waiting ended while an earlier batch was read are left out.
        const live = ids.slice(at, at + WAIT_CHECK_BATCH).filter((id) => this.waitingKeys.has(id));
        const known = live.map((id) => this.waitingKeys.get(id)!);
        if (known.length === 0) continue;
        try {
          const r = await this.query<{ i: string }>(
            `SELECT k.i FROM unnest($1::text[], $2::text[], $3::integer[]) WITH ORDINALITY AS k(run, activation, attempt, i)
               LEFT JOIN ${this.t('activations')} a
                 ON a.run = k.run AND a.activation = k.activation AND a.attempt = k.attempt
              WHERE a.status IS NULL OR a.status NOT IN ('queued', 'running')`,
            [known.map((k) => k.runId), known.map((k) => k.activationId), known.map((k) => k.attempt)],
          );
          for (const row of r.rows) wake(live[Number(row.i) - 1]!);
        } catch {
          for (const id of live) wake(id);
        }
      }
    })().finally(() => {
      this.checkingWaiting = undefined;
    });
  }

  /** Opens the LISTEN connection if none is open; a dropped one is opened again with a backoff. */
  private listen(delayMs = 0): void {
    if (this.listener || this.connecting || this.closed || !this.wanted()) return;
    this.connecting = true;
    const client = new pg.Client({ ...this.pool.options, application_name: this.listenerName });
    client.on('notification', (n) => {
      if (n.channel === this.activationChannel) return this.onActivationNotice(n.payload ?? '');
      const runId = (n.payload ?? '').split('\n')[0]!;
      for (const w of this.watchers.get(runId) ?? []) w();
    });
    // A connection the server ended (restart, pg_terminate_backend): reconnect, and catch up on arrival.
    client.on('error', () => undefined);
    client.on('end', () => {
      if (this.listener === client) this.listener = undefined;
      this.scheduleListen(Math.min(Math.max(delayMs * 2, 100), 5000));
    });
    client
      .connect()
      .then(() => client.query(`LISTEN "${this.channel}"; LISTEN "${this.activationChannel}"`))
      .then(() => {
        this.connecting = false;
        if (this.closed || !this.wanted()) return void client.end().catch(() => undefined);
        this.listener = client;
        // Whatever was committed while no one listened is read now.
        this.notifyAll();
      })
      .catch(() => {
        this.connecting = false;
        void client.end().catch(() => undefined);
        this.scheduleListen(Math.min(Math.max(delayMs * 2, 100), 5000));
      });
  }

  private scheduleListen(delayMs: number): void {
    if (this.closed || !this.wanted() || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.listen(delayMs);
    }, delayMs);
    this.retry.unref?.();
  }

  private stopWatching(): void {
    clearInterval(this.poller);
    this.poller = undefined;
    clearTimeout(this.retry);
    this.retry = undefined;
    const client = this.listener;
    this.listener = undefined;
    void client?.end().catch(() => undefined);
  }

  // The activation queue (role 'worker'): see ActivationQueue.

  async dispatch(queue: string, step: StepMessage): Promise<void> {
    await this.query(
      `WITH q AS (
         INSERT INTO ${this.t('activations')} AS a (run, activation, attempt, agent, queue, status, step)
         VALUES ($1, $2, $3, $4, $5, 'queued', $6)
         -- A step cancelled by a scheduler that stopped (a run paused for approval) is queued again on resume.
         ON CONFLICT (run, activation, attempt) DO UPDATE
           SET status = 'queued', step = EXCLUDED.step, result = NULL, lease_owner = NULL, lease_until = NULL,
               claims = 0, ended_at = NULL, queued_at = clock_timestamp()
           WHERE a.status = 'cancelled'
         RETURNING 1)
       SELECT pg_notify($7, $8) FROM q`,
      [
        step.runId,
        step.activationId,
        step.attempt,
        step.agentId,
        queue,
        JSON.stringify(step),
        this.activationChannel,
        `queued\n${queue}`,
      ],
    );
  }

  async claim(request: ClaimRequest): Promise<Claim[]> {
    // Steps whose lease expired too often fail: a step that kills (or stalls) every worker is not retried
    // forever. Looked for at most every 500 ms per queue, not on every claim (a store serves several
    // queues, a child team's among them: one timestamp for all let one queue's claims starve another's).
    if (Date.now() - (this.reaped.get(request.queue) ?? 0) >= 500) {
      this.reaped.set(request.queue, Date.now());
      await this.reap(request.queue, request.maxClaims);
    }
    const seen = [...(request.seen ?? [])].slice(0, CLAIM_SEEN_RUNS);
    // The claimed steps, and for each run the worker named in `seen` (once per run), the events after the
    // seq its board has: its board catches up from them, without a read of its own. Over
    // CLAIM_EVENTS_MAX events, none are sent (the board reads them itself).
    const r = await this.query<{
      run: string;
      activation: string;
      attempt: number;
      agent: string;
      step: StepMessage;
      fence: string;
      claims: number;
      events: LogEvent[] | null;
    }>(
      `WITH c AS (
         SELECT run, activation, attempt FROM ${this.t('activations')}
         WHERE queue = $1 AND agent = ANY($2::text[])
           AND (status = 'queued' OR (status = 'running' AND lease_until < now() AND claims < $5))
         ORDER BY queued_at LIMIT $3 FOR UPDATE SKIP LOCKED),
       u AS (
         UPDATE ${this.t('activations')} a
            SET status = 'running', lease_owner = $4, lease_until = now() + $6 * interval '1 millisecond',
                fence = a.fence + 1, claims = a.claims + 1
           FROM c WHERE a.run = c.run AND a.activation = c.activation AND a.attempt = c.attempt
         RETURNING a.run, a.activation, a.attempt, a.agent, a.step, a.fence, a.claims),
       s AS (SELECT * FROM unnest($7::text[], $8::bigint[]) AS s(run, seq))
       SELECT u.*, CASE WHEN s.run IS NOT NULL AND
                             row_number() OVER (PARTITION BY u.run ORDER BY u.activation, u.attempt) = 1 THEN
                (SELECT CASE WHEN count(*) <= ${CLAIM_EVENTS_MAX} THEN coalesce(json_agg(e.body ORDER BY e.seq), '[]') END
                   FROM ${this.t('events')} e WHERE e.run = s.run AND e.seq > s.seq) END AS events
         FROM u LEFT JOIN s ON s.run = u.run`,
      [
        request.queue,
        request.agents,
        request.limit,
        request.owner,
        request.maxClaims,
        request.leaseMs,
        seen.map(([run]) => run),
        seen.map(([, seq]) => wholeNumber(seq, 'seen seq')),
      ],
    );
    return r.rows.map((row) => ({
      ...(row.events === null ? {} : { events: row.events }),
      runId: row.run,
      activationId: row.activation,
      attempt: row.attempt,
      agentId: row.agent,
      step: row.step,
      token: Number(row.fence),
      claims: row.claims,
    }));
  }

  /** When each queue's expired steps were last looked for. */
  private readonly reaped = new Map<string, number>();

  private async reap(queue: string, maxClaims: number): Promise<void> {
    // Each failed step announced in the same statement.
    await this.query(
      `WITH f AS (
         UPDATE ${this.t('activations')}
            SET status = 'failed', ended_at = now(), lease_owner = NULL,
                result = json_build_object('status', 'failed', 'error',
                  'its lease expired ' || claims || ' times: each worker that claimed it died or stalled')
          WHERE queue = $1 AND status = 'running' AND lease_until < now() AND claims >= $2
          RETURNING run, activation, attempt)
       SELECT pg_notify($3, ${endedPayloadSql('f')}) FROM f`,
      [queue, maxClaims, this.activationChannel],
    );
  }

  async heartbeat(claim: Claim, leaseMs: number): Promise<boolean> {
    const r = await this.query(
      `UPDATE ${this.t('activations')} SET lease_until = now() + $5 * interval '1 millisecond'
        WHERE run = $1 AND activation = $2 AND attempt = $3 AND fence = $4
          AND status = 'running' AND lease_until > now()`,
      [claim.runId, claim.activationId, claim.attempt, claim.token, leaseMs],
    );
    return r.rowCount === 1;
  }

  async complete(claim: Claim, result: StepResult): Promise<'completed' | 'fenced'> {
    // `recorded`: this very result was recorded under this fence before (an earlier call whose answer was
    // lost); the outer select sees the row as it was before the update. Compared as text: a json column
    // keeps it byte for byte, and jsonb would refuse a result holding \u0000.
    // The end is announced in the same statement (one round trip): when recorded now, or before.
    const carried = this.takeUnannounced();
    const r = await this.query<{ updated: boolean; recorded: boolean }>(
      `WITH u AS (
         UPDATE ${this.t('activations')} SET status = $5, result = $6, ended_at = now(), lease_owner = NULL
          WHERE run = $1 AND activation = $2 AND attempt = $3 AND fence = $4
            AND status = 'running' AND lease_until > now()
         RETURNING 1),
       s AS (
         SELECT EXISTS (SELECT 1 FROM u) AS updated,
                EXISTS (SELECT 1 FROM ${this.t('activations')}
                         WHERE run = $1 AND activation = $2 AND attempt = $3 AND fence = $4
                           AND status = $5 AND result::text = $6::text) AS recorded),
       n AS (SELECT pg_notify($7, $8) FROM s WHERE s.updated OR s.recorded),
       -- The commits this store has not announced yet (the step's own, most often) go with it.
       e AS (SELECT pg_notify($9, p) FROM unnest($10::text[]) AS p)
       SELECT s.updated, s.recorded, (SELECT count(*) FROM n) + (SELECT count(*) FROM e) AS announced FROM s`,
      [
        claim.runId,
        claim.activationId,
        claim.attempt,
        claim.token,
        result.status === 'failed' ? 'failed' : 'done',
        JSON.stringify(result),
        this.activationChannel,
        endedPayload(claim),
        this.channel,
        carried.map(([run, seq]) => `${run}\n${seq}`),
      ],
    ).catch((error: unknown) => {
      // Not sent: announced on their own after all.
      for (const [run, seq] of carried) this.announce(run, seq);
      throw error;
    });
    const row = r.rows[0];
    if (!row?.updated && !row?.recorded) return 'fenced';
    return 'completed';
  }

  /** Whether an error of this store's means the database could not be reached for now (see {@link isPostgresOutage}). */
  isOutage(error: unknown): boolean {
    return isPostgresOutage(error);
  }

  async release(claim: Claim): Promise<void> {
    // Queued again and announced in one statement.
    await this.query(
      `WITH q AS (
         UPDATE ${this.t('activations')}
            SET status = 'queued', lease_owner = NULL, lease_until = NULL, claims = claims - 1
          WHERE run = $1 AND activation = $2 AND attempt = $3 AND fence = $4 AND status = 'running'
          RETURNING queue)
       SELECT pg_notify($5, 'queued' || E'\\n' || q.queue) FROM q`,
      [claim.runId, claim.activationId, claim.attempt, claim.token, this.activationChannel],
    );
  }

  async cancel(key: ActivationKey, reason: string): Promise<void> {
    // Cancelled and announced in one statement.
    await this.query(
      `WITH c AS (
         UPDATE ${this.t('activations')}
            SET status = 'cancelled', ended_at = now(), lease_owner = NULL,
                result = json_build_object('status', 'failed', 'error', $4::text)
          WHERE run = $1 AND activation = $2 AND attempt = $3 AND status IN ('queued', 'running')
          RETURNING 1)
       SELECT pg_notify($5, $6) FROM c`,
      [key.runId, key.activationId, key.attempt, reason, this.activationChannel, endedPayload(key)],
    );
  }

  async awaitResult(key: ActivationKey, signal: AbortSignal): Promise<StepResult | undefined> {
    const id = activationKeyOf(key);
    let wake: () => void = () => undefined;
    let set = this.waiting.get(id);
    if (!set) {
      set = new Set();
      this.waiting.set(id, set);
      this.waitingKeys.set(id, { runId: key.runId, activationId: key.activationId, attempt: key.attempt });
    }
    const waiters = set;
    try {
      this.listen();
      this.startPolling();
      for (;;) {
        // Armed before reading, so an end announced while the query runs is not missed.
        const hinted = new Promise<void>((resolve) => {
          wake = resolve;
          waiters.add(resolve);
        });
        const r = await this.query<{ status: string; result: StepResult | null }>(
          `SELECT status, result FROM ${this.t('activations')} WHERE run = $1 AND activation = $2 AND attempt = $3`,
          [key.runId, key.activationId, key.attempt],
        );
        const row = r.rows[0];
        if (!row)
          throw new BlackboardError(
            'store_failure',
            `No dispatched step ${key.activationId} (attempt ${key.attempt}) in run "${key.runId}".`,
          );
        if (row.status === 'cancelled') return undefined;
        if (row.status === 'done' || row.status === 'failed') return row.result ?? { status: 'failed' };
        if (signal.aborted) return undefined;
        const onAbort = () => wake();
        signal.addEventListener('abort', onAbort, { once: true });
        await hinted;
        signal.removeEventListener('abort', onAbort);
        waiters.delete(wake);
      }
    } finally {
      waiters.delete(wake);
      if (waiters.size === 0 && this.waiting.get(id) === waiters) {
        this.waiting.delete(id);
        this.waitingKeys.delete(id);
      }
      if (!this.wanted()) this.stopWatching();
    }
  }

  onHint(listener: (hint: QueueHint) => void): () => void {
    this.hintListeners.add(listener);
    this.listen();
    this.startPolling();
    return () => {
      this.hintListeners.delete(listener);
      if (!this.wanted()) this.stopWatching();
    };
  }

  private onActivationNotice(payload: string): void {
    const [kind, a, b, c] = payload.split('\n');
    if (kind === 'queued') {
      for (const l of this.hintListeners) l({ queued: a ?? '' });
      return;
    }
    if (a === undefined) {
      for (const set of this.waiting.values()) for (const w of set) w();
      for (const l of this.hintListeners) l({ poll: true });
      return;
    }
    const key = { runId: a, activationId: b ?? '', attempt: Number(c) };
    for (const w of this.waiting.get(activationKeyOf(key)) ?? []) w();
    for (const l of this.hintListeners) l({ ended: key });
  }

  /** Deletes the run's row, and with it (ON DELETE CASCADE) its events, snapshots and activations. */
  async deleteRun(runId: string, options: { readonly ifEmpty?: boolean } = {}): Promise<boolean> {
    // With ifEmpty, decided in the same statement: a run another process has begun writing is kept.
    const r = await this.query(
      `DELETE FROM ${this.t('runs')} WHERE id = $1 AND ($2::boolean IS NOT TRUE OR seq = 0)`,
      [runId, options.ifEmpty === true],
    );
    this.watchers.delete(runId);
    return r.rowCount === 1;
  }

  async markEnded(runId: string, endedAt: number): Promise<void> {
    const r = await this.query(`UPDATE ${this.t('runs')} SET ended_at_ms = $2 WHERE id = $1`, [
      runId,
      Math.round(endedAt),
    ]);
    if (r.rowCount !== 1)
      throw new BlackboardError('run_mismatch', `No run "${runId}" in this store; open it first.`);
  }

  async endedRuns(): Promise<EndedRun[]> {
    const r = await this.query<{ id: string; ended_at_ms: string }>(
      `SELECT id, ended_at_ms FROM ${this.t('runs')} WHERE ended_at_ms IS NOT NULL ORDER BY ended_at_ms, id`,
      [],
    );
    return r.rows.map((row) => ({ runId: row.id, endedAt: Number(row.ended_at_ms) }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watchers.clear();
    this.hintListeners.clear();
    this.stopWatching();
    // Waiting schedulers read once more and find the store closed.
    for (const set of this.waiting.values()) for (const w of set) w();
    // What was already asked finishes (or fails) before the store reports itself closed.
    // Announcements of commits that land meanwhile are made before the pool ends.
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    if (this.ownsPool) await this.pool.end();
  }

  private async requireRun(runId: string): Promise<{ version: number; horizon: number }> {
    const r = await this.query<{ version: string; horizon: string }>(
      `SELECT version, horizon FROM ${this.t('runs')} WHERE id = $1`,
      [runId],
    );
    const row = r.rows[0];
    if (!row) throw new BlackboardError('run_mismatch', `No run "${runId}" in this store; open it first.`);
    return { version: Number(row.version), horizon: Number(row.horizon) };
  }
}

/**
 * An event's JSON split around its head numbers: `head + seq + mid + version + tail` is exactly
 * `JSON.stringify({ type, runId, seq, version, ...draft })`, so the server puts in the numbers it decides
 * and the body still reads back byte for byte as the event the caller gets.
 */
function bodyParts(
  type: 'commit' | 'message',
  runId: string,
  draft: CommitDraft | MessageDraft,
): { head: string; mid: string; tail: string } {
  const rest = JSON.stringify(draft);
  return {
    head: `{"type":"${type}","runId":${JSON.stringify(runId)},"seq":`,
    mid: ',"version":',
    tail: rest === '{}' ? '}' : `,${rest.slice(1)}`,
  };
}

function fencedBy(fence: Fence): Fenced {
  return {
    code: 'fenced',
    message: `Activation ${fence.activationId} (attempt ${fence.attempt}) is no longer leased under fence ${fence.token}: its lease expired or another worker took it over.`,
    fence,
  };
}

function noRun(runId: string): BlackboardError {
  return new BlackboardError('run_mismatch', `No run "${runId}" in this store; open it first.`);
}

/** A duration option within its documented bounds (an integer of ms), or its default. */
function boundedMs(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max)
    throw new TypeError(
      `PostgresStore option ${name} must be a whole number of ms from ${min} to ${max}; got ${value}.`,
    );
  return value;
}

/** What the store runs SQL through: a pool, or one transaction's connection. */
interface Sql {
  query<R extends pg.QueryResultRow>(sql: string, values?: readonly unknown[]): Promise<pg.QueryResult<R>>;
}

/**
 * A statement with its `$n` parameters written in as literals, to be sent as one simple-protocol message.
 * The server runs it only once the whole message has arrived, and (outside a transaction) commits before
 * answering: a client stopped or cut off anywhere in sending it has run nothing and holds nothing. A
 * parameterized query is several messages (Parse, Bind, Execute, Sync), and the server holds what Execute
 * locked until Sync arrives, with no timeout that ends it.
 */
function oneMessage(sql: string, values: readonly unknown[]): string {
  if (values.length === 0) return sql;
  return sql.replace(/\$(\d+)/g, (_, n: string) => literal(values[Number(n) - 1]));
}

/**
 * A value as an SQL literal: null, a boolean, a finite number as written, an array of them, or text dollar-quoted
 * under a tag the text cannot end early (nothing inside is escaped or interpreted, whatever the server's
 * string settings). Text holding NUL cannot travel in a query: refused with the database's own SQLSTATE.
 */
function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`The store cannot write the number ${value} into SQL.`);
    return String(value);
  }
  if (Array.isArray(value)) return value.length === 0 ? `'{}'` : `ARRAY[${value.map(literal).join(', ')}]`;
  if (typeof value !== 'string') throw new TypeError(`The store cannot write a ${typeof value} into SQL.`);
  // Refused as PostgreSQL refuses it in a parameter (and wrapped the same way, see storeError).
  if (value.includes('\0'))
    throw Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' });
  // The literal ends at the first tag after the opening one: that must be the closing tag (a value ending
  // in "$h" would otherwise end it early).
  let tag = '$h$';
  for (let i = 0; `${value}${tag}`.indexOf(tag) !== value.length; i++) tag = `$h${i}$`;
  return `${tag}${value}${tag}`;
}

/** A fence as the functions take it: activation, attempt, token (all null for a writer with no lease). */
function fenceArgs(fence: Fence | undefined): [string | null, number | null, number | null] {
  if (fence === undefined) return [null, null, null];
  return [
    fence.activationId,
    wholeNumber(fence.attempt, 'fence.attempt'),
    wholeNumber(fence.token, 'fence.token'),
  ];
}

/** A number the store writes into SQL: a whole, safe integer, or the caller's bug. */
function wholeNumber(value: number, name: string): number {
  if (!Number.isSafeInteger(value)) throw new TypeError(`${name} must be a whole number; got ${value}.`);
  return value;
}

/**
 * The notice of a step's end: `ended`, run, activation, attempt on lines. One over NOTIFY's 8,000 bytes (a
 * long pooled item key in the activation id) would fail the completion: the bare `ended` wakes every waiter
 * instead, each of which reads its own row.
 */
function endedPayload(key: ActivationKey): string {
  const payload = `ended\n${key.runId}\n${key.activationId}\n${key.attempt}`;
  return Buffer.byteLength(payload, 'utf8') < NOTIFY_MAX_BYTES ? payload : 'ended';
}

/** {@link endedPayload} in SQL, over a row `r` with run, activation and attempt. */
function endedPayloadSql(r: string): string {
  const full = `'ended' || E'\\n' || ${r}.run || E'\\n' || ${r}.activation || E'\\n' || ${r}.attempt`;
  return `CASE WHEN octet_length(${full}) < ${NOTIFY_MAX_BYTES} THEN ${full} ELSE 'ended' END`;
}

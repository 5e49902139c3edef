import type { Conflict, Fence, Fenced } from './errors.js';
import type { CommitDraft, CommitEvent, LogEvent, MessageDraft, MessageEvent } from './events.js';
import type { Path } from './path.js';

/** A run's state at a version, as a store keeps it. */
export interface StoredSnapshot {
  readonly version: number;
  /** The log position of the commit that produced `version` (0 for the initial state). */
  readonly seq: number;
  /** The board value; schema-agnostic here (the board revives Keyed collections on load). */
  readonly state: unknown;
}

/** The end of a run's log. */
export interface LogHead {
  readonly seq: number;
  readonly version: number;
}

/** What {@link Store.openRun} finds. */
export interface OpenedRun {
  readonly created: boolean;
  readonly head: LogHead;
  /** The newest snapshot (for a new run, the initial state at version 0). */
  readonly snapshot: StoredSnapshot;
}

/**
 * A run a store recorded as finished ({@link Store.markEnded}), for a retention policy to weigh.
 *
 * @example
 * const oldest = (await store.endedRuns())[0]; // { runId, endedAt }
 */
export interface EndedRun {
  readonly runId: string;
  /** When it ended, in ms on the clock of whoever marked it (the runtime's). */
  readonly endedAt: number;
}

/** The outcome of {@link Store.commit}. */
export type StoreCommitResult =
  | { readonly ok: true; readonly event: CommitEvent; readonly duplicate: boolean }
  | { readonly ok: false; readonly conflict: Conflict; readonly fenced?: undefined }
  | { readonly ok: false; readonly fenced: Fenced; readonly conflict?: undefined };

/**
 * Where a run's log lives, and the authority on its order. A store decides conflicts (with the shared
 * rule in `pathsOverlap` / `PathIndex`), deduplicates idempotency keys and assigns sequence numbers,
 * all atomically per commit. It never interprets board values: it keeps patches and snapshots as given.
 *
 * Every implementation passes the same conformance suite (`test/blackboard/store-conformance.ts`).
 */
export interface Store {
  /** Creates the run with `initial` as version 0, or finds it (and then ignores `initial`). */
  openRun(runId: string, initial: unknown): Promise<OpenedRun>;
  /**
   * Appends a commit if none of `touched` overlaps a path written after `draft.baseVersion`;
   * returns the original event when `draft.idempotencyKey` was already accepted. With `fence` (a worker's
   * commit, only ever given to a store that leases activations), the commit is refused as `fenced` unless
   * that lease is still the activation's and unexpired when the write applies (checked in the same
   * server-side statement, before the idempotency key: a worker that lost its lease is refused even for a
   * commit its successor already made).
   */
  commit(
    runId: string,
    draft: CommitDraft,
    touched: readonly Path[],
    fence?: Fence,
  ): Promise<StoreCommitResult>;
  /** Appends a message. */
  append(runId: string, draft: MessageDraft): Promise<MessageEvent>;
  /**
   * Appends messages together, in order, with consecutive sequence numbers (optional: a store where each
   * append costs a round trip or a transaction; the board falls back to `append` one by one).
   */
  appendMany?(runId: string, drafts: readonly MessageDraft[]): Promise<MessageEvent[]>;
  /**
   * Appends a message of a worker's step, unless `fence` (its lease) is no longer the activation's and
   * unexpired, checked in the same transaction (optional: only stores that lease activations have it).
   */
  appendFenced?(
    runId: string,
    draft: MessageDraft,
    fence: Fence,
  ): Promise<
    { readonly ok: true; readonly event: MessageEvent } | { readonly ok: false; readonly fenced: Fenced }
  >;
  /** Events with `from <= seq <= to` (to defaults to the head), in order. */
  read(runId: string, from: number, to?: number): Promise<LogEvent[]>;
  /** The accepted commit that carried `idempotencyKey`, if any. */
  findCommit(runId: string, idempotencyKey: string): Promise<CommitEvent | undefined>;
  /** What `commit` would answer about `touched` at `baseVersion`, without writing. */
  checkConflicts(runId: string, baseVersion: number, touched: readonly Path[]): Promise<Conflict | undefined>;
  /** Keeps a snapshot of the run at a version (compaction may later drop log events before it). */
  saveSnapshot(runId: string, snapshot: StoredSnapshot): Promise<void>;
  /** The newest snapshot at or before `version`. */
  loadSnapshot(runId: string, version: number): Promise<StoredSnapshot | undefined>;
  /** The runs the store holds (optional: stores that can enumerate their runs, for resuming them all). */
  listRuns?(): Promise<string[]>;
  /**
   * Calls `onChange` when other processes may have appended to the run (optional: stores shared across
   * processes). A hint only: the board then reads the log after the last event it has, so a lost or
   * repeated hint loses or repeats nothing. Returns a function that stops watching.
   */
  watch?(runId: string, onChange: () => void): () => void;
  /**
   * Forgets a run: its log, snapshots, ended mark and anything the store keeps for it (in memory and, for a
   * durable store, on disk or in the database). Resolves true when the store held it. The store does not
   * know whether a run is in progress: the runtime's `deleteRun` refuses to delete a running one. With
   * `ifEmpty`, the run is deleted only while nothing is on its log (decided by the store, atomically with the
   * delete: a start that failed removes the run it created, never one another process has begun writing).
   */
  deleteRun(runId: string, options?: { readonly ifEmpty?: boolean }): Promise<boolean>;
  /**
   * Records that a run finished (a retention hook: the runtime calls it when a run ends with a final
   * outcome). A durable store may also stop keeping the run in memory; it stays readable (opened again
   * from the store). Marking it again moves its time.
   */
  markEnded(runId: string, endedAt: number): Promise<void>;
  /** The runs marked ended and not deleted, oldest first (the retention policy reads it). */
  endedRuns(): Promise<EndedRun[]>;
  /**
   * Whether an error of this store's means it could not be reached for now (a database restarting, a
   * failover, a dropped connection), so the same call may succeed later (optional: a store in this process
   * has no outages). Boards, workers and schedulers wait such errors out (see `waitOut`) instead of failing
   * the step; any other error is a refusal, and fails at once.
   */
  isOutage?(error: unknown): boolean;
  /** Releases resources, and what the store held in memory; further calls fail. */
  close(): Promise<void>;
}

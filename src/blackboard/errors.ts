import { brandClass } from './brand.js';
import type { BoardLimitName } from './limits.js';
import type { Path } from './path.js';

/** One pair of overlapping paths behind a rejected commit. */
export interface ConflictingWrite {
  /** The path this commit read or wrote. */
  readonly path: Path;
  /** The path written after the commit's base version that overlaps it (equal, ancestor or descendant). */
  readonly written: Path;
  /** The board version of the commit that wrote it. */
  readonly version: number;
}

/**
 * A commit was rejected because the board changed under it: a path it read or writes (or an ancestor
 * or descendant of one) was written after its `baseVersion`. Re-read and try again (`transact` does).
 */
export interface Conflict {
  readonly code: 'conflict';
  readonly message: string;
  readonly baseVersion: number;
  readonly headVersion: number;
  /** The overlapping writes; empty when `reason` is `base_too_old`. */
  readonly conflicts: readonly ConflictingWrite[];
  /** `overlap`: paths overlap. `base_too_old`: the log no longer holds what happened after the base. */
  readonly reason: 'overlap' | 'base_too_old';
}

/** One problem found by the board's schema, at a full board path. */
export interface SchemaIssue {
  readonly path: Path;
  readonly code: string;
  readonly message: string;
}

/** A commit was rejected because the board it would produce does not match the schema. */
export interface SchemaRejection {
  readonly code: 'schema';
  readonly message: string;
  readonly issues: readonly SchemaIssue[];
}

/** Why a commit was malformed. */
export type InvalidCommitReason =
  | 'malformed'
  | 'bad_base_version'
  | 'bad_path'
  | 'missing_path'
  | 'not_serializable'
  | 'forbidden_path'
  /** Over one of the board's bounds (`limit` names it): a path too deep, a value too large, … */
  | 'limit_exceeded';

/** The commit itself was malformed (bad fields, a path that does not exist, a non-JSON value). */
export interface InvalidCommit {
  readonly code: 'invalid_commit';
  readonly reason: InvalidCommitReason;
  readonly message: string;
  readonly path?: Path;
  /** With reason `limit_exceeded`: the bound (see `BoardLimits`) and its value. */
  readonly limit?: { readonly name: BoardLimitName; readonly max: number };
}

/**
 * The commit came from an activation whose lease this worker no longer holds (it expired, or another
 * worker reclaimed the activation): a store with an activation queue refuses it, so a worker that was
 * killed or paused past its lease can never write after another took over.
 */
export interface Fenced {
  readonly code: 'fenced';
  readonly message: string;
  readonly fence: Fence;
}

/** The lease a commit is made under: the activation, its dispatch attempt, and the claim's token. */
export interface Fence {
  readonly activationId: string;
  readonly attempt: number;
  readonly token: number;
}

/** Every way a commit can be refused. All are returned, never thrown. */
export type CommitRejection = Conflict | SchemaRejection | InvalidCommit | Fenced;

/** `transact` gave up: every attempt conflicted. */
export interface TooManyConflicts {
  readonly code: 'too_many_conflicts';
  readonly message: string;
  readonly attempts: number;
  readonly last: Conflict;
}

/** Codes of {@link BlackboardError}: misuse of the API, or a broken store. */
export type BlackboardErrorCode =
  | 'version_out_of_range'
  | 'invalid_initial_state'
  | 'run_mismatch'
  | 'closed'
  | 'store_failure'
  /** An id or name (a run id, a worker's queue or id) outside its documented bounds. */
  | 'invalid_id'
  | 'corrupt_log'
  | 'unsupported';

/**
 * Thrown for misuse and bugs only (an initial state that fails the schema, a version that does not
 * exist, a closed board). Expected outcomes such as conflicts come back as results instead.
 *
 * @example
 * import { BlackboardError, createBlackboard } from 'hearsay';
 *
 * try {
 *   await createBlackboard({ schema: z.object({ count: z.number() }), initial: { count: 'zero' } });
 * } catch (e) {
 *   if (e instanceof BlackboardError && e.code === 'invalid_initial_state') console.error(e.message);
 * }
 */
export class BlackboardError extends Error {
  override readonly name = 'BlackboardError';
  readonly code: BlackboardErrorCode;
  readonly details: unknown;

  constructor(code: BlackboardErrorCode, message: string, options?: { cause?: unknown; details?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }
}
brandClass(BlackboardError, 'BlackboardError');

import type { CommitRejection, Fence } from './errors.js';
import type { CommitEvent, Patch } from './events.js';
import type { Path } from './path.js';

/** A consistent view of the board: the value and the version it is at. Never changes afterwards. */
export interface BoardSnapshot<TState> {
  readonly state: TState;
  readonly version: number;
  /** The log position of the last event when the snapshot was taken. */
  readonly seq: number;
}

/**
 * A change to the board. It is accepted only if no path in `reads` or written by `patches` (nor an
 * ancestor or descendant of one) was written by a commit after `baseVersion`.
 */
export interface Commit {
  readonly baseVersion: number;
  readonly reads: readonly Path[];
  readonly patches: readonly Patch[];
  readonly author: string;
  readonly activationId?: string;
  readonly idempotencyKey?: string;
  /**
   * The lease of the activation making the commit, when a worker runs it (see `role: 'worker'`): the
   * store refuses the commit as `fenced` once the lease is lost. Not part of the log.
   */
  readonly fence?: Fence;
}

/** The outcome of a commit: the accepted event, or why it was refused. */
export type CommitResult =
  | {
      readonly ok: true;
      readonly event: CommitEvent;
      /** True when the idempotency key was already accepted: `event` is that first commit. */
      readonly duplicate: boolean;
    }
  | { readonly ok: false; readonly error: CommitRejection };

import type { Path } from './path.js';

/** One change in a commit, in immer's patch format, with a logical board path. */
export interface Patch {
  readonly op: 'add' | 'replace' | 'remove';
  readonly path: Path;
  readonly value?: unknown;
}

/** An accepted commit, as it stands in the log. */
export interface CommitEvent {
  readonly type: 'commit';
  readonly runId: string;
  /** Position in the run's log, shared with messages; starts at 1, no gaps. */
  readonly seq: number;
  /** The board version this commit produced; the n-th accepted commit makes version n. */
  readonly version: number;
  readonly baseVersion: number;
  readonly author: string;
  readonly activationId?: string;
  readonly idempotencyKey?: string;
  readonly patches: readonly Patch[];
  /** Paths the commit read (minimal cover). */
  readonly reads: readonly Path[];
  /** Paths the commit wrote (minimal cover). */
  readonly writes: readonly Path[];
  /** Milliseconds since the epoch, from the board's clock. */
  readonly time: number;
}

/** A message on the run's peer-to-peer bus. Messages do not change the board. */
export interface MessageEvent {
  readonly type: 'message';
  readonly runId: string;
  readonly seq: number;
  /** The board version when the message was published. */
  readonly version: number;
  readonly topic: string;
  readonly payload: unknown;
  readonly author: string;
  readonly time: number;
}

/** Everything in a run's log. */
export type LogEvent = CommitEvent | MessageEvent;

/** What a writer hands the store; the store assigns `seq` and `version`. */
export type CommitDraft = Omit<CommitEvent, 'type' | 'runId' | 'seq' | 'version'>;

/** What a publisher hands the store; the store assigns `seq` and `version`. */
export type MessageDraft = Omit<MessageEvent, 'type' | 'runId' | 'seq' | 'version'>;

import { BlackboardError, type Fence, type LogEvent } from '../blackboard/index.js';
import type { Usage } from '../llm/index.js';
import type { ServerMessageOf } from '../protocol/index.js';

/**
 * One step of an activation, as a worker receives it: the `activate` message of the remote-agent protocol
 * without its transport fields (the board is read from the store, at `version` or later).
 */
export type StepMessage = Omit<ServerMessageOf<'activate'>, 'v' | 'type' | 'dispatch'>;

/** How a step ended on the worker that ran it. */
export interface StepResult {
  readonly status: 'settled' | 'done' | 'failed';
  readonly error?: string | undefined;
  /** A singleton's persisted XState snapshot after the step: its next activation continues from it. */
  readonly snapshot?: unknown;
  /** The state values the step went through: `[from, to, eventType]` each. */
  readonly transitions?: readonly (readonly [string, string, string])[] | undefined;
  /** What the step was charged (model calls, `tools.charge`), in order: the run's budgets see it. */
  readonly usage?: readonly Partial<Usage>[];
  /** Delegations the machine asked for; the run's scheduler admits them. */
  readonly delegations?: readonly { readonly to: string; readonly task: unknown }[];
}

/** Names one dispatch of an activation: the scheduler's attempt number is part of it. */
export interface ActivationKey {
  readonly runId: string;
  readonly activationId: string;
  readonly attempt: number;
}

/** A map key for one dispatch of an activation. */
export const activationKeyOf = (key: ActivationKey): string =>
  `${key.runId}\u0000${key.activationId}\u0000${key.attempt}`;

/** An activation a worker holds a lease on. */
export interface Claim extends ActivationKey {
  readonly agentId: string;
  readonly step: StepMessage;
  /** The claim's fence token: every commit of the step and its completion must carry it. */
  readonly token: number;
  /** How many times the activation was claimed (more than 1: a worker before this one lost its lease). */
  readonly claims: number;
  /**
   * The run's events after the seq the request named for it in `seen` (on one claim of each run), read in
   * the claim's statement: the claiming worker's board catches up without a read of its own. Absent when the
   * request did not name the run, or when there were more than the queue sends this way.
   */
  readonly events?: readonly LogEvent[];
}

/** What {@link ActivationQueue.claim} takes. */
export interface ClaimRequest {
  readonly queue: string;
  /** Who claims (kept on the row, for operators). */
  readonly owner: string;
  /** The agents this worker can run. */
  readonly agents: readonly string[];
  readonly limit: number;
  /** How long a claim holds without a heartbeat, timed by the database's clock. */
  readonly leaseMs: number;
  /** An activation whose lease expired this many times fails instead of being claimed again. */
  readonly maxClaims: number;
  /**
   * The runs whose boards the worker holds, each with the seq its board has read to: a claimed step of one
   * of them comes with the events after it ({@link Claim.events}).
   */
  readonly seen?: ReadonlyMap<string, number>;
}

/** A hint from the queue: a step was queued, or one ended. Hints may be lost or repeated. */
export type QueueHint =
  | { readonly queued: string }
  | { readonly ended: ActivationKey }
  | { readonly poll: true };

/**
 * Where a run's scheduler puts the steps it decides on, and workers in any process take them from: each
 * is claimed by one worker at a time under a lease with a fence token (see `PostgresStore`).
 */
export interface ActivationQueue {
  /** Queues a step (again queuing one already queued does nothing). */
  dispatch(queue: string, step: StepMessage): Promise<void>;
  /** The result of a dispatched step once it has ended; `undefined` when it was cancelled. */
  awaitResult(key: ActivationKey, signal: AbortSignal): Promise<StepResult | undefined>;
  /** Cancels a step (its worker's heartbeat then fails and it stops). */
  cancel(key: ActivationKey, reason: string): Promise<void>;
  /** Claims up to `limit` steps: queued ones, or ones whose lease expired. */
  claim(request: ClaimRequest): Promise<Claim[]>;
  /** Extends a claim's lease; false when the lease was lost (expired, reclaimed, or the step cancelled). */
  heartbeat(claim: Claim, leaseMs: number): Promise<boolean>;
  /**
   * Records how the step ended, if the claim still holds; `fenced` otherwise (the result is dropped).
   * Idempotent: called again after an answer was lost, it answers `completed` for a result it recorded.
   */
  complete(claim: Claim, result: StepResult): Promise<'completed' | 'fenced'>;
  /**
   * Gives back a claim whose step was stopped before it ended (its worker is closing): the step is queued
   * again at once, without waiting out the lease, and the claim does not count towards `maxClaims`.
   */
  release(claim: Claim): Promise<void>;
  /** Calls `listener` on hints; returns the function that stops it. */
  onHint(listener: (hint: QueueHint) => void): () => void;
  /**
   * Whether `error` means the queue could not be reached (a restart, a failover, a dropped connection):
   * the call is tried again. Any other error fails the step at once. Without it, every error but the
   * store's own is taken for an outage.
   */
  isOutage?(error: unknown): boolean;
}

/** Whether a store also queues activations for workers. */
export function isActivationQueue(store: unknown): store is ActivationQueue {
  const s = store as Partial<ActivationQueue> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.dispatch === 'function' &&
    typeof s.claim === 'function' &&
    typeof s.complete === 'function' &&
    typeof s.release === 'function'
  );
}

/** The fence a claim's commits carry. */
export const fenceOf = (claim: Claim): Fence => ({
  activationId: claim.activationId,
  attempt: claim.attempt,
  token: claim.token,
});

/**
 * Whether an error of the queue's is an outage, to wait out. The store's own errors (closed, a missing
 * row) never are: they do not go away by waiting.
 */
export function outage(queue: ActivationQueue, error: unknown): boolean {
  if (error instanceof BlackboardError) return false;
  return queue.isOutage ? queue.isOutage(error) : true;
}

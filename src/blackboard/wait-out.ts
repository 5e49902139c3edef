import { setTimeout as sleep } from 'node:timers/promises';
import type { Commit, CommitResult } from './types.js';

/** How {@link waitOut} tells an outage and when it stops waiting. */
export interface WaitOutOptions {
  /**
   * Whether an error means the store could not be reached for now (a restart, a failover, a dropped
   * connection), e.g. `PostgresStore.isOutage`. A store closed under the caller is not: waiting does not
   * mend it.
   */
  readonly isOutage: (error: unknown) => boolean;
  /** Stops the waiting: the outage's last error is thrown (the activation ended, the worker is closing). */
  readonly signal?: AbortSignal | undefined;
  /** Told each outage before the wait that follows it (to count or trace them). */
  readonly onOutage?: (error: unknown, attempt: number) => void;
}

/** The first wait after an outage error, in ms; doubled after each failed try. */
export const OUTAGE_FIRST_WAIT_MS = 100;
/** The longest wait between two tries through an outage, in ms. */
export const OUTAGE_MAX_WAIT_MS = 2_000;

/**
 * Runs `op` until it succeeds, waiting out outages: after an error that `isOutage` takes for one, it waits
 * (100 ms, doubled up to 2 s, with jitter) and calls `op` again with the next attempt number; any other
 * error is thrown at once. It never gives up on its own: only `signal` ends the waiting, and then the last
 * error is thrown, so the caller always hears how it ended.
 *
 * `op` must be safe to run again after an error whose answer was lost (the write may have landed): give
 * commits an idempotency key, or look for the write first when `attempt > 1`.
 *
 * @example
 * const r = await waitOut(() => board.commit({ ...commit, idempotencyKey: 'a1:1' }), {
 *   isOutage: (e) => board.isOutage(e),
 *   signal: activation.signal,
 * });
 */
export async function waitOut<T>(op: (attempt: number) => Promise<T>, options: WaitOutOptions): Promise<T> {
  for (let attempt = 1, delay = OUTAGE_FIRST_WAIT_MS; ; attempt += 1) {
    try {
      return await op(attempt);
    } catch (error) {
      if (options.signal?.aborted || !options.isOutage(error)) throw error;
      options.onOutage?.(error, attempt);
      // Jitter: processes that lost the database together do not all come back on the same tick.
      const wait = delay / 2 + Math.random() * (delay / 2);
      delay = Math.min(delay * 2, OUTAGE_MAX_WAIT_MS);
      try {
        await sleep(wait, undefined, options.signal ? { signal: options.signal } : undefined);
      } catch {
        throw error;
      }
    }
  }
}

/**
 * Commits to `board`, waiting out its store's outages until `signal` aborts, when the commit carries an
 * idempotency key: tried again after an answer that was lost, it is found as a duplicate (and the board
 * shows it), not applied twice. A commit without a key is tried once: its outage error is thrown, since it
 * may have landed.
 *
 * @example
 * const r = await commitWaitingOut(board, { ...commit, idempotencyKey: `${activationId}:1` }, signal);
 */
export function commitWaitingOut(
  board: { commit(commit: Commit): Promise<CommitResult>; isOutage(error: unknown): boolean },
  commit: Commit,
  signal?: AbortSignal,
): Promise<CommitResult> {
  if (commit.idempotencyKey === undefined) return board.commit(commit);
  return waitOut(() => board.commit(commit), { isOutage: (e) => board.isOutage(e), signal });
}

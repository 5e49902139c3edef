/**
 * Time, as every part of Hearsay reads it: timestamps of commits, timers for XState's delayed transitions,
 * backoffs between model retries, simulated latency. One interface for all of them: pass `systemClock` (the
 * default everywhere) or a `VirtualClock` (from `hearsay/testing`) for deterministic runs. A part that needs
 * only some of it (the board reads just `now()`) takes a `Pick<Clock, …>`.
 *
 * @example
 * const runtime = createRuntime({ ...team, clock: systemClock });
 */
export interface Clock {
  /** Milliseconds since the epoch (or since the start of a virtual clock). */
  now(): number;
  /** Calls `fn` after `ms` milliseconds of this clock; returns a handle for `clearTimeout`. */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
  /** Resolves after `ms` (on this clock); rejects with the signal's reason when it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** `sleep` built on a clock's timers; it lets go of the signal when it ends, so listeners never pile up. */
export function sleepOn(
  clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>,
  ms: number,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clock.clearTimeout(id);
      reject(signal?.reason);
    };
    const id = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The wall clock: `Date.now()` and Node's timers. The default `clock` of every part that takes one; pass it
 * yourself where you take a {@link Clock} too, so a test can hand yours a `VirtualClock` instead.
 *
 * @example
 * import { systemClock } from 'hearsay';
 *
 * const started = systemClock.now();
 * await systemClock.sleep(100); // rejects with the reason if a signal passed as second argument aborts
 * console.log(`${systemClock.now() - started} ms`);
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as NodeJS.Timeout),
  sleep: (ms, signal) => sleepOn(systemClock, ms, signal),
};

import type { RunHandle } from './create-runtime.js';

/**
 * A run {@link Runtime.resumeAll} (or `resumeOnStart`) could not pick up. The others were resumed all the same.
 *
 * - `empty`: the store holds the run but nothing on its log (a start that failed before its first event, or
 *   a start refused by a version that left such runs behind). Start it again under its id, or delete it with
 *   `runtime.deleteRun(runId)`.
 * - `failed`: resuming it threw (`error` says why: the store could not be reached, its log is damaged, …).
 *   Mend the cause and call `resumeAll()` again: runs already in progress are skipped.
 *
 * @example
 * const resumed = await runtime.resumeAll();
 * for (const f of resumed.failures) console.error(`run ${f.runId} not resumed (${f.code}): ${f.message}`);
 */
export interface ResumeFailure {
  readonly runId: string;
  readonly code: 'empty' | 'failed';
  readonly message: string;
  /** What was thrown while resuming it. */
  readonly error: unknown;
}

/**
 * The handles of the runs `resumeAll` picked up (an array, as before), with the runs it could not resume in
 * `failures` (empty when every run was resumed; a property that is not enumerable, so the array compares and
 * serialises as before).
 *
 * @example
 * const resumed = await runtime.resumeAll();
 * console.log(`${resumed.length} runs resumed, ${resumed.failures.length} not`);
 */
export type ResumedRuns<TBoard> = RunHandle<TBoard>[] & { readonly failures: readonly ResumeFailure[] };

/** @internal Thrown by `resume` for a run the store holds with nothing on its log. */
export class NothingToResume extends TypeError {
  readonly code = 'empty';
}

/** @internal The report of one run resumeAll could not resume. */
export function resumeFailure(runId: string, error: unknown): ResumeFailure {
  const said = error instanceof Error ? error.message : String(error);
  return error instanceof NothingToResume
    ? { runId, code: 'empty', message: said, error }
    : { runId, code: 'failed', message: `Resuming run "${runId}" failed: ${said}`, error };
}

/**
 * @internal Handles and failures, as one {@link ResumedRuns}. `failures` is not enumerable: the array
 * compares, prints and serialises as the plain array of handles it was before.
 */
export const resumedRuns = <TBoard>(
  handles: RunHandle<TBoard>[],
  failures: ResumeFailure[],
): ResumedRuns<TBoard> =>
  Object.defineProperty(handles, 'failures', {
    value: Object.freeze(failures),
    enumerable: false,
  }) as ResumedRuns<TBoard>;

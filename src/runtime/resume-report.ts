import type { ResumedRuns, ResumeFailure, RunHandle } from './types.js';

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

import { BlackboardError } from '../blackboard/errors.js';
import { nameProblem } from '../blackboard/run-id.js';
import type { WorkerOptions } from './worker.js';

/**
 * The most characters a worker's queue name or id may have: both reach the database (rows, notifications),
 * a child team's queue adds `.<team>` to its parent's.
 *
 * @example
 * createRuntime({ ...team, store, role: 'worker', worker: { id: workerId.slice(0, MAX_WORKER_NAME_LENGTH) } });
 */
export const MAX_WORKER_NAME_LENGTH = 200;

/**
 * Throws a `BlackboardError` with code `invalid_id` when the queue name or the id in `options` is not 1 to
 * {@link MAX_WORKER_NAME_LENGTH} printable characters (the rules of run ids), before any of it reaches a store.
 */
export function checkWorkerNames(options: WorkerOptions | undefined): void {
  for (const field of ['queue', 'id'] as const) {
    const value = options?.[field];
    if (value === undefined) continue;
    const problem = nameProblem(value, MAX_WORKER_NAME_LENGTH);
    if (problem !== undefined)
      throw new BlackboardError(
        'invalid_id',
        `worker.${field} ${problem}: use 1 to ${MAX_WORKER_NAME_LENGTH} printable characters.`,
        { details: { id: `worker.${field}`, problem } },
      );
  }
}

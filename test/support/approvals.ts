import type { LogEvent } from '../../src/blackboard/index.js';
import type { RunHandle, RunResult } from '../../src/runtime/index.js';
import { TOPICS } from '../../src/scheduler/index.js';

/**
 * Starts a run and answers each approval request as soon as it appears on the log (as an operator
 * watching the inspector would). Returns the run's result and its whole log.
 */
export async function runAnsweringApprovals<TBoard>(
  start: () => Promise<RunHandle<TBoard>>,
  answer: (requestId: string) => Promise<unknown>,
): Promise<{ result: RunResult<TBoard>; log: LogEvent[] }> {
  const handle = await start();
  const log: LogEvent[] = [];
  handle.board.subscribe({ from: 1 }, (e) => {
    log.push(e);
    if (
      e.type === 'message' &&
      e.topic === TOPICS.approval &&
      (e.payload as { phase: string }).phase === 'requested'
    ) {
      void answer((e.payload as { requestId: string }).requestId);
    }
  });
  return { result: await handle.result, log };
}

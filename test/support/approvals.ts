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
  /**
   * Resumes the run when it paused before an answer reached it (everything in flight was waiting for a
   * human at that moment), as the hub does when an operator answers a paused run.
   */
  resume?: (runId: string) => Promise<RunHandle<TBoard>>,
): Promise<{ result: RunResult<TBoard>; log: LogEvent[] }> {
  let handle = await start();
  const log: LogEvent[] = [];
  const answers: Promise<unknown>[] = [];
  const follow = (from: number) =>
    handle.board.subscribe({ from }, (e) => {
      log.push(e);
      if (
        e.type === 'message' &&
        e.topic === TOPICS.approval &&
        (e.payload as { phase: string }).phase === 'requested'
      ) {
        answers.push(answer((e.payload as { requestId: string }).requestId));
      }
    });
  follow(1);
  for (;;) {
    const result = await handle.result;
    if (result.outcome !== 'awaiting_approval' || !resume) return { result, log };
    await Promise.all(answers);
    const seen = log.at(-1)?.seq ?? 0;
    handle = await resume(result.runId);
    follow(seen + 1);
  }
}

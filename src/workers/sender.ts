import type { BoardEvent, StepOutcome } from '../actors/index.js';
import { waitOut } from '../blackboard/index.js';
import type { RemoteAgentHost, StepSender } from './remote-host.js';
import { type ActivationQueue, outage, type StepMessage } from './types.js';

/**
 * Sends a run's steps to workers through the store's activation queue, and hands each result back to the
 * scheduler: the agent's shadow follows the snapshot the worker reports, what the step was charged is
 * charged to the run (budgets and breakers see it), and its delegations are admitted as a local agent's.
 */
export class QueueSender implements StepSender {
  /**
   * @param caughtUp reads the run's log into its board: a step's result is handed back only after the
   *   scheduler's board has seen the commits the step made (a worker commits straight to the store).
   */
  constructor(
    private readonly queue: ActivationQueue,
    private readonly name: string,
    private readonly caughtUp: (runId: string) => Promise<unknown>,
  ) {}

  async send(
    step: { readonly host: RemoteAgentHost; readonly board: BoardEvent; readonly message: StepMessage },
    signal: AbortSignal,
  ): Promise<StepOutcome> {
    const { host, board, message } = step;
    const key = { runId: message.runId, activationId: message.activationId, attempt: message.attempt };
    if (signal.aborted) return { status: 'aborted' };
    try {
      // The database being unreachable for a while (a restart, a failover) is not the agent's failure:
      // dispatching and waiting are tried again until they get through, or the activation is stopped.
      await this.persist(signal, () => this.queue.dispatch(this.name, message));
      const result = await this.persist(signal, () => this.queue.awaitResult(key, signal));
      if (result === undefined || signal.aborted) {
        // Tried through an outage too: a step left running would go on committing to a stopped activation.
        await this.persist(AbortSignal.timeout(CANCEL_TRIES_MS), () =>
          this.queue.cancel(key, 'the activation was stopped'),
        ).catch(() => undefined);
        return { status: 'aborted' };
      }
      await this.persist(signal, () => this.caughtUp(message.runId));
      host.finished(result);
      for (const usage of result.usage ?? []) board.tools.charge(usage);
      for (const d of result.delegations ?? [])
        await host.request({ type: 'hearsay.delegate', to: d.to, task: d.task });
      if (result.status === 'failed')
        return {
          status: 'failed',
          error: new Error(result.error ?? `${message.agentId} failed on a worker`),
        };
      return result.status === 'done' ? { status: 'done', output: undefined } : { status: 'settled' };
    } catch (error) {
      return { status: 'failed', error };
    }
  }

  /**
   * Runs `op` until it succeeds, waiting out the queue's outages; `undefined` once `signal` has aborted (the
   * activation was stopped: what it waited for no longer matters, and the caller cancels the step).
   */
  private async persist<T>(signal: AbortSignal, op: () => Promise<T>): Promise<T | undefined> {
    if (signal.aborted) return undefined;
    try {
      return await waitOut(op, { isOutage: (error) => outage(this.queue, error), signal });
    } catch (error) {
      if (signal.aborted) return undefined;
      throw error;
    }
  }
}

/** How long a stopped step's cancellation is tried through an outage. */
const CANCEL_TRIES_MS = 30_000;

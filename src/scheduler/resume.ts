import type { LogEvent } from '../blackboard/index.js';
import { readRecord } from '../protocol/records.js';
import { approvalsFrom, type RecordedApproval } from './approvals.js';
import { addUsage, emptySpent } from './budget.js';
import { type ActivationRecord, TOPICS } from './events.js';

type StartedRecord = Extract<ActivationRecord, { phase: 'started' }>;

import type { Tally } from '../llm/index.js';
import type { RunOutcome } from './outcome.js';
import { TaintTracker } from './taint.js';

/** What a run's log says about the run when it stopped, for picking it up again. */
export interface ResumeState {
  /** Each singleton agent's persisted XState snapshot, as of its last completed activation. */
  readonly actors: ReadonlyMap<string, unknown>;
  /** Activations started and not finished: to run again, under the same ids (their commits are idempotent). */
  readonly inflight: readonly Pick<
    StartedRecord,
    'activationId' | 'agentId' | 'key' | 'depth' | 'attempt' | 'enabledBy'
  >[];
  readonly depthOf: ReadonlyMap<string, number>;
  readonly spent: ReadonlyMap<string, Tally>;
  /** Activations so far (new ids continue after it). */
  readonly activations: number;
  /** Approval requests on the log, answered or not. */
  readonly approvals: ReadonlyMap<string, RecordedApproval>;
  /** Tainted activations and paths, replayed from the log. */
  readonly taint: ReturnType<TaintTracker['state']>;
}

/**
 * Reads a run's state from its log: the outcome if it ended, otherwise what is needed to resume it.
 * Pure: the log is the only source of truth.
 */
export function resumeStateFrom(
  log: readonly LogEvent[],
): { ended: { outcome: RunOutcome; reason: string } } | { state: ResumeState } {
  const actors = new Map<string, unknown>();
  const inflight = new Map<string, ResumeState['inflight'][number]>();
  const depthOf = new Map<string, number>();
  const spent = new Map<string, Tally>();
  let activations = 0;
  const taint = new TaintTracker();
  for (const e of log) {
    if (e.type === 'commit') taint.observe(e);
    if (e.type !== 'message' || e.author !== 'scheduler') continue;
    // A run paused for approvals is not over: it goes on once they are answered.
    if (e.topic === TOPICS.outcome) {
      const r = readRecord(e, TOPICS.outcome);
      if (r.outcome !== 'awaiting_approval')
        return { ended: { outcome: r.outcome as RunOutcome, reason: r.reason } };
    } else if (e.topic === TOPICS.actor) {
      const r = readRecord(e, TOPICS.actor);
      actors.set(r.agentId, r.snapshot);
    } else if (e.topic === TOPICS.model || e.topic === TOPICS.child || e.topic === TOPICS.taint) {
      // Model output, and a child run's board (its agents' model output), taint the activation that got it.
      const r =
        e.topic === TOPICS.model
          ? readRecord(e, TOPICS.model)
          : e.topic === TOPICS.child
            ? readRecord(e, TOPICS.child)
            : readRecord(e, TOPICS.taint);
      const gotUntrusted = ('type' in r && r.type === 'call') || ('phase' in r && r.phase === 'ended');
      if (gotUntrusted || e.topic === TOPICS.taint) taint.markActivation(r.activationId, r.agentId);
    } else if (e.topic === TOPICS.usage) {
      const r = readRecord(e, TOPICS.usage);
      const tally = spent.get(r.agentId) ?? emptySpent();
      addUsage(tally, r.usage);
      spent.set(r.agentId, tally);
    } else if (e.topic === TOPICS.activation) {
      const r = readRecord(e, TOPICS.activation);
      if (r.phase === 'started') {
        inflight.set(r.activationId, {
          activationId: r.activationId,
          agentId: r.agentId,
          ...(r.key === undefined ? {} : { key: r.key }),
          depth: r.depth,
          attempt: r.attempt,
          enabledBy: r.enabledBy,
        });
        depthOf.set(r.activationId, r.depth);
        const n = Number(r.activationId.slice(r.activationId.lastIndexOf('#') + 1));
        if (Number.isInteger(n)) activations = Math.max(activations, n);
      } else if (
        r.phase === 'completed' ||
        (r.phase === 'aborted' && !r.resumable) ||
        (r.phase === 'failed' && r.next !== 'retry')
      ) {
        inflight.delete(r.activationId);
      }
    }
  }
  return {
    state: {
      actors,
      inflight: [...inflight.values()],
      depthOf,
      spent,
      activations,
      approvals: approvalsFrom(log),
      taint: taint.state(),
    },
  };
}

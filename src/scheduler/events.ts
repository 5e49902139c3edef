import type { Path } from '../blackboard/index.js';

export { TOPICS } from '../protocol/topics.js';

/** Why the scheduler did not activate a candidate. */
export type RefusalReason =
  | 'depth'
  | 'budget'
  | 'breaker'
  | 'concurrency'
  | 'cycle'
  | 'vetoed'
  | 'activation_limit'
  | 'claimed_elsewhere';

/** What enabled an activation: the commit(s) whose writes concern the agent. */
export interface Enabler {
  readonly seq: number;
  readonly version: number;
  /** The paths the enabling commit wrote (on the log: the first {@link RECORDED_PATHS}, see `morePaths`). */
  readonly paths: readonly Path[];
  /** On the log: how many more paths the commit wrote than are listed. */
  readonly morePaths?: number;
  /** The activation that made the enabling commit (absent for the run's input and start). */
  readonly activationId?: string;
  /** Depth of that activation (0 for the run's start). */
  readonly depth: number;
}

/**
 * The idempotency key of an activation's n-th commit in an attempt, wherever the step runs (here, or on a
 * worker): a step run again after a failure, a crash or a lost lease cannot apply a commit that landed.
 */
export const stepCommitKey = (activationId: string, n: number): string => `${activationId}:${n}`;

/** How many of an enabling commit's paths a record lists. */
export const RECORDED_PATHS = 16;

/**
 * An enabler as records carry it: a commit that wrote thousands of paths (a planner filling a pool) would
 * otherwise repeat them all in the record of every activation and agenda item it enabled.
 */
export function recordedEnabler(enabler: Enabler): Enabler {
  if (enabler.paths.length <= RECORDED_PATHS) return enabler;
  return {
    ...enabler,
    paths: enabler.paths.slice(0, RECORDED_PATHS),
    morePaths: enabler.paths.length - RECORDED_PATHS + (enabler.morePaths ?? 0),
  };
}

/** A record of one scheduling decision or activation step. */
export type ActivationRecord =
  | {
      readonly phase: 'started';
      readonly activationId: string;
      readonly agentId: string;
      readonly key?: string;
      readonly depth: number;
      readonly attempt: number;
      readonly enabledBy: Enabler;
      readonly delegatedBy?: string;
      /** The activation that delegated this one (its span is this one's parent). */
      readonly delegatedByActivation?: string;
      /** The W3C traceparent of the attempt's span (when the run is traced). */
      readonly traceparent?: string;
    }
  | {
      readonly phase: 'refused';
      readonly agentId: string;
      readonly key?: string;
      readonly reason: RefusalReason;
      readonly detail: string;
      readonly enabledBy: Enabler;
    }
  | {
      readonly phase: 'completed';
      readonly activationId: string;
      readonly agentId: string;
      readonly key?: string;
    }
  | {
      readonly phase: 'failed';
      readonly activationId: string;
      readonly agentId: string;
      readonly key?: string;
      readonly attempt: number;
      readonly error: string;
      /** What happens next: another attempt, the fallback agent, or nothing (recorded as a run failure). */
      readonly next: 'retry' | 'fallback' | 'none';
    }
  | {
      readonly phase: 'aborted';
      readonly activationId: string;
      readonly agentId: string;
      readonly reason: string;
      /** Set when the run paused for approvals: the activation runs again when the run is resumed. */
      readonly resumable?: boolean;
    };

/** One ranked candidate of a scheduling cycle, with why it is eligible and its rating. */
export interface AgendaItem {
  readonly agentId: string;
  readonly key?: string;
  readonly rank: number;
  readonly priority: number;
  readonly estimate?: { readonly tokens?: number; readonly cost?: number };
  readonly budgetLeft?: { readonly tokens?: number; readonly cost?: number };
  readonly why: { readonly seq: number; readonly paths: readonly Path[]; readonly morePaths?: number };
  readonly decision: 'activate' | RefusalReason;
}

/** The agenda of one scheduling cycle. */
export interface AgendaRecord {
  readonly cycle: number;
  readonly version: number;
  readonly items: readonly AgendaItem[];
  /**
   * Candidates deferred for concurrency beyond the first {@link AGENDA_DEFERRED_SHOWN}, counted instead of
   * listed: a pool with thousands of waiting items would otherwise repeat them all in every cycle's record.
   */
  readonly moreDeferred?: number;
}

/** How many candidates deferred for concurrency an agenda record lists (the rest are counted). */
export const AGENDA_DEFERRED_SHOWN = 20;

/** An ended span: one attempt of an activation (more kinds come with tracing). */
export interface SpanRecord {
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  /** Run clock milliseconds. */
  readonly start: number;
  readonly end: number;
  readonly status: 'ok' | 'error' | 'aborted';
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
}

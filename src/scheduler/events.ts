import type { PayloadOf } from '../protocol/records.js';
import type { TOPICS } from '../protocol/topics.js';

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

/**
 * What enabled an activation: the commit whose writes concern the agent (`seq`, `version`, the `paths` it
 * wrote — on the log the first {@link RECORDED_PATHS}, with `morePaths` counting the rest — and the
 * `activationId` and `depth` of the activation that made it; absent and 0 for the run's input and start).
 */
export type Enabler = Extract<ActivationRecord, { phase: 'started' }>['enabledBy'];

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

/** A record of one scheduling decision or activation step (`hearsay.activation`; its schema is in protocol/records.ts). */
export type ActivationRecord = PayloadOf<typeof TOPICS.activation>;

/** One candidate of a cycle, ranked, with the scheduler's decision about it. */
export type AgendaItem = AgendaRecord['items'][number];

/** One scheduling cycle (`hearsay.agenda`). */
export type AgendaRecord = PayloadOf<typeof TOPICS.agenda>;

/** How many candidates deferred for concurrency an agenda record lists (the rest are counted). */
export const AGENDA_DEFERRED_SHOWN = 20;

/** An ended span: one attempt of an activation (`hearsay.span`). */
export type SpanRecord = PayloadOf<typeof TOPICS.span>;

import type { EndedRun } from '../blackboard/index.js';

/**
 * How long a runtime keeps finished runs in its store: the newest `maxRuns` and/or those that ended less
 * than `maxAgeMs` ago (on the runtime's clock). A run is finished when it ended with a final outcome (a
 * run paused `awaiting_approval` is not). The policy is applied whenever a run ends and when you call
 * `runtime.prune()`; what it drops is deleted from the store, durable stores included.
 *
 * @example
 * createRuntime({ ...team, retention: { maxRuns: 500, maxAgeMs: 24 * 3600_000 } });
 */
export interface RetentionPolicy {
  /** Keep at most this many finished runs (the newest). */
  readonly maxRuns?: number;
  /** Delete finished runs that ended longer ago than this. */
  readonly maxAgeMs?: number;
}

/**
 * The retention of a runtime whose store is in memory and who said nothing: the newest 1,000 finished
 * runs. A durable store (file, PostgreSQL) keeps every run unless a policy is given: deleting durable data
 * takes the user asking.
 *
 * @example
 * createRuntime({ ...team, retention: { ...DEFAULT_MEMORY_RETENTION, maxAgeMs: 3600_000 } });
 */
export const DEFAULT_MEMORY_RETENTION: RetentionPolicy = { maxRuns: 1000 };

/** Throws on a policy that cannot mean anything (a programming error). */
export function checkRetention(policy: RetentionPolicy | 'keep-all'): void {
  if (policy === 'keep-all') return;
  for (const key of ['maxRuns', 'maxAgeMs'] as const) {
    const v = policy[key];
    if (v !== undefined && !(Number.isInteger(v) && v >= 0))
      throw new TypeError(`retention.${key} must be a non-negative integer, got ${String(v)}.`);
  }
}

/**
 * The finished runs a policy drops (pure): those beyond the newest `maxRuns`, and those that ended
 * more than `maxAgeMs` before `now`. `ended` is oldest first.
 *
 * @example
 * runsToDrop([{ runId: 'a', endedAt: 1 }, { runId: 'b', endedAt: 2 }], { maxRuns: 1 }, 3); // ['a']
 */
export function runsToDrop(ended: readonly EndedRun[], policy: RetentionPolicy, now: number): string[] {
  const out = new Set<string>();
  if (policy.maxRuns !== undefined) {
    for (const r of ended.slice(0, Math.max(0, ended.length - policy.maxRuns))) out.add(r.runId);
  }
  if (policy.maxAgeMs !== undefined) {
    for (const r of ended) if (now - r.endedAt > policy.maxAgeMs) out.add(r.runId);
  }
  return [...out];
}

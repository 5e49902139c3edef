import type { RunOutcome } from './types.js';

/** What ended the run once nothing can advance and nothing is in flight. */
export interface QuiescenceFacts {
  /** The last reason candidates were refused for, if it was depth or a budget. */
  readonly refusedFor: 'depth' | 'budget' | undefined;
  readonly depthLimit: number;
  readonly failures: readonly { readonly agentId: string; readonly error: string }[];
  readonly hasGoal: boolean;
}

/**
 * The outcome of a run that can no longer advance: depth or budget when they stopped candidates,
 * `failed` when agents failed for good, `quiescent` otherwise.
 */
export function quiescentOutcome(f: QuiescenceFacts): { outcome: RunOutcome; reason: string } {
  if (f.refusedFor === 'depth') {
    return {
      outcome: 'depth_exceeded',
      reason: `an activation was refused at the depth limit (${f.depthLimit}) and nothing else can advance`,
    };
  }
  if (f.refusedFor === 'budget')
    return { outcome: 'budget_exceeded', reason: 'budgets stopped the agents that could advance' };
  if (f.failures.length > 0) {
    const list = f.failures.map((x) => `${x.agentId}: ${x.error}`).join('; ');
    return {
      outcome: 'failed',
      reason: `nothing can advance after ${f.failures.length} unrecovered failure(s): ${list}`,
    };
  }
  return {
    outcome: 'quiescent',
    reason: f.hasGoal ? 'nothing can advance and the goal was not reached' : 'nothing can advance',
  };
}

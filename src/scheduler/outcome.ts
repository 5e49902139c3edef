/** How a run ended. */
export type RunOutcome =
  | 'completed'
  | 'quiescent'
  | 'budget_exceeded'
  | 'depth_exceeded'
  | 'activation_limit'
  | 'failed'
  | 'cancelled'
  | 'awaiting_approval';

/** What ended the run once nothing can advance and nothing is in flight. */
export interface QuiescenceFacts {
  /** Why candidates were refused, if a limit did (the activation limit first, then depth, then budgets). */
  readonly refusedFor: 'activation_limit' | 'depth' | 'budget' | undefined;
  readonly depthLimit: number;
  /** The run's activation limit (`limits.maxActivations`). */
  readonly maxActivations: number;
  readonly failures: readonly { readonly agentId: string; readonly error: string }[];
  /** Agents whose breaker is open (their budget is spent, or refused a model call). */
  readonly breakers?: readonly string[];
  readonly hasGoal: boolean;
}

/**
 * The outcome of a run that can no longer advance: the limit that stopped candidates (activation limit,
 * depth, budgets: each its own outcome), `failed` when agents failed for good, `quiescent` otherwise.
 */
export function quiescentOutcome(f: QuiescenceFacts): { outcome: RunOutcome; reason: string } {
  if (f.refusedFor === 'activation_limit') {
    return {
      outcome: 'activation_limit',
      reason: `the run reached its activation limit (limits.maxActivations: ${f.maxActivations}) and nothing else can advance`,
    };
  }
  if (f.refusedFor === 'depth') {
    return {
      outcome: 'depth_exceeded',
      reason: `an activation was refused at the depth limit (${f.depthLimit}) and nothing else can advance`,
    };
  }
  if (f.refusedFor === 'budget')
    return {
      outcome: 'budget_exceeded',
      reason:
        f.breakers && f.breakers.length > 0
          ? `the budgets of ${f.breakers.join(', ')} are spent (breakers open) and nothing else can advance`
          : 'agent budgets stopped the agents that could advance (their breakers are open)',
    };
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

import type { Budget } from '../actors/index.js';
import type { Tally } from '../llm/index.js';

export const emptySpent = (): Tally => ({ tokens: 0, inputTokens: 0, outputTokens: 0, cost: 0 });

/** Adds a charge to a tally (tokens default to input + output when not given). */
export function addUsage(spent: Tally, usage: { readonly [K in keyof Tally]?: number | undefined }): void {
  spent.inputTokens += usage.inputTokens ?? 0;
  spent.outputTokens += usage.outputTokens ?? 0;
  spent.tokens += usage.tokens ?? (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0);
  spent.cost += usage.cost ?? 0;
}

/** Two tallies added up (what is spent plus what is held, say). */
export const plus = (a: Tally, b: Tally): Tally => ({
  tokens: a.tokens + b.tokens,
  inputTokens: a.inputTokens + b.inputTokens,
  outputTokens: a.outputTokens + b.outputTokens,
  cost: a.cost + b.cost,
});

/** True when a tally has reached a budget's token or cost limit. */
export function exhausted(spent: Tally, budget: Budget | undefined): boolean {
  if (!budget) return false;
  return (
    (budget.tokens !== undefined && spent.tokens >= budget.tokens) ||
    (budget.cost !== undefined && spent.cost >= budget.cost)
  );
}

/** What is left of a budget (only the limits it has). */
export function budgetLeft(spent: Tally, budget: Budget | undefined): Budget {
  const b = budget ?? {};
  return {
    ...(b.tokens === undefined ? {} : { tokens: b.tokens - spent.tokens }),
    ...(b.cost === undefined ? {} : { cost: b.cost - spent.cost }),
  };
}

/**
 * The tightest of several budgets: per limit (tokens, cost), the smallest any of them sets, never below 0;
 * a limit none sets stays unset. Undefined when none sets any.
 */
export function tighterBudget(...budgets: readonly (Budget | undefined)[]): Budget | undefined {
  const least = (key: 'tokens' | 'cost') => {
    const set = budgets.map((b) => b?.[key]).filter((x): x is number => x !== undefined);
    return set.length > 0 ? Math.max(0, Math.min(...set)) : undefined;
  };
  const tokens = least('tokens');
  const cost = least('cost');
  if (tokens === undefined && cost === undefined) return undefined;
  return { ...(tokens === undefined ? {} : { tokens }), ...(cost === undefined ? {} : { cost }) };
}

/** What a model call refused for budget means for the run (see {@link budgetRefusal}). */
export interface BudgetRefusal {
  /** `run`: the run's budget cannot pay for it; `agent`: the agent's cannot; `none`: only calls in flight hold it. */
  readonly stop: 'run' | 'agent' | 'none';
  readonly detail: string;
}

/**
 * Which budget refused a call needing `needed` tokens, from what each has left spent alone (calls in
 * flight that merely hold tokens will give back what they do not spend): the run's first, then the agent's.
 */
export function budgetRefusal(r: {
  readonly needed: number;
  readonly agentLeft: number | undefined;
  readonly runLeft: number | undefined;
}): BudgetRefusal {
  if (r.runLeft !== undefined && r.needed > r.runLeft)
    return {
      stop: 'run',
      detail: `a model call needs about ${r.needed} tokens and the run's budget has ${Math.max(0, r.runLeft)} left`,
    };
  if (r.agentLeft !== undefined && r.needed > r.agentLeft)
    return {
      stop: 'agent',
      detail: `a model call needs about ${r.needed} tokens and the agent's budget has ${Math.max(0, r.agentLeft)} left`,
    };
  return {
    stop: 'none',
    detail: `a model call needs about ${r.needed} tokens, more than calls in flight leave of the budget`,
  };
}

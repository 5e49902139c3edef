import type { Enabler, RefusalReason } from './events.js';
import type { RunLimits } from './types.js';

/** Why a candidate is not activated now. */
export interface Refusal {
  readonly reason: RefusalReason;
  readonly detail: string;
}

/** What the admission rule looks at. */
export interface AdmissionInput {
  readonly agentId: string;
  readonly vetoed: boolean;
  readonly breakerOpen: boolean;
  /** The depth the activation would have. */
  readonly depth: number;
  readonly limits: RunLimits;
  /** Activations so far in the run. */
  readonly activations: number;
  /** Activations in flight in the run, and of this agent. */
  readonly inflight: number;
  readonly running: number;
  readonly concurrency: number;
}

/**
 * Whether a ranked candidate may be activated now, in a fixed order of checks: an operator's veto, the
 * agent's breaker, causal depth, the run's activation limit, then concurrency (run-wide, then per
 * agent). `concurrency` is a deferral (the candidate is checked again when a slot frees); the others
 * are refusals.
 */
export function admit(c: AdmissionInput): Refusal | undefined {
  const { limits } = c;
  if (c.vetoed) return { reason: 'vetoed', detail: 'vetoed by an operator' };
  if (c.breakerOpen)
    return { reason: 'breaker', detail: `${c.agentId} spent its budget; its breaker is open` };
  if (c.depth > limits.depth)
    return { reason: 'depth', detail: `depth ${c.depth} exceeds the limit of ${limits.depth}` };
  if (c.activations >= limits.maxActivations) {
    return { reason: 'activation_limit', detail: `the run reached ${limits.maxActivations} activations` };
  }
  if (c.inflight >= limits.concurrency || c.running >= c.concurrency) {
    return {
      reason: 'concurrency',
      detail: `${c.inflight} in flight (run limit ${limits.concurrency}), ${c.running} of ${c.agentId} (limit ${c.concurrency})`,
    };
  }
  return undefined;
}

/**
 * Of two changes that concern an agent, the one to activate it for: the shallower cause (ties: the
 * newer). An agent re-enabled only by its own commits still goes one deeper each time, so loops end at
 * the depth limit; one that other work keeps concerning does not climb because it was busy.
 */
export function shallower(a: Enabler | undefined, b: Enabler): Enabler {
  return a !== undefined && a.depth < b.depth ? a : b;
}

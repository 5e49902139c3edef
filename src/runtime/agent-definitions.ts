/**
 * Refuses an agent that was not declared with `defineAgent` (a plain object written by hand, or cast to
 * `AgentDefinition`): it lacks the kind, concurrency and retry policy `defineAgent` fills in, and the
 * scheduler would run it as a pool without a `pool` (every activation failing with "pool.items threw").
 * A definition made by any copy of the package has them.
 *
 * @example
 * assertAgentDefinition(defineAgent({ id: 'writer', machine, watches: [['goal']], writes: [['draft']] }));
 */
export function assertAgentDefinition(agent: {
  readonly id: string;
  readonly kind?: unknown;
  readonly pool?: unknown;
  readonly concurrency?: unknown;
  readonly retry?: unknown;
}): void {
  const declared =
    (agent.kind === 'singleton' ||
      (agent.kind === 'pooled' && typeof agent.pool === 'object' && agent.pool !== null)) &&
    Number.isInteger(agent.concurrency) &&
    typeof agent.retry === 'object' &&
    agent.retry !== null;
  if (!declared)
    throw new TypeError(
      `Agent "${agent.id}" is not an agent definition: declare it with defineAgent({ id, machine, watches, writes }), which checks it and fills in its kind, concurrency and retry policy.`,
    );
}

/**
 * The authors the runtime writes to a run's log as, and names it records on decisions (`by`): no agent may
 * take one of them as its id, or its commits and messages would pass for the runtime's own (an approval
 * record written as `scheduler`, an answer `by: 'policy'`). One list, used by `defineAgent`,
 * `createRuntime`, the hub (remote agents and `agent:<id>` roles) and `hostAgents`.
 *
 * - `scheduler`: scheduling decisions, approval requests, outcomes, traces.
 * - `operator`: approvals answered through the runtime's API, the hub or the CLI.
 * - `input`: the commit of a run's input.
 * - `policy`: approvals given by `approvalPolicy`.
 * - `timeout`: approvals that timed out.
 * - `runtime`, `hub`: reserved for the runtime and the hub.
 *
 * @example
 * import { RESERVED_AGENT_IDS } from 'hearsay';
 * RESERVED_AGENT_IDS.has('policy'); // true: defineAgent({ id: 'policy', … }) throws
 */
export const RESERVED_AGENT_IDS: ReadonlySet<string> = new Set([
  'scheduler',
  'operator',
  'input',
  'policy',
  'timeout',
  'runtime',
  'hub',
]);

/**
 * Thrown when an agent is declared or registered under a reserved id (a programming error), or as
 * `__proto__`, which JavaScript objects keyed by agent id (usage tables, JSON records) cannot hold.
 *
 * @example
 * try { defineAgent({ id: 'policy', … }); } catch (e) { if (e instanceof ReservedAgentIdError) console.log(e.code); }
 */
export class ReservedAgentIdError extends TypeError {
  readonly code = 'reserved_agent_id' as const;
  constructor(readonly agentId: string) {
    super(
      agentId === '__proto__'
        ? '"__proto__" cannot be an agent id (objects keyed by agent id could not hold it); name the agent otherwise.'
        : `"${agentId}" is reserved for the runtime (${[...RESERVED_AGENT_IDS].join(', ')}); name the agent otherwise.`,
    );
    this.name = 'ReservedAgentIdError';
  }
}

/**
 * Throws {@link ReservedAgentIdError} when `agentId` is one of {@link RESERVED_AGENT_IDS}.
 *
 * @example
 * assertAgentIdAllowed('reviewer'); // fine; assertAgentIdAllowed('policy') throws
 */
export function assertAgentIdAllowed(agentId: string): void {
  if (isReservedAgentId(agentId)) throw new ReservedAgentIdError(agentId);
}

/**
 * Whether no agent may take `agentId`: one of {@link RESERVED_AGENT_IDS}, or `__proto__`.
 *
 * @example
 * isReservedAgentId('policy'); // true
 */
export function isReservedAgentId(agentId: string): boolean {
  return RESERVED_AGENT_IDS.has(agentId) || agentId === '__proto__';
}

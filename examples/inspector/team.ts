import { defineAgent, type RuntimeConfig, stepMachine } from '../../src/index.js';
import type { Board } from '../hub-and-spoke/board.js';
import { teamModels } from '../hub-and-spoke/model.js';
import { team } from '../hub-and-spoke/team.js';

/**
 * Publishes the report, an irreversible action: the publisher asks a human first, and the run waits for
 * the answer (from the inspector's Approvals tab, `hearsay approve`, or `runtime.approve`).
 */
export const publisher = defineAgent<Board>({
  id: 'publisher',
  watches: [['report']],
  writes: [['published']],
  machine: stepMachine<Board, string>({
    when: (b) => b.report !== undefined && b.published === undefined,
    work: async (event) => {
      const decision = await event.tools.requestApproval({
        action: 'publish_report',
        args: { channel: '#engineering', report: event.board.report },
        summary: 'Post the report to #engineering',
      });
      return decision.approved ? `posted to #engineering by approval of ${decision.by}` : 'withheld';
    },
    done: (d, where) => {
      d.published = where;
    },
  }),
});

/** The team demo plus the publisher, with the simulated model answering after `latencyMs`. */
export function inspectedTeam(latencyMs: number) {
  return {
    ...team,
    agents: [...team.agents, publisher],
    goal: (b) => b.published !== undefined,
    models: teamModels(latencyMs).client,
  } satisfies RuntimeConfig<typeof Board>;
}

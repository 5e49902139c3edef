import { defineAgent, type RuntimeConfig, stepMachine, type ToolDefinition } from 'hearsay';
import { z } from 'zod';
import type { Board } from '../hub-and-spoke/board.js';
import { teamModels } from '../hub-and-spoke/model.js';
import { team } from '../hub-and-spoke/team.js';

/** Posts to a channel (simulated here): irreversible, so it runs only with an approval. */
const publishReport: ToolDefinition = {
  name: 'publish_report',
  description: 'Posts the report to a channel.',
  parameters: z.object({ channel: z.string(), report: z.unknown() }),
  irreversible: true,
  run: (args) => `posted to ${(args as { channel: string }).channel}`,
};

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
      const args = { channel: '#engineering', report: event.board.report };
      const decision = await event.tools.requestApproval({
        action: 'publish_report',
        args,
        summary: 'Post the report to #engineering',
      });
      // Running the tool consumes the approval (once, on the run's log); without one it does not run.
      const [run] = await event.tools.runTools(
        [{ id: 'publish', name: 'publish_report', args, irreversible: true }],
        [publishReport],
        { approvals: [decision], missing: 'refuse' },
      );
      return run?.ok ? `posted to #engineering by approval of ${decision.by}` : 'withheld';
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

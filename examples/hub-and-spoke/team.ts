import type { RuntimeConfig } from 'hearsay';
import { coder, planner, researcher, reviewer, synthesizer } from './agents.js';
import { Board } from './board.js';
import { models } from './model.js';

/** The team's runtime configuration, shared by `npm start` and the tracing demo. */
export const team = {
  board: { schema: Board, initial: { goal: '', tasks: {} } },
  agents: [planner, researcher, coder, reviewer, synthesizer],
  goal: (b) => b.report !== undefined,
  // planner → worker → reviewer → worker (rework) → reviewer → synthesizer is six causal steps.
  limits: { depth: 8, budget: { cost: 1 } },
  models: models.client,
} satisfies RuntimeConfig<typeof Board>;

/**
 * An agent passed to `createRuntime` without `defineAgent` (a JavaScript user's plain object, or a config
 * cast to `AgentDefinition`) is refused when the runtime is created, with what to do. It used to be taken
 * for a pooled agent without a pool: the run ended `failed`, "a: pool.items threw: Cannot read properties
 * of undefined". A definition made by `defineAgent` is accepted, singleton or pooled.
 */
import {
  type AgentConfig,
  type AgentDefinition,
  createRuntime,
  defineAgent,
  Keyed,
  keyed,
  statusPool,
  stepMachine,
} from 'hearsay';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const schema = z.object({
  goal: z.string(),
  out: z.string().optional(),
  tasks: keyed(z.object({ status: z.enum(['open', 'claimed', 'done']) })),
});
type Board = z.output<typeof schema>;
const config: AgentConfig<Board> = {
  id: 'writer',
  watches: [['goal']],
  writes: [['out']],
  machine: stepMachine<Board, string>({
    when: (b) => b.goal !== '' && b.out === undefined,
    work: async (event) => event.board.goal.toUpperCase(),
    done: (d, out) => {
      d.out = out;
    },
  }),
};
const runtimeWith = (agents: AgentDefinition<Board>[]) =>
  createRuntime({
    board: { schema, initial: { goal: '', tasks: Keyed.empty() } },
    agents,
    goal: (b) => b.out !== undefined,
  });

describe('createRuntime with an agent not declared by defineAgent', () => {
  it('throws, naming the agent and defineAgent', () => {
    for (const agent of [
      config,
      { ...config, kind: 'pooled' },
      { ...config, kind: 'singleton' },
      { ...defineAgent<Board>(config), kind: 'other' },
    ])
      expect(() => runtimeWith([agent as unknown as AgentDefinition<Board>])).toThrow(
        /Agent "writer" is not an agent definition: declare it with defineAgent/,
      );
  });

  it('accepts defineAgent definitions, singleton and pooled, and runs them', async () => {
    const pooled = defineAgent<Board>({
      ...config,
      id: 'pooled',
      watches: [['tasks']],
      writes: [['tasks']],
      pool: statusPool((b: Board) => b.tasks),
    });
    const runtime = runtimeWith([defineAgent<Board>(config), pooled]);
    try {
      const result = await runtime.run({ goal: 'hi' });
      expect(result.outcome, result.reason).toBe('completed');
      expect(result.board.out).toBe('HI');
    } finally {
      await runtime.close();
    }
  });
});

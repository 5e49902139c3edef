/**
 * `cacheByReads` reuses a cached answer exactly until what the agent watches changes, keyed collections
 * included (regression: a Keyed collection hashed as `{}` whatever it held, so a grown collection was
 * answered from the cache with the stale answer).
 */
import { createModelClient, createRuntime, defineAgent, keyed, stepMachine, type Transport } from 'hearsay';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const Board = z.object({ tasks: keyed(z.object({ v: z.number() })), outs: z.array(z.string()) });
type Board = z.infer<typeof Board>;

function team() {
  const prompts: string[] = [];
  const transport: Transport = {
    name: 'counting',
    async send(request) {
      prompts.push(JSON.stringify(request.messages));
      return { text: `answer ${prompts.length}`, toolCalls: [], finishReason: 'stop' };
    },
  };
  const models = createModelClient({ transport, tiers: { large: { models: ['m'] } } });
  const summarizer = defineAgent<Board>({
    id: 'summarizer',
    watches: [['tasks']],
    writes: [['outs']],
    machine: stepMachine<Board, string>({
      when: (b) => b.outs.length < b.tasks.size,
      work: async (e) => {
        const r = await e.tools.model({
          messages: [{ role: 'user', content: 'summarise the tasks' }],
          temperature: 0,
          cacheByReads: true,
        });
        if (!r.ok) throw new Error(r.error.message);
        return r.text;
      },
      done: (d, out) => {
        d.outs.push(out);
      },
    }),
  });
  const feeder = defineAgent<Board>({
    id: 'feeder',
    watches: [['outs']],
    writes: [['tasks']],
    machine: stepMachine<Board, number>({
      when: (b) => b.outs.length === b.tasks.size && b.tasks.size < 3,
      work: async () => 1,
      done: (d) => {
        d.tasks.set(`t${d.tasks.size}`, { v: d.tasks.size });
      },
    }),
  });
  const runtime = createRuntime({
    board: { schema: Board, initial: { tasks: { t0: { v: 0 } }, outs: [] } },
    agents: [summarizer, feeder],
    models,
    goal: (b) => b.outs.length === 3,
    limits: { depth: 20 },
  });
  return { runtime, prompts };
}

describe('cacheByReads over a keyed collection', () => {
  it('asks the model again each time the collection it watches changes', async () => {
    const { runtime, prompts } = team();
    const result = await runtime.run();
    await runtime.close();
    expect(result.outcome).toBe('completed');
    // Three different collections, three answers: none of them served from the cache.
    expect(prompts).toHaveLength(3);
    expect(result.board.outs).toEqual(['answer 1', 'answer 2', 'answer 3']);
  });
});

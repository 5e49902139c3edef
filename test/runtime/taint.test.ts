import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type AgentDefinition, defineAgent, stepMachine } from '../../src/actors/index.js';
import { keyed } from '../../src/blackboard/index.js';
import { createModelClient, simulatedTransport, untrusted, untrustedSchema } from '../../src/llm/index.js';
import { createRuntime } from '../../src/runtime/index.js';
import { containsUntrusted } from '../../src/scheduler/index.js';

const Board = z.object({
  go: z.boolean(),
  note: z.string().optional(),
  draft: untrustedSchema(z.string()).optional(),
  done: keyed(z.string()),
});
type B = z.output<typeof Board>;
const models = createModelClient({ transport: simulatedTransport(), tiers: { large: { models: ['sim'] } } });

/** An agent that (optionally after a model call) asks to run an irreversible action and records what happened. */
function actor(
  id: string,
  options: { watches: string[][]; callsModel: boolean; when: (b: B) => boolean },
): AgentDefinition<B> {
  return defineAgent<B>({
    id,
    watches: options.watches as never,
    writes: [['done']],
    machine: stepMachine<B, string>({
      when: (b) => options.when(b) && !b.done.has(id),
      work: async (event) => {
        if (options.callsModel)
          await event.tools.model({ messages: [{ role: 'user', content: 'what now?' }] });
        const decision = await event.tools.requestApproval({ action: 'deploy', args: { id } });
        return decision.approved ? `approved by ${decision.by}` : 'refused';
      },
      done: (d, output) => void d.done.set(id, output),
    }),
  });
}

/** A writer that puts text on the board, as model output (untrusted) or as plain data. */
function writer(kind: 'model' | 'untrusted-value' | 'plain'): AgentDefinition<B> {
  return defineAgent<B>({
    id: `writer-${kind}`,
    watches: [['go']],
    writes: [['note'], ['draft']],
    machine: stepMachine<B, string>({
      when: (b) => b.go && b.note === undefined && b.draft === undefined,
      work: async (event) => {
        if (kind === 'model')
          await event.tools.model({ messages: [{ role: 'user', content: 'write a note' }] });
        return 'release notes';
      },
      done: (d, output) => {
        if (kind === 'untrusted-value')
          d.draft = untrusted(output, { agent: 'remote', activation: 'x', model: 'm' });
        else d.note = output;
      },
    }),
  });
}

const run = (agents: AgentDefinition<B>[]) =>
  createRuntime({
    board: { schema: Board, initial: { go: false, done: {} } },
    agents,
    models,
    limits: { approvalPolicy: 'tainted' },
  }).run({ go: true });

describe('taint and the approval policy', () => {
  it('lets the policy approve an irreversible action from an activation that saw no tainted data', async () => {
    const result = await run([actor('ops', { watches: [['go']], callsModel: false, when: (b) => b.go })]);
    expect(result.board.done.get('ops')).toBe('approved by policy');
  });

  it('needs a human once the activation called a model', async () => {
    const result = await run([actor('ops', { watches: [['go']], callsModel: true, when: (b) => b.go })]);
    expect(result.outcome).toBe('awaiting_approval');
  });

  it('follows taint through commits: a path written by an activation that called a model taints its readers', async () => {
    const reader = actor('ops', {
      watches: [['note']],
      callsModel: false,
      when: (b) => b.note !== undefined,
    });
    expect((await run([writer('model'), reader])).outcome).toBe('awaiting_approval');
    expect((await run([writer('plain'), reader])).board.done.get('ops')).toBe('approved by policy');
  });

  it('treats model output committed by anyone (a remote agent) as tainted', async () => {
    const reader = actor('ops', {
      watches: [['draft']],
      callsModel: false,
      when: (b) => b.draft !== undefined,
    });
    expect((await run([writer('untrusted-value'), reader])).outcome).toBe('awaiting_approval');
  });

  it("needs a human once the activation got a child run's board back", async () => {
    const Child = z.object({ topic: z.string(), answer: z.string().optional() });
    type C = z.output<typeof Child>;
    const answerer = defineAgent<C>({
      id: 'answerer',
      watches: [['topic']],
      writes: [['answer']],
      machine: stepMachine<C, string>({
        when: (b) => b.answer === undefined,
        work: async () => 'ship it',
        done: (d, output) => {
          d.answer = output;
        },
      }),
    });
    const ops = defineAgent<B>({
      id: 'ops',
      watches: [['go']],
      writes: [['done']],
      machine: stepMachine<B, string>({
        when: (b) => b.go && !b.done.has('ops'),
        work: async (event) => {
          // Plain strings copied out of the child's board: no model call in this activation itself.
          const child = await event.tools.startChildRun('research', { topic: 'release' });
          const decision = await event.tools.requestApproval({
            action: 'deploy',
            args: { child: child.board },
          });
          return decision.approved ? `approved by ${decision.by}` : 'refused';
        },
        done: (d, output) => void d.done.set('ops', output),
      }),
    });
    const result = await createRuntime({
      board: { schema: Board, initial: { go: false, done: {} } },
      agents: [ops],
      models,
      limits: { approvalPolicy: 'tainted' },
      children: {
        research: {
          board: { schema: Child, initial: { topic: '' } },
          agents: [answerer],
          goal: (b) => b.answer !== undefined,
        },
      },
    }).run({ go: true });
    expect(result.outcome).toBe('awaiting_approval');
  });

  it('finds model output anywhere inside a value', () => {
    expect(
      containsUntrusted({ a: [{ b: untrusted('x', { agent: 'a', activation: 'a#1', model: 'm' }) }] }),
    ).toBe(true);
    expect(containsUntrusted({ a: [{ b: 'x', provenance: { kind: 'human' } }] })).toBe(false);
  });
});

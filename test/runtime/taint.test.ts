import { describe, expect, it } from 'vitest';
import { fromPromise, setup } from 'xstate';
import { z } from 'zod';
import { type AgentDefinition, agentActions, type BoardEvent, defineAgent } from '../../src/actors/index.js';
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
const { commit } = agentActions<B>();
const models = createModelClient({ transport: simulatedTransport(), tiers: { large: { models: ['sim'] } } });

/** An agent that (optionally after a model call) asks to run an irreversible action and records what happened. */
function actor(
  id: string,
  options: { watches: string[][]; callsModel: boolean; when: (b: B) => boolean },
): AgentDefinition<B> {
  const work = fromPromise(async ({ input }: { input: BoardEvent<B> }) => {
    if (options.callsModel) await input.tools.model({ messages: [{ role: 'user', content: 'what now?' }] });
    const decision = await input.tools.requestApproval({ action: 'deploy', args: { id } });
    return decision.approved ? `approved by ${decision.by}` : 'refused';
  });
  return defineAgent<B>({
    id,
    watches: options.watches as never,
    writes: [['done']],
    machine: setup({ types: { events: {} as BoardEvent<B> }, actors: { work } }).createMachine({
      initial: 'idle',
      states: {
        idle: {
          on: {
            board: {
              guard: ({ event }) => options.when(event.board) && !event.board.done.has(id),
              target: 'working',
            },
          },
        },
        working: {
          invoke: {
            src: 'work',
            input: ({ event }) => event as BoardEvent<B>,
            onDone: {
              target: 'idle',
              actions: commit(
                ({ event }: { event: { output: string } }) =>
                  (d) =>
                    void d.done.set(id, event.output),
              ),
            },
          },
        },
      },
    }),
  });
}

/** A writer that puts text on the board, as model output (untrusted) or as plain data. */
function writer(kind: 'model' | 'untrusted-value' | 'plain'): AgentDefinition<B> {
  const work = fromPromise(async ({ input }: { input: BoardEvent<B> }) => {
    if (kind === 'model') await input.tools.model({ messages: [{ role: 'user', content: 'write a note' }] });
    return 'release notes';
  });
  return defineAgent<B>({
    id: `writer-${kind}`,
    watches: [['go']],
    writes: [['note'], ['draft']],
    machine: setup({ types: { events: {} as BoardEvent<B> }, actors: { work } }).createMachine({
      initial: 'idle',
      states: {
        idle: {
          on: {
            board: {
              guard: ({ event }) =>
                event.board.go && event.board.note === undefined && event.board.draft === undefined,
              target: 'working',
            },
          },
        },
        working: {
          invoke: {
            src: 'work',
            input: ({ event }) => event as BoardEvent<B>,
            onDone: {
              target: 'idle',
              actions: commit(({ event }: { event: { output: string } }) => (d) => {
                if (kind === 'untrusted-value')
                  d.draft = untrusted(event.output, { agent: 'remote', activation: 'x', model: 'm' });
                else d.note = event.output;
              }),
            },
          },
        },
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

  it('finds model output anywhere inside a value', () => {
    expect(
      containsUntrusted({ a: [{ b: untrusted('x', { agent: 'a', activation: 'a#1', model: 'm' }) }] }),
    ).toBe(true);
    expect(containsUntrusted({ a: [{ b: 'x', provenance: { kind: 'human' } }] })).toBe(false);
  });
});

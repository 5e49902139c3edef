import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { z } from 'zod';
import { agentActions, type BoardEvent, defineAgent } from '../../src/actors/index.js';
import { keyed } from '../../src/blackboard/index.js';
import { createRuntime } from '../../src/runtime/index.js';
import { TOPICS } from '../../src/scheduler/index.js';
import { runAnsweringApprovals } from '../support/approvals.js';

const Board = z.object({ go: z.boolean(), done: keyed(z.string()) });
type B = z.output<typeof Board>;
const { commit } = agentActions<B>();

/** Deploys when asked: entering `deploying` is marked irreversible; a refusal sends it to `cancelled`. */
const deployer = defineAgent<B>({
  id: 'deployer',
  watches: [['go']],
  writes: [['done']],
  machine: setup({
    types: { events: {} as BoardEvent<B> | { type: 'hearsay.approval.rejected'; reason: string } },
  }).createMachine({
    initial: 'idle',
    states: {
      idle: {
        on: {
          board: { guard: ({ event }) => event.type === 'board' && event.board.go, target: 'deploying' },
          'hearsay.approval.rejected': {
            target: 'cancelled',
            actions: commit(
              ({ event }: { event: { reason: string } }) =>
                (d) =>
                  void d.done.set('deploy', `cancelled: ${event.reason}`),
            ),
          },
        },
      },
      deploying: {
        tags: ['irreversible'],
        entry: commit(() => (d) => void d.done.set('deploy', 'deployed')),
        type: 'final',
      },
      cancelled: { type: 'final' },
    },
  }),
});

const runtime = (limits = {}) =>
  createRuntime({ board: { schema: Board, initial: { go: false, done: {} } }, agents: [deployer], limits });

describe('states marked irreversible', () => {
  it('asks before entering the state: nothing happens without an answer, and the run pauses', async () => {
    const result = await runtime().run({ go: true });
    expect(result.outcome).toBe('awaiting_approval');
    expect(result.board.done.size).toBe(0);
  });

  it('enters the state once a human approves', async () => {
    const rt = runtime({ approvalTimeoutMs: 60_000 });
    const { result, log } = await runAnsweringApprovals(
      () => rt.start({ go: true }),
      (id) => rt.approve(id, { by: 'ops' }),
    );
    expect(result.board.done.get('deploy')).toBe('deployed');
    const request = log.find((e) => e.type === 'message' && e.topic === TOPICS.approval);
    expect(request?.type === 'message' && request.payload).toMatchObject({
      action: 'enter:deploying',
      args: { agent: 'deployer', state: 'deploying' },
    });
  });

  it('routes a rejection to the machine, which decides what to do', async () => {
    const rt = runtime({ approvalTimeoutMs: 60_000 });
    const { result } = await runAnsweringApprovals(
      () => rt.start({ go: true }),
      (id) => rt.reject(id, { by: 'ops', reason: 'change freeze' }),
    );
    expect(result.board.done.get('deploy')).toBe('cancelled: change freeze');
  });
});

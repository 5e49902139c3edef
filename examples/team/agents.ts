import { assign, fromPromise, setup } from 'xstate';
import { agentActions, type BoardEvent, defineAgent } from '../../src/index.js';
import type { Board } from './board.js';
import { simulatedModel } from './model.js';

const { commit } = agentActions<Board>();
type Ev = BoardEvent<Board>;

/** Decomposes the goal into research and coding tasks, once. */
export const planner = defineAgent<Board>({
  id: 'planner',
  watches: [['goal']],
  writes: [['tasks']],
  model: { tier: 'small' },
  machine: setup({
    types: { events: {} as Ev },
    actors: {
      plan: fromPromise(async ({ input }: { input: Ev }) => {
        const text = await simulatedModel(
          input.tools,
          'small',
          `Plan: ${input.board.goal}`,
          'r1,r2,c1,c2',
          30,
        );
        return text.split(',');
      }),
    },
  }).createMachine({
    initial: 'waiting',
    states: {
      waiting: {
        on: {
          board: {
            guard: ({ event }) => event.board.goal !== '' && event.board.tasks.size === 0,
            target: 'planning',
          },
        },
      },
      planning: {
        invoke: {
          src: 'plan',
          input: ({ event }) => event as Ev,
          onDone: {
            target: 'done',
            actions: commit(({ event }: { event: { output: string[] } }) => (d) => {
              const titles: Record<string, string> = {
                r1: 'survey existing blackboard systems',
                r2: 'collect failure modes of agent teams',
                c1: 'write the commit function',
                c2: 'write the scheduler loop',
              };
              for (const id of event.output) {
                d.tasks.set(id, {
                  kind: id.startsWith('r') ? 'research' : 'code',
                  title: titles[id] ?? id,
                  status: 'open',
                  rounds: 0,
                });
              }
            }),
          },
        },
      },
      done: { type: 'final' },
    },
  }),
});

/** A pooled worker of one kind: claims an open task of its kind, does it, and sends it for review. */
function worker(kind: 'research' | 'code', latencyMs: number) {
  return defineAgent<Board>({
    id: kind === 'research' ? 'researcher' : 'coder',
    watches: [['tasks']],
    writes: [['tasks']],
    concurrency: 2,
    model: { tier: 'large' },
    pool: {
      items: (b) => [...b.tasks].filter(([, t]) => t.kind === kind && t.status === 'open').map(([id]) => id),
      claim: (d, id) => {
        const task = d.tasks.get(id);
        if (task?.status !== 'open') return false;
        task.status = 'claimed';
        return true;
      },
    },
    machine: setup({
      types: { events: {} as Ev, input: {} as { key: string }, context: {} as { id: string } },
      actors: {
        work: fromPromise(async ({ input }: { input: { event: Ev; id: string } }) => {
          const task = input.event.board.tasks.get(input.id)!;
          // The coder's first draft of c2 misses the tests; the reviewer sends it back once.
          const answer =
            kind === 'code' && input.id === 'c2' && task.rounds === 0
              ? `${task.title}: draft without tests`
              : `${task.title}: done${task.feedback ? ` (addressed: ${task.feedback})` : ''}`;
          return simulatedModel(
            input.event.tools,
            'large',
            `${kind}: ${task.title} ${task.feedback ?? ''}`,
            answer,
            latencyMs,
          );
        }),
      },
    }).createMachine({
      context: ({ input }) => ({ id: input.key }),
      initial: 'ready',
      states: {
        ready: { on: { board: 'working' } },
        working: {
          invoke: {
            src: 'work',
            input: ({ event, context }) => ({ event: event as Ev, id: context.id }),
            onDone: {
              target: 'done',
              actions: commit(
                ({ context, event }: { context: { id: string }; event: { output: string } }) =>
                  (d) => {
                    const task = d.tasks.get(context.id)!;
                    task.result = event.output;
                    task.status = 'review';
                  },
              ),
            },
          },
        },
        done: { type: 'final' },
      },
    }),
  });
}

export const researcher = worker('research', 60);
export const coder = worker('code', 80);

/** Reviews one task at a time; approves it, or sends it back with feedback. Counts its rounds. */
export const reviewer = defineAgent<Board>({
  id: 'reviewer',
  watches: [['tasks']],
  writes: [['tasks']],
  priority: 1,
  model: { tier: 'small' },
  machine: setup({
    types: { events: {} as Ev, context: {} as { reviewed: number; sentBack: number } },
    actors: {
      review: fromPromise(async ({ input }: { input: Ev }) => {
        const [id, task] = [...input.board.tasks].find(([, t]) => t.status === 'review')!;
        const verdict = task.result?.includes('without tests') ? 'add tests' : 'ok';
        await simulatedModel(input.tools, 'small', `Review: ${task.result}`, verdict, 20);
        return { id, verdict };
      }),
    },
  }).createMachine({
    context: { reviewed: 0, sentBack: 0 },
    initial: 'idle',
    states: {
      idle: {
        on: {
          board: {
            guard: ({ event }) => [...event.board.tasks.values()].some((t) => t.status === 'review'),
            target: 'reviewing',
          },
        },
      },
      reviewing: {
        invoke: {
          src: 'review',
          input: ({ event }) => event as Ev,
          onDone: {
            target: 'idle',
            actions: [
              assign({
                reviewed: ({ context }) => context.reviewed + 1,
                sentBack: ({ context, event }) => context.sentBack + (event.output.verdict === 'ok' ? 0 : 1),
              }),
              commit(({ event }: { event: { output: { id: string; verdict: string } } }) => (d) => {
                const task = d.tasks.get(event.output.id)!;
                if (event.output.verdict === 'ok') {
                  task.status = 'approved';
                } else {
                  task.status = 'open';
                  task.feedback = event.output.verdict;
                  task.rounds += 1;
                }
              }),
            ],
          },
        },
      },
    },
  }),
});

/** Writes the report once every task is approved. */
export const synthesizer = defineAgent<Board>({
  id: 'synthesizer',
  watches: [['tasks']],
  writes: [['report']],
  model: { tier: 'large' },
  machine: setup({
    types: { events: {} as Ev },
    actors: {
      write: fromPromise(async ({ input }: { input: Ev }) => {
        const parts = [...input.board.tasks.values()].map((t) => `- ${t.result}`).sort();
        return simulatedModel(
          input.tools,
          'large',
          'Synthesize',
          `Report on "${input.board.goal}":\n${parts.join('\n')}`,
          40,
        );
      }),
    },
  }).createMachine({
    initial: 'idle',
    states: {
      idle: {
        on: {
          board: {
            guard: ({ event }) =>
              event.board.tasks.size > 0 &&
              [...event.board.tasks.values()].every((t) => t.status === 'approved'),
            target: 'writing',
          },
        },
      },
      writing: {
        invoke: {
          src: 'write',
          input: ({ event }) => event as Ev,
          onDone: {
            target: 'done',
            actions: commit(({ event }: { event: { output: string } }) => (d) => {
              d.report = event.output;
            }),
          },
        },
      },
      done: { type: 'final' },
    },
  }),
});

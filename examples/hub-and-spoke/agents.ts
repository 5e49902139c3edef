import {
  agentActions,
  asData,
  type BoardEvent,
  defineAgent,
  itemMachine,
  statusPool,
  type Untrusted,
  untrusted,
} from 'hearsay';
import { assign, fromPromise, setup } from 'xstate';
import { z } from 'zod';
import type { Board } from './board.js';

const { commit } = agentActions<Board>();
type Ev = BoardEvent<Board>;

const Plan = z.object({
  tasks: z
    .array(
      z.object({ id: z.string().regex(/^[\w-]+$/), kind: z.enum(['research', 'code']), title: z.string() }),
    )
    .min(1)
    .max(8),
});
const Review = z.object({ verdict: z.enum(['approve', 'revise']), feedback: z.string() });

/** Unwraps a model result, or fails the activation with the typed error (the retry policy applies). */
function answerOf<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

/** Decomposes the goal into research and coding tasks, once (structured output). */
export const planner = defineAgent<Board>({
  id: 'planner',
  watches: [['goal']],
  writes: [['tasks']],
  model: { tier: 'small' },
  machine: setup({
    types: { events: {} as Ev },
    actors: {
      plan: fromPromise(async ({ input }: { input: Ev }) =>
        answerOf(
          await input.tools.model({
            messages: [
              {
                role: 'system',
                content:
                  'You are the planner of a small software team. Split the goal into 2 to 6 tasks, research or code.',
              },
              { role: 'user', content: asData(input.board.goal, 'the user') },
            ],
            schema: Plan,
            temperature: 0,
          }),
        ),
      ),
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
            actions: commit(({ event }: { event: { output: z.output<typeof Plan> } }) => (d) => {
              for (const t of event.output.tasks)
                d.tasks.set(t.id, { kind: t.kind, title: t.title, status: 'open', rounds: 0 });
            }),
          },
        },
      },
      done: { type: 'final' },
    },
  }),
});

/** A pooled worker of one kind: claims an open task of its kind, does it, and sends it for review. */
function worker(kind: 'research' | 'code') {
  return defineAgent<Board>({
    id: kind === 'research' ? 'researcher' : 'coder',
    watches: [['tasks']],
    writes: [['tasks']],
    concurrency: 2,
    model: { tier: 'large' },
    pool: statusPool((b) => b.tasks, { filter: (t) => t.kind === kind }),
    machine: itemMachine<Board, Untrusted<string>>({
      work: async ({ event, key }) => {
        const task = event.board.tasks.get(key)!;
        const result = await event.tools.model({
          messages: [
            {
              role: 'system',
              content: `You are a worker doing ${kind}. Answer with the result in one line.`,
            },
            {
              role: 'user',
              content: `Task: ${task.title}${task.feedback ? `\nReviewer feedback: ${task.feedback}` : ''}`,
            },
          ],
          stream: true,
        });
        const text = answerOf(result);
        return untrusted(text, {
          agent: event.activation.agentId,
          activation: event.activation.id,
          model: result.ok ? result.model : '',
        });
      },
      done: (d, { key, output }) => {
        const task = d.tasks.get(key)!;
        task.result = output;
        task.status = 'review';
      },
    }),
  });
}

export const researcher = worker('research');
export const coder = worker('code');

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
        const verdict = await input.tools.model({
          messages: [
            {
              role: 'system',
              content: 'You are the reviewer. Approve the result, or ask for a revision with short feedback.',
            },
            {
              role: 'user',
              content: `Task: ${task.title}\n${asData(task.result?.value ?? '', `the ${task.kind} worker (model output)`)}`,
            },
          ],
          schema: Review,
          temperature: 0,
        });
        return { id, ...answerOf(verdict) };
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
                sentBack: ({ context, event }) =>
                  context.sentBack + (event.output.verdict === 'approve' ? 0 : 1),
              }),
              commit(({ event }: { event: { output: { id: string } & z.output<typeof Review> } }) => (d) => {
                const task = d.tasks.get(event.output.id)!;
                if (event.output.verdict === 'approve') {
                  task.status = 'approved';
                } else {
                  task.status = 'open';
                  task.feedback = event.output.feedback;
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
        const results = [...input.board.tasks.values()].map((t) => `- ${t.result?.value}`).join('\n');
        const report = await input.tools.model({
          messages: [
            {
              role: 'system',
              content: 'You are the synthesizer. Write a short report of the results, one line each.',
            },
            { role: 'user', content: `Goal: ${input.board.goal}\nResults:\n${results}` },
          ],
        });
        return answerOf(report);
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

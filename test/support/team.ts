import type { Draft } from 'immer';
import { fromPromise, setup } from 'xstate';
import { z } from 'zod';
import { type AgentConfig, agentActions, type BoardEvent, defineAgent } from '../../src/actors/index.js';
import type { LogEvent } from '../../src/blackboard/index.js';
import { keyed } from '../../src/blackboard/index.js';

/** A small board for runtime tests. */
export const TestBoard = z.object({
  n: z.number(),
  go: z.boolean(),
  items: keyed(z.object({ status: z.enum(['open', 'claimed', 'done']), by: z.string().optional() })),
  out: keyed(z.string()),
});
export type TB = z.output<typeof TestBoard>;
export const initial = { n: 0, go: false, items: {}, out: {} };

const { commit } = agentActions<TB>();

type Reactor = Omit<AgentConfig<TB>, 'machine'> & {
  when: (board: TB, event: BoardEvent<TB>) => boolean;
  write: (draft: Draft<TB>, event: BoardEvent<TB>) => void;
};

/** A singleton that, whenever `when` holds for the board it is shown, commits `write` at once. */
export function reactor({ when, write, ...config }: Reactor) {
  return defineAgent<TB>({
    ...config,
    machine: setup({ types: { events: {} as BoardEvent<TB> } }).createMachine({
      initial: 'idle',
      states: {
        idle: {
          on: {
            board: {
              guard: ({ event }) => when(event.board, event),
              actions: commit(
                ({ event }: { event: BoardEvent<TB> }) =>
                  (d) =>
                    write(d, event),
              ),
            },
          },
        },
      },
    }),
  });
}

/** A singleton that, when `when` holds, waits `ms` on the run's clock (a simulated model call), then commits. */
export function slow({ ms, ...rest }: Reactor & { ms: number; usage?: { tokens: number; cost: number } }) {
  const { when, write, usage, ...config } = rest;
  const work = fromPromise(async ({ input }: { input: BoardEvent<TB> }) => {
    await input.tools.sleep(ms);
    if (usage) input.tools.charge(usage);
    return input;
  });
  return defineAgent<TB>({
    ...config,
    machine: setup({ types: { events: {} as BoardEvent<TB> }, actors: { work } }).createMachine({
      initial: 'idle',
      states: {
        idle: { on: { board: { guard: ({ event }) => when(event.board, event), target: 'working' } } },
        working: {
          invoke: {
            src: 'work',
            input: ({ event }) => event as BoardEvent<TB>,
            onDone: {
              target: 'idle',
              actions: commit(
                ({ event }: { event: { output: BoardEvent<TB> } }) =>
                  (d) =>
                    write(d, event.output),
              ),
            },
          },
        },
      },
    }),
  });
}

/** The scheduler's records of one topic in a log, as payloads. */
export function records<T = Record<string, unknown>>(log: readonly LogEvent[], topic: string): T[] {
  return log.flatMap((e) => (e.type === 'message' && e.topic === topic ? [e.payload as T] : []));
}

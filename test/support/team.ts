import type { Draft } from 'immer';
import { setup } from 'xstate';
import { z } from 'zod';
import {
  type AgentConfig,
  agentActions,
  type BoardEvent,
  defineAgent,
  stepMachine,
} from '../../src/actors/index.js';
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

type Reactor<TBoard = TB> = Omit<AgentConfig<TBoard>, 'machine'> & {
  when: (board: TBoard, event: BoardEvent<TBoard>) => boolean;
  write: (draft: Draft<TBoard>, event: BoardEvent<TBoard>) => void;
};

/** A singleton that, whenever `when` holds for the board it is shown, commits `write` at once (any board). */
export function reactor<TBoard = TB>({ when, write, ...config }: Reactor<NoInfer<TBoard>>) {
  const { commit } = agentActions<TBoard>();
  return defineAgent<TBoard>({
    ...config,
    machine: setup({ types: { events: {} as BoardEvent<TBoard> } }).createMachine({
      initial: 'idle',
      states: {
        idle: {
          on: {
            board: {
              guard: ({ event }) => when(event.board as TBoard, event as BoardEvent<TBoard>),
              actions: commit(
                ({ event }: { event: BoardEvent<TBoard> }) =>
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
  return defineAgent<TB>({
    ...config,
    machine: stepMachine<TB, null>({
      when,
      work: async (event) => {
        await event.tools.sleep(ms);
        if (usage) event.tools.charge(usage);
        return null;
      },
      done: (d, _output, event) => write(d, event),
    }),
  });
}

/** The scheduler's records of one topic in a log, as payloads. */
export function records<T = Record<string, unknown>>(log: readonly LogEvent[], topic: string): T[] {
  return log.flatMap((e) => (e.type === 'message' && e.topic === topic ? [e.payload as T] : []));
}

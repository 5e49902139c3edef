import type { Draft } from 'immer';
import { setup } from 'xstate';
import { z } from 'zod';
import {
  type AgentConfig,
  agentActions,
  type BoardEvent,
  defineAgent,
  itemMachine,
  statusPool,
  stepMachine,
} from '../../src/actors/index.js';
import type { Keyed, LogEvent } from '../../src/blackboard/index.js';
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

/** An item that counts how many times its work was committed (anything but 1 is a lost or repeated commit). */
export const CountedItem = z.object({ status: z.enum(['open', 'claimed', 'done']), count: z.number() });
type Counted = { items: Keyed<z.output<typeof CountedItem>> };

/**
 * The pooled `worker` of the crash and worker teams: takes each open item, waits `workMs(key)` on the run's
 * clock (a simulated model call), then increments the item's `count` and marks it done.
 */
export function countingWorker<TBoard extends Counted>(options: {
  concurrency: number;
  attempts: number;
  workMs: (key: string) => number;
}) {
  return defineAgent<TBoard>({
    id: 'worker',
    // The board is generic here: its `items` path is typed through the constraint.
    watches: [['items'] as never],
    writes: [['items'] as never],
    concurrency: options.concurrency,
    retry: { attempts: options.attempts },
    pool: statusPool((b: TBoard) => b.items),
    machine: itemMachine<TBoard, void>({
      work: ({ event, key }) => event.tools.sleep(options.workMs(key)),
      done: (d, { key }) => {
        const item = (d as Draft<Counted>).items.get(key)!;
        item.count += 1;
        item.status = 'done';
      },
    }),
  });
}

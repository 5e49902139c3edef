import type { Draft } from 'immer';
import { type AnyStateMachine, fromPromise, setup } from 'xstate';
import { agentActions } from './actions.js';
import type { ActivationInfo, BoardEvent } from './board-event.js';

/** What {@link itemMachine} runs for one work item. */
export interface ItemMachineOptions<TBoard, TOutput> {
  /** The slow work for the item (a model call, a tool), from the board the activation saw. */
  readonly work: (args: { readonly event: BoardEvent<TBoard>; readonly key: string }) => Promise<TOutput>;
  /**
   * Writes the result back to the board (committed as the activation's commit). `activation` is the
   * activation that did the work: its `id`, `attempt` and, on a worker, the `fence` of its lease (to record
   * who did it, or to hand to a service that refuses a stale holder).
   */
  readonly done: (
    draft: Draft<TBoard>,
    result: { readonly key: string; readonly output: TOutput; readonly activation: ActivationInfo },
  ) => void;
}

/**
 * The machine most pooled agents need: an instance per item that, on its board event, does `work` for
 * its item and commits `done` with the result, then stops. A failing `work` fails the activation (the
 * agent's retry policy and fallback apply).
 *
 * @example
 * defineAgent<Board>({ id: 'coder', watches: [['tasks']], writes: [['tasks']], pool: statusPool((b) => b.tasks),
 *   machine: itemMachine<Board, string>({
 *     work: async ({ event, key }) => answerOf(await event.tools.model({ messages: promptFor(event.board.tasks.get(key)!) })),
 *     done: (d, { key, output }) => { const t = d.tasks.get(key)!; t.result = output; t.status = 'review'; },
 *   }) })
 */
export function itemMachine<TBoard, TOutput>(options: ItemMachineOptions<TBoard, TOutput>): AnyStateMachine {
  const { commit } = agentActions<TBoard>();
  return setup({
    types: {
      events: {} as BoardEvent<TBoard>,
      input: {} as { key: string },
      context: {} as { key: string },
    },
    actors: {
      work: fromPromise(async ({ input }: { input: { event: BoardEvent<TBoard>; key: string } }) => ({
        output: await options.work(input),
        activation: input.event.activation,
      })),
    },
  }).createMachine({
    context: ({ input }) => ({ key: input.key }),
    initial: 'ready',
    states: {
      ready: { on: { board: 'working' } },
      working: {
        invoke: {
          src: 'work',
          input: ({ event, context }) => ({ event: event as BoardEvent<TBoard>, key: context.key }),
          onDone: {
            target: 'done',
            actions: commit(
              ({
                context,
                event,
              }: {
                context: { key: string };
                event: { output: { output: TOutput; activation: ActivationInfo } };
              }) =>
                (d) =>
                  options.done(d, { key: context.key, ...event.output }),
            ),
          },
        },
      },
      done: { type: 'final' },
    },
  });
}

import type { Draft } from 'immer';
import { type AnyStateMachine, fromPromise, setup } from 'xstate';
import { agentActions } from './actions.js';
import type { BoardEvent } from './board-event.js';

/** What {@link stepMachine} does each time its guard holds. */
export interface StepMachineOptions<TBoard, TOutput> {
  /** Whether the board lets the agent take a step now (the guard the scheduler asks through `can`). */
  readonly when: (board: TBoard, event: BoardEvent<TBoard>) => boolean;
  /** The slow work of the step (a model call, a tool), from the board the activation saw. */
  readonly work: (event: BoardEvent<TBoard>) => Promise<TOutput>;
  /** Writes the result back to the board (committed as the activation's commit). */
  readonly done: (draft: Draft<TBoard>, output: TOutput, event: BoardEvent<TBoard>) => void;
}

/**
 * The machine most singleton agents need: idle until `when` holds for the board, then `work`, then commit
 * `done`, and idle again (ready for the next change). A failing `work` fails the activation (the
 * agent's retry policy and fallback apply).
 *
 * @example
 * defineAgent<Board>({ id: 'summarizer', watches: [['tasks']], writes: [['report']],
 *   machine: stepMachine<Board, string>({
 *     when: (b) => allDone(b) && !b.report,
 *     work: async (event) => answerOf(await event.tools.model({ messages: summaryPrompt(event.board) })),
 *     done: (d, report) => { d.report = report; },
 *   }) })
 */
export function stepMachine<TBoard, TOutput>(options: StepMachineOptions<TBoard, TOutput>): AnyStateMachine {
  const { commit } = agentActions<TBoard>();
  return setup({
    types: { events: {} as BoardEvent<TBoard>, context: {} as { event?: BoardEvent<TBoard> } },
    actors: {
      work: fromPromise(async ({ input }: { input: BoardEvent<TBoard> }) => ({
        output: await options.work(input),
        event: input,
      })),
    },
  }).createMachine({
    initial: 'idle',
    states: {
      idle: { on: { board: { guard: ({ event }) => options.when(event.board, event), target: 'working' } } },
      working: {
        invoke: {
          src: 'work',
          input: ({ event }) => event as BoardEvent<TBoard>,
          onDone: {
            target: 'idle',
            actions: commit(
              ({ event }: { event: { output: { output: TOutput; event: BoardEvent<TBoard> } } }) =>
                (d) =>
                  options.done(d, event.output.output, event.output.event),
            ),
          },
        },
      },
    },
  });
}

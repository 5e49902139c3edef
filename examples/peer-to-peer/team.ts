import { agentActions, type BoardEvent, defineAgent, keyed, type RuntimeConfig } from 'hearsay';
import { fromPromise, setup } from 'xstate';
import { z } from 'zod';

/**
 * Peer-to-peer: no orchestrator. Three peers each propose an idea on the board and vote for the others'
 * ideas; an idea with two votes is accepted. They coordinate only through board state and the messages
 * they publish (`peer.chat`). Bob and Carol run in another process, connected through `hearsay/client`.
 */
export const PeerBoard = z.object({
  topic: z.string(),
  ideas: keyed(
    z.object({
      author: z.string(),
      text: z.string(),
      votes: z.array(z.string()),
      status: z.enum(['proposed', 'accepted']),
    }),
  ),
});
type Board = z.output<typeof PeerBoard>;

const IDEAS: Record<string, string> = {
  alice: 'log every decision so it can be replayed',
  bob: 'let humans veto irreversible steps',
  carol: 'cap every budget per request',
};

/** The first idea by another peer this peer has not voted for yet. */
const toVoteOn = (b: Board, me: string): string | undefined =>
  [...b.ideas.entries()].find(([key, idea]) => key !== me && !idea.votes.includes(me))?.[0];

/** A peer, as a state machine: listen to the board, propose once, vote on each other idea once. */
export function peer(id: string, thinkMs = 30) {
  const { commit, publish } = agentActions<Board>();
  return defineAgent<Board>({
    id,
    watches: [['topic'], ['ideas']],
    writes: [['ideas']],
    machine: setup({
      types: { events: {} as BoardEvent<Board> },
      actors: {
        think: fromPromise(async ({ input }: { input: BoardEvent<Board> }) => {
          await input.tools.sleep(thinkMs);
          return { key: toVoteOn(input.board, id) };
        }),
      },
    }).createMachine({
      id,
      initial: 'listening',
      states: {
        listening: {
          on: {
            board: [
              {
                guard: ({ event }) => event.board.topic !== '' && !event.board.ideas.has(id),
                target: 'proposing',
              },
              {
                guard: ({ event }) => event.board.ideas.has(id) && toVoteOn(event.board, id) !== undefined,
                target: 'voting',
              },
            ],
          },
        },
        proposing: {
          invoke: {
            src: 'think',
            input: ({ event }) => event as BoardEvent<Board>,
            onDone: {
              target: 'listening',
              actions: [
                commit(() => (d) => {
                  d.ideas.set(id, {
                    author: id,
                    text: IDEAS[id] ?? `an idea of ${id}`,
                    votes: [],
                    status: 'proposed',
                  });
                }),
                publish('peer.chat', () => ({ from: id, text: `I propose: ${IDEAS[id] ?? id}` })),
              ],
            },
          },
        },
        voting: {
          invoke: {
            src: 'think',
            input: ({ event }) => event as BoardEvent<Board>,
            onDone: {
              target: 'listening',
              actions: [
                commit(({ event }: { event: { output: { key?: string } } }) => (d) => {
                  const idea = event.output.key === undefined ? undefined : d.ideas.get(event.output.key);
                  if (!idea || idea.votes.includes(id)) return;
                  idea.votes.push(id);
                  if (idea.votes.length >= 2) idea.status = 'accepted';
                }),
                publish('peer.chat', ({ event }: { event: { output: { key?: string } } }) => ({
                  from: id,
                  text: `I vote for ${event.output.key}'s idea`,
                })),
              ],
            },
          },
        },
      },
    }),
  });
}

export const peers = [peer('alice'), peer('bob'), peer('carol')];

export const peerTeam = {
  board: { schema: PeerBoard, initial: { topic: '', ideas: {} } },
  agents: peers,
  goal: (b) => b.ideas.size === 3 && [...b.ideas.values()].every((i) => i.status === 'accepted'),
  remote: ['bob', 'carol'],
  limits: { depth: 12 },
} satisfies RuntimeConfig<typeof PeerBoard>;

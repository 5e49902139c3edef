/**
 * No cost that grows with the square of a team's size, a pool's items or the agents sharing a path
 * (issue 24). Counted, not timed: warnings and log records per run, pool filter calls per commit.
 */
import {
  agentActions,
  type BoardEvent,
  createRuntime,
  defineAgent,
  itemMachine,
  keyed,
  type LogEvent,
  type MessageEvent,
  statusPool,
  stepMachine,
} from 'hearsay';
import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { z } from 'zod';
import { findSharedWrites } from '../../src/actors/index.js';

describe('agents sharing a path', () => {
  const Board = z.object({ counter: z.number() });
  type Board = z.infer<typeof Board>;
  const { commit } = agentActions<Board>();
  const chain = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      defineAgent<Board>({
        id: `n${i}`,
        watches: [['counter']],
        writes: [['counter']],
        machine: setup({ types: { events: {} as BoardEvent<Board> } }).createMachine({
          initial: 'idle',
          states: {
            idle: {
              on: {
                board: {
                  guard: ({ event }) => event.board.counter === i,
                  actions: commit(() => (d) => {
                    d.counter += 1;
                  }),
                },
              },
            },
          },
        }),
      }),
    );

  it('are one warning per path, not one per pair', () => {
    const agents = chain(1_000);
    expect(findSharedWrites(agents)).toHaveLength(1);
    expect(findSharedWrites(agents)[0]!.agents).toHaveLength(1_000);
    const runtime = createRuntime({ board: { schema: Board, initial: { counter: 0 } }, agents });
    expect(runtime.warnings).toEqual([
      'n0, n1, n2, n3, n4 and 995 more agents (1000 in all) may all write counter',
    ]);
  });

  it('are recorded at a run start within a bound', async () => {
    const runtime = createRuntime({
      board: { schema: Board, initial: { counter: 0 } },
      agents: chain(300),
      limits: { depth: 400 },
    });
    const handle = await runtime.start();
    const result = await handle.result;
    const log: LogEvent[] = [];
    handle.board.subscribe({ from: 1 }, (e) => log.push(e));
    await new Promise((resolve) => setImmediate(resolve));
    await runtime.close();
    expect(result.board.counter).toBe(300);
    const warning = log.find((e): e is MessageEvent => e.type === 'message' && e.topic === 'hearsay.warning')!
      .payload as { kind: string; groups: { agents: string[]; moreAgents?: number }[] };
    expect(warning.kind).toBe('shared_writes');
    expect(warning.groups).toHaveLength(1);
    expect(warning.groups[0]!.agents).toHaveLength(20);
    expect(warning.groups[0]!.moreAgents).toBe(280);
  });
});

describe('a pool over a Keyed collection', () => {
  const Board = z.object({
    k: z.number(),
    items: keyed(z.object({ i: z.number(), status: z.enum(['open', 'claimed', 'done']) })),
    results: keyed(z.number()),
    total: z.number().optional(),
  });
  type Board = z.infer<typeof Board>;

  it('lists its open items at a cost per commit that does not grow with the items', async () => {
    const counts: number[] = [];
    for (const K of [100, 400]) {
      let filterCalls = 0;
      const dispatch = defineAgent<Board>({
        id: 'dispatch',
        watches: [['k']],
        writes: [['items']],
        machine: stepMachine<Board, null>({
          when: (b) => b.items.size === 0,
          work: async () => null,
          done: (d) => {
            for (let i = 0; i < K; i++) d.items.set(`w${i}`, { i, status: 'open' });
          },
        }),
      });
      const worker = defineAgent<Board>({
        id: 'worker',
        watches: [['items']],
        writes: [['items'], ['results']],
        concurrency: K,
        pool: statusPool((b) => b.items, {
          filter: () => {
            filterCalls += 1;
            return true;
          },
        }),
        machine: itemMachine<Board, number>({
          work: async ({ event, key }) => event.board.items.get(key)!.i * 2,
          done: (d, { key, output }) => {
            d.items.get(key)!.status = 'done';
            d.results.set(key, output);
          },
        }),
      });
      const join = defineAgent<Board>({
        id: 'join',
        watches: [['results']],
        writes: [['total']],
        machine: stepMachine<Board, null>({
          when: (b) => b.results.size === b.k && b.total === undefined,
          work: async () => null,
          done: (d) => {
            let total = 0;
            for (const v of d.results.values()) total += v;
            d.total = total;
          },
        }),
      });
      const runtime = createRuntime({
        board: { schema: Board, initial: { k: K, items: {}, results: {} } },
        agents: [dispatch, worker, join],
        limits: { concurrency: K + 10 },
      });
      const result = await runtime.run();
      await runtime.close();
      expect(result.board.total).toBe(K * (K - 1));
      counts.push(filterCalls / K);
    }
    // Filter calls per item stay flat as the pool grows fourfold (re-listing every item on each of the
    // 2K commits would make them grow with K: about K per item).
    expect(counts[1]!).toBeLessThan(counts[0]! * 1.5);
    expect(counts[1]!).toBeLessThan(10);
  });
});

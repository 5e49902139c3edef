/**
 * The scheduler's wait rule (issue 24): cases that HELD — a parked agent after its blocker fails and falls
 * back, pooled items on a leaf counter with a failing first attempt, cancel while parked.
 */
import {
  createRuntime,
  defineAgent,
  itemMachine,
  keyed,
  type LogEvent,
  statusPool,
  stepMachine,
} from 'hearsay';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const Board = z.object({ go: z.boolean(), notes: z.array(z.string()) });
type Board = z.infer<typeof Board>;

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const noter = (
  id: string,
  opts: {
    priority?: number;
    work?: () => Promise<void>;
    fallback?: string;
    when?: (b: Board) => boolean;
  } = {},
) =>
  defineAgent<Board>({
    id,
    priority: opts.priority ?? 0,
    watches: [['go']],
    writes: [['notes']],
    ...(opts.fallback ? { fallback: opts.fallback } : {}),
    machine: stepMachine<Board, null>({
      when: opts.when ?? ((b) => b.go && !b.notes.includes(id)),
      work: async () => {
        await opts.work?.();
        return null;
      },
      done: (d) => {
        d.notes.push(id);
      },
    }),
  });

describe('parked agents (held)', () => {
  it('a parked agent runs once after its blocker fails and its fallback runs', async () => {
    const runtime = createRuntime({
      board: { schema: Board, initial: { go: true, notes: [] } },
      agents: [
        noter('blocker', {
          priority: 10,
          fallback: 'rescue',
          work: async () => {
            throw new Error('boom');
          },
        }),
        noter('rescue', { when: () => false }),
        noter('quick'),
      ],
      deterministic: { seed: 1 },
    });
    try {
      const handle = await runtime.start();
      const log: LogEvent[] = [];
      handle.board.subscribe({ from: 1 }, (e) => log.push(e));
      const result = await handle.result;
      await new Promise((r) => setImmediate(r));
      expect(result.board.notes.filter((n) => n === 'quick')).toHaveLength(1);
      const started = log.filter(
        (e) =>
          e.type === 'message' &&
          e.topic === 'hearsay.activation' &&
          (e.payload as { phase: string; agentId: string }).phase === 'started' &&
          (e.payload as { agentId: string }).agentId === 'quick',
      );
      expect(started).toHaveLength(1);
    } finally {
      await runtime.close();
    }
  }, 5000);

  it('cancel while an agent is parked ends the run cancelled', async () => {
    const gate = deferred();
    const slowWorking = deferred();
    const runtime = createRuntime({
      board: { schema: Board, initial: { go: true, notes: [] } },
      agents: [
        noter('slow', {
          priority: 10,
          work: () => {
            slowWorking.resolve();
            return gate.promise;
          },
        }),
        noter('quick'),
      ],
    });
    try {
      const handle = await runtime.start();
      // The cycle that started `slow` parked `quick` behind it (both write `notes`, a list): cancel now.
      await slowWorking.promise;
      handle.cancel('stop');
      const result = await handle.result;
      expect(result.outcome).toBe('cancelled');
      expect(result.board.notes).toEqual([]);
      gate.resolve();
    } finally {
      await runtime.close();
    }
  }, 5000);

  it('pooled items on a leaf counter: each item once, total exact, with a failing first attempt', async () => {
    const P = z.object({
      items: keyed(z.object({ status: z.enum(['open', 'claimed', 'done']) })),
      total: z.number(),
      seen: z.array(z.string()),
    });
    type P = z.infer<typeof P>;
    let failedOnce = false;
    const worker = defineAgent<P>({
      id: 'worker',
      watches: [['items']],
      writes: [['items'], ['total'], ['seen']],
      concurrency: 4,
      retry: { attempts: 2, backoffMs: 0 },
      pool: statusPool((b) => b.items),
      machine: itemMachine<P, number>({
        work: async ({ key }) => {
          if (key === 'i3' && !failedOnce) {
            failedOnce = true;
            throw new Error('first attempt fails');
          }
          return 1;
        },
        done: (d, { key, output }) => {
          d.items.get(key)!.status = 'done';
          d.total += output;
          d.seen.push(key);
        },
      }),
    });
    const items = Object.fromEntries(
      Array.from({ length: 8 }, (_, i) => [`i${i}`, { status: 'open' as const }]),
    );
    const runtime = createRuntime({
      board: { schema: P, initial: { items, total: 0, seen: [] } },
      agents: [worker],
      deterministic: { seed: 2 },
    });
    try {
      const result = await runtime.run();
      expect(result.board.total).toBe(8);
      expect([...result.board.seen].sort()).toEqual(Object.keys(items).sort());
    } finally {
      await runtime.close();
    }
  }, 5000);
});

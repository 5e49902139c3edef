/**
 * The scheduler's wait rule (issue 24): pooled items that each ask a human and count on a leaf. Answering
 * every pending request and resuming, over and over: each item lands exactly once (held), but the
 * operator is asked one item per pause — four pauses for four items instead of one.
 */
import { createRuntime, defineAgent, itemMachine, keyed, statusPool } from 'hearsay';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const P = z.object({
  items: keyed(z.object({ status: z.enum(['open', 'claimed', 'done']) })),
  total: z.number(),
  seen: z.array(z.string()),
});
type P = z.infer<typeof P>;

describe('pooled approvals across resumes', () => {
  it('every item exactly once, and all four requests pending at the first pause', async () => {
    const worker = defineAgent<P>({
      id: 'worker',
      watches: [['items']],
      writes: [['items'], ['total'], ['seen']],
      concurrency: 4,
      // Waiting for humans, the four run at once; answered, their commits of `total` race, and the losers are
      // retried (asking again): enough attempts for each to land.
      retry: { attempts: 6 },
      pool: statusPool((b) => b.items),
      machine: itemMachine<P, number>({
        work: async ({ event, key }) => {
          const d = await event.tools.requestApproval({
            action: 'ship',
            args: { key },
            summary: `ship ${key}`,
          });
          return d.approved ? 1 : 0;
        },
        done: (d, { key, output }) => {
          d.items.get(key)!.status = 'done';
          d.total += output;
          d.seen.push(key);
        },
      }),
    });
    const items = Object.fromEntries(
      Array.from({ length: 4 }, (_, i) => [`i${i}`, { status: 'open' as const }]),
    );
    const runtime = createRuntime({
      board: { schema: P, initial: { items, total: 0, seen: [] } },
      agents: [worker],
      deterministic: { seed: 1 },
    });
    try {
      let result = await runtime.run(undefined, { runId: 'ship' });
      const pendingPerPause: number[] = [];
      let pauses = 0;
      while (result.outcome === 'awaiting_approval' && pauses < 10) {
        pauses += 1;
        const pending = await runtime.pendingApprovals('ship');
        pendingPerPause.push(pending.length);
        for (const p of pending) await runtime.approve(p.requestId, { by: 'op' });
        result = await (await runtime.resume('ship')).result;
      }
      // Held: the promise (exactly once per item).
      expect(result.board.total).toBe(4);
      expect([...result.board.seen].sort()).toEqual(['i0', 'i1', 'i2', 'i3']);
      // All four asked at once (not one request per pause).
      expect(pendingPerPause[0]).toBe(4);
    } finally {
      await runtime.close();
    }
  }, 8000);
});

/**
 * The scheduler's wait rule (issue 24): pooled items that each ask a human, and count on a leaf (`total`).
 * The first item's activation waits for its approval; the other items are parked behind it (their
 * declared write `total` is a number), so the run pauses awaiting_approval with ONE request pending
 * although the pool has four slots and four items could each have reached their own approval.
 */
import { createRuntime, defineAgent, itemMachine, keyed, statusPool } from 'hearsay';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const P = z.object({
  items: keyed(z.object({ status: z.enum(['open', 'claimed', 'done']) })),
  total: z.number(),
});
type P = z.infer<typeof P>;

describe('pooled items each waiting for approval', () => {
  it('all four slots reach their approval before the run pauses', async () => {
    const reached: string[] = [];
    const worker = defineAgent<P>({
      id: 'worker',
      watches: [['items']],
      writes: [['items'], ['total']],
      concurrency: 4,
      pool: statusPool((b) => b.items),
      machine: itemMachine<P, number>({
        work: async ({ event, key }) => {
          reached.push(key);
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
        },
      }),
    });
    const items = Object.fromEntries(
      Array.from({ length: 4 }, (_, i) => [`i${i}`, { status: 'open' as const }]),
    );
    const runtime = createRuntime({
      board: { schema: P, initial: { items, total: 0 } },
      agents: [worker],
      deterministic: { seed: 1 },
    });
    try {
      const result = await runtime.run();
      expect(result.outcome).toBe('awaiting_approval');
      expect(reached.sort()).toEqual(['i0', 'i1', 'i2', 'i3']);
    } finally {
      await runtime.close();
    }
  }, 5000);
});

/**
 * The scheduler's wait rule (issue 24): a candidate parked on an activation that waits for a human. The run
 * should not pause as awaiting_approval while an agent that could advance never ran.
 */
import { createRuntime, defineAgent, stepMachine } from 'hearsay';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const Board = z.object({ notes: z.array(z.string()) });
type Board = z.infer<typeof Board>;

describe('blocker waits for an approval', () => {
  it('the parked agent still runs before the run pauses awaiting_approval', async () => {
    const payer = defineAgent<Board>({
      id: 'payer',
      priority: 10,
      watches: [['notes']],
      writes: [['notes']],
      machine: stepMachine<Board, string>({
        when: (b) => !b.notes.includes('paid'),
        work: async (event) => {
          const d = await event.tools.requestApproval({ action: 'pay', args: { n: 1 }, summary: 'pay' });
          return d.approved ? 'paid' : 'rejected';
        },
        done: (d, output) => {
          d.notes.push(output);
        },
      }),
    });
    const quick = defineAgent<Board>({
      id: 'quick',
      watches: [['notes']],
      writes: [['notes']],
      machine: stepMachine<Board, null>({
        when: (b) => !b.notes.includes('quick'),
        work: async () => null,
        done: (d) => {
          d.notes.push('quick');
        },
      }),
    });
    const runtime = createRuntime({
      board: { schema: Board, initial: { notes: [] } },
      agents: [payer, quick],
      deterministic: { seed: 1 },
    });
    try {
      const result = await runtime.run();

      expect(result.outcome).toBe('awaiting_approval');
      // `quick` could advance all along: it conflicts with payer's eventual commit, but payer is
      // waiting for a human; the run paused without ever running it.
      expect(result.board.notes).toContain('quick');
    } finally {
      await runtime.close();
    }
  }, 5000);
});

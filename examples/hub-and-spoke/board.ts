import { keyed, untrustedSchema } from 'hearsay';
import { z } from 'zod';

/** The team's board: a goal, tasks by id, and the final report. */
export const Board = z.object({
  goal: z.string(),
  tasks: keyed(
    z.object({
      kind: z.enum(['research', 'code']),
      title: z.string(),
      status: z.enum(['open', 'claimed', 'review', 'approved']),
      /** Model output, stored with where it came from (agent, activation, model). */
      result: untrustedSchema(z.string()).optional(),
      feedback: z.string().optional(),
      rounds: z.number(),
    }),
  ),
  report: z.string().optional(),
  /** Where the report was published (the inspector demo's publisher, after a human approved it). */
  published: z.string().optional(),
});
export type Board = z.output<typeof Board>;
export type Task = Board['tasks'] extends { get(k: string): infer T | undefined } ? T : never;

import type { ToolDefinition } from 'hearsay';
import { z } from 'zod';

/**
 * The irreversible tool the approval tests attack: `transfer_funds({ to, amount })`. Every time it really
 * runs, its arguments are pushed onto `ran` (money that actually moved).
 */
export function transferTool(ran: unknown[]): ToolDefinition {
  return {
    name: 'transfer_funds',
    description: 'Moves money. Irreversible.',
    parameters: z.object({ to: z.string(), amount: z.number() }),
    irreversible: true,
    run: (args) => {
      ran.push(args);
      return 'sent';
    },
  };
}

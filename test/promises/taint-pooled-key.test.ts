/**
 * A pooled instance is told its item's key (`activation.key`): a key a tainted writer chose is tainted data
 * the instance read. Under the `tainted` approval policy such an instance waits for a human; one whose item
 * an untainted writer added is approved by the policy. (The claim is what reads the item: `statusPool`'s
 * claim reads the entry's status, so an instance of a tainted entry is tainted before it runs. This pins
 * that for every payload; a custom pool whose claim never reads its item is not covered.)
 */
import { createRuntime, defineAgent, itemMachine, keyed, statusPool, stepMachine } from 'hearsay';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { INJECTIONS } from '../support/injections.js';

const Board = z.object({
  go: z.boolean(),
  trusted: z.boolean(),
  index: z.number(),
  tasks: keyed(z.object({ status: z.enum(['open', 'claimed', 'done']), outcome: z.string().optional() })),
  // Written by a tainted activation, beside the tasks: tainting it taints no task's key.
  log: z.array(z.string()),
});
type B = z.output<typeof Board>;
const initial = { go: false, trusted: false, index: 0, tasks: {}, log: [] };

/** Adds a task whose key is the payload; tainted (it ran tools) unless the run's input says `trusted`. */
const writer = defineAgent<B>({
  id: 'writer',
  watches: [['go']],
  writes: [['tasks'], ['log']],
  machine: stepMachine<B, string>({
    when: (b) => b.go && b.tasks.size === 0,
    work: async (event) => {
      if (!event.board.trusted) await event.tools.runTools([], []);
      return INJECTIONS[event.board.index]!;
    },
    done: (d, key) => {
      d.tasks.set(key, { status: 'open' });
    },
  }),
});

/** A tainted agent that writes only `log`, never a task. */
const logger = defineAgent<B>({
  id: 'logger',
  watches: [['go']],
  writes: [['log']],
  machine: stepMachine<B, string>({
    when: (b) => b.go && b.log.length === 0,
    work: async (event) => {
      await event.tools.runTools([], []);
      return 'noted';
    },
    done: (d, line) => {
      d.log.push(line);
    },
  }),
});

/** Files each task: asks to send its key (no model, no tools: only what it was told). */
const filer = defineAgent<B>({
  id: 'filer',
  watches: [['tasks']],
  writes: [['tasks']],
  pool: statusPool((b) => b.tasks),
  machine: itemMachine<B, string>({
    work: async ({ event, key }) => {
      const d = await event.tools.requestApproval({ action: 'file', args: { key } });
      return d.approved ? `approved by ${d.by}` : 'refused';
    },
    done: (d, { key, output }) => {
      const t = d.tasks.get(key)!;
      t.status = 'done';
      t.outcome = output;
    },
  }),
});

describe("a pooled item's key chosen by a tainted writer", () => {
  it(`holds the instance told that key, for ${INJECTIONS.length} payloads`, async () => {
    const runtime = createRuntime({
      board: { schema: Board, initial },
      agents: [writer, filer],
      limits: { approvalPolicy: 'tainted' },
    });
    for (const [index, payload] of INJECTIONS.entries()) {
      const where = `payload ${index}: ${JSON.stringify(payload)}`;
      const result = await runtime.run({ go: true, index });
      expect(result.board.tasks.get(payload)?.status, where).toBe('claimed');
      expect(result.outcome, where).toBe('awaiting_approval');
    }
    await runtime.close();
  });

  it('approves an instance whose item an untainted writer added, even beside tainted writes', async () => {
    const runtime = createRuntime({
      board: { schema: Board, initial },
      agents: [writer, logger, filer],
      limits: { approvalPolicy: 'tainted' },
    });
    const result = await runtime.run({ go: true, trusted: true, index: 5 });
    expect(result.board.log).toEqual(['noted']);
    expect(result.board.tasks.get(INJECTIONS[5]!)).toEqual({ status: 'done', outcome: 'approved by policy' });
    await runtime.close();
  });
});

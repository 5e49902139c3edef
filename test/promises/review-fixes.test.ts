/**
 * Regressions found reading the change for issue 23 once more, each tried through the package (a value
 * whose deep chain hides behind shortcuts to its links is in bounds.test.ts, over the client):
 * - a commit under a union field copied the whole union subtree every time, losing structural sharing;
 * - an activation that had already ended could still record an approval request no one would ever use.
 */
import { createBlackboard, createRuntime, defineAgent, keyed, stepMachine } from 'hearsay';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

describe('a commit under a union field', () => {
  const Board = z.object({
    item: z.union([
      z.object({ kind: z.literal('a'), big: z.array(z.object({ x: z.number() })), n: z.number() }),
      z.string(),
    ]),
    withKeyed: z.union([
      z.object({ kind: z.literal('k'), set: keyed(z.number()), n: z.number() }),
      z.string(),
    ]),
  });

  it('shares what it did not change, and still revives collections where the union holds one', async () => {
    const board = await createBlackboard({
      schema: Board,
      initial: {
        item: { kind: 'a' as const, big: Array.from({ length: 100 }, (_, x) => ({ x })), n: 0 },
        withKeyed: { kind: 'k' as const, set: { a: 1 }, n: 0 },
      },
    });
    const before = board.state.item as { big: unknown[] };
    const r = await board.transact(
      (d) => {
        (d.item as { n: number }).n = 1;
      },
      { author: 'w' },
    );
    expect(r.ok).toBe(true);
    const after = board.state.item as { big: unknown[]; n: number };
    expect(after.n).toBe(1);
    expect(after.big).toBe(before.big);
    // A JSON commit into the union that holds a collection still comes out as a collection.
    const j = await board.commit({
      baseVersion: board.version,
      reads: [],
      author: 'remote',
      patches: [{ op: 'replace', path: ['withKeyed'], value: { kind: 'k', set: { b: 2 }, n: 1 } }],
    });
    expect(j.ok).toBe(true);
    const wk = board.state.withKeyed as { set: { get(k: string): unknown } };
    expect(wk.set.get('b')).toBe(2);
  });
});

describe('an activation that has ended', () => {
  it('records no approval request from code it left running', async () => {
    const Board = z.object({ go: z.boolean(), done: z.boolean(), finished: z.boolean() });
    type B = z.output<typeof Board>;
    let late: Promise<unknown> | undefined;
    // Set when an approval request reaches the log (the bug): the run need not wait for an answer then.
    let wasRequested = false;
    let requested!: () => void;
    const asked = new Promise<void>((r) => {
      requested = () => {
        wasRequested = true;
        r();
      };
    });
    const agent = defineAgent<B>({
      id: 'leaver',
      watches: [['go']],
      writes: [['done']],
      machine: stepMachine<B, boolean>({
        when: (b) => b.go && !b.done,
        work: async (event) => {
          // Left running past the activation's end: it asks once the activation is over (its signal aborts
          // when it ends).
          late = new Promise((r) => event.tools.signal.addEventListener('abort', r, { once: true })).then(
            () => event.tools.requestApproval({ action: 'send', args: {} }),
          );
          late.catch(() => undefined);
          return true;
        },
        done: (d) => {
          d.done = true;
        },
      }),
    });
    // Keeps the run going after the leaver's activation has ended, past its late request.
    const keeper = defineAgent<B>({
      id: 'keeper',
      watches: [['done']],
      writes: [['finished']],
      machine: stepMachine<B, boolean>({
        when: (b) => b.done && !b.finished,
        work: async () => {
          // The run goes on until the leaver's late request has been refused, as it should be (or, were
          // it recorded, until it is on the log).
          await Promise.race([late?.catch(() => undefined), asked]);
          return true;
        },
        done: (d) => {
          d.finished = true;
        },
      }),
    });
    const runtime = createRuntime({
      board: { schema: Board, initial: { go: false, done: false, finished: false } },
      agents: [agent, keeper],
      goal: (b) => b.finished,
    });
    const handle = await runtime.start({ go: true });
    handle.board.subscribe({ from: 1, topics: ['hearsay.approval'] }, (e) => {
      if (e.type === 'message' && (e.payload as { phase?: string }).phase === 'requested') requested();
    });
    const result = await handle.result;
    expect(result.outcome).toBe('completed');
    expect(wasRequested, 'an approval request from the ended activation reached the log').toBe(false);
    expect(await runtime.pendingApprovals()).toEqual([]);
    await expect(late).rejects.toBeDefined();
    await runtime.close();
  });
});

/**
 * Issue 18: `statusPool` takes its status names as options typed against the items' `status` (a board
 * whose statuses are not `open`/`claimed` does not compile without them, a wrong name does not compile),
 * a `todo`/`doing`/`done` board naming them completes, and a pool that can never offer an item (its open
 * status is on no item, or the items have no status) is reported in the run's `warnings` instead of a
 * silent `quiescent` with nothing done. Through the built package.
 */
import {
  createRuntime,
  defineAgent,
  itemMachine,
  type Keyed,
  keyed,
  type LogEvent,
  MemoryStore,
  type PoolConfig,
  statusPool,
} from 'hearsay';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const Task = z.object({ status: z.enum(['todo', 'doing', 'done']), title: z.string(), result: z.string() });
const Board = z.object({ tasks: keyed(Task) });
type B = z.output<typeof Board>;
const tasks = (n: number) =>
  Object.fromEntries(
    Array.from({ length: n }, (_, i) => [`t${i}`, { status: 'todo', title: `task ${i}`, result: '' }]),
  );

/** A pooled worker over `tasks` with the given pool, that marks each task it gets done. */
function worker<TBoard>(pool: PoolConfig<TBoard>) {
  return defineAgent<TBoard>({
    id: 'worker',
    watches: [['tasks'] as never],
    writes: [['tasks'] as never],
    pool,
    machine: itemMachine<TBoard, string>({
      work: async ({ key }) => `did ${key}`,
      done: (d, { key, output }) => {
        const t = (d as unknown as B).tasks.get(key)!;
        t.result = output;
        t.status = 'done';
      },
    }),
  });
}

describe('statusPool status names', () => {
  it('are typed against the items’ status', () => {
    // @ts-expect-error: the tasks have no 'open'/'claimed' statuses, so the pool must name its own.
    statusPool((b: B) => b.tasks);
    // @ts-expect-error: naming only one is not enough (no task is ever 'claimed').
    statusPool((b: B) => b.tasks, { open: 'todo' });
    // @ts-expect-error: 'tdo' is not a status of these tasks.
    statusPool((b: B) => b.tasks, { open: 'tdo', claimed: 'doing' });
    statusPool((b: B) => b.tasks, { open: 'todo', claimed: 'doing', filter: (t) => t.title !== '' });
    // Items whose statuses include the defaults keep compiling without options.
    const Classic = z.object({ items: keyed(z.object({ status: z.enum(['open', 'claimed', 'done']) })) });
    statusPool((b: z.output<typeof Classic>) => b.items);
    const Loose = z.object({ items: keyed(z.object({ status: z.string() })) });
    statusPool((b: z.output<typeof Loose>) => b.items);
  });

  it('refuse one name for both statuses, or a name that is not a string', () => {
    expect(() => statusPool((b: B) => b.tasks, { open: 'todo', claimed: 'todo' })).toThrow(
      /open and claimed are both "todo"/,
    );
    expect(() => statusPool((b: B) => b.tasks, { open: '' as 'todo', claimed: 'doing' })).toThrow(
      /non-empty string/,
    );
  });

  it('a todo/doing/done board that names its statuses completes every task', async () => {
    const runtime = createRuntime({
      board: { schema: Board, initial: { tasks: tasks(5) } },
      agents: [worker(statusPool((b: B) => b.tasks, { open: 'todo', claimed: 'doing' }))],
      goal: (b) => [...b.tasks.values()].every((t) => t.status === 'done'),
    });
    try {
      const r = await runtime.run();
      expect(r.outcome).toBe('completed');
      expect(
        [...r.board.tasks.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([, t]) => [t.status, t.result]),
      ).toEqual(Array.from({ length: 5 }, (_, i) => ['done', `did t${i}`]));
      expect(r.warnings).toEqual([]);
    } finally {
      await runtime.close();
    }
  });
});

describe('a pool that can never offer an item', () => {
  const LooseBoard = z.object({
    tasks: keyed(z.object({ status: z.string().optional(), title: z.string(), result: z.string() })),
  });
  type L = z.output<typeof LooseBoard>;

  async function runLoose(initial: Record<string, unknown>) {
    // As a JavaScript user (or a loose type) can: a pool whose default `open` status no item has.
    const pool = statusPool((b: L) => b.tasks as unknown as Keyed<{ status: string }>);
    const store = new MemoryStore();
    const runtime = createRuntime({
      board: { schema: LooseBoard, initial: { tasks: initial as never } },
      agents: [worker(pool)],
      store,
    });
    try {
      const r = await runtime.run();
      const log: LogEvent[] = await store.read(r.runId, 1, Number.MAX_SAFE_INTEGER);
      return { r, log };
    } finally {
      await runtime.close();
    }
  }

  it('is a pool_idle warning in the result and on the log when its open status is on no item', async () => {
    const { r, log } = await runLoose(tasks(3));
    expect(r.outcome).toBe('quiescent');
    expect([...r.board.tasks.values()].every((t) => t.status === 'todo')).toBe(true);
    expect(r.warnings).toEqual([
      {
        code: 'pool_idle',
        agentId: 'worker',
        message: expect.stringMatching(/none of the 3 items has status "open" \(their statuses: "todo" ×3\)/),
      },
    ]);
    expect(
      log.flatMap((e) => (e.type === 'message' && e.topic === 'hearsay.warning' ? [e.payload] : [])),
    ).toContainEqual({ kind: 'pool_idle', agentId: 'worker', message: r.warnings[0]!.message });
  });

  it('names items without a status field', async () => {
    const { r } = await runLoose({
      a: { title: 'a', result: '' },
      b: { status: 'new', title: 'b', result: '' },
    });
    expect(r.warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(/"new" ×1, no status field ×1|no status field ×1, "new" ×1/),
    ]);
  });

  it('is not reported when the pool ran, or had nothing to look at', async () => {
    const ran = await runLoose({ a: { status: 'open', title: 'a', result: '' } });
    expect(ran.r.board.tasks.get('a')?.status).toBe('done');
    expect(ran.r.warnings).toEqual([]);
    expect((await runLoose({})).r.warnings).toEqual([]);
  });
});

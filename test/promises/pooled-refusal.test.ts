/**
 * A pooled item whose result commit is refused (it conflicts with another item's commit) and whose machine
 * does not handle the refusal fails its attempt and is retried, as a singleton's is: the work is never
 * recorded as completed while the board did not change (regression: the pooled path ignored the refusal,
 * logged the item `completed` and left it `claimed` for ever; the run ended quiescent with work lost).
 */
import {
  createRuntime,
  defineAgent,
  itemMachine,
  keyed,
  type LogEvent,
  type MessageEvent,
  statusPool,
} from 'hearsay';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const Board = z.object({
  tasks: keyed(z.object({ status: z.enum(['open', 'claimed', 'done']), result: z.number().optional() })),
  // The tally is a field of an object, not a top-level number: the scheduler makes a pooled instance wait for
  // one in flight only where their writes certainly collide (a number, a list), and this test needs the
  // instances to run at once and race.
  stats: z.object({ done: z.number() }),
});
type Board = z.infer<typeof Board>;

const ITEMS = 6;

function team(attempts: number) {
  const worker = defineAgent<Board>({
    id: 'worker',
    watches: [['tasks']],
    writes: [['tasks'], ['stats']],
    concurrency: 3,
    retry: { attempts, backoffMs: 0 },
    pool: statusPool((b) => b.tasks),
    machine: itemMachine<Board, number>({
      // Items finish at different times, so each result commit races the others on the shared counter.
      work: async ({ event, key }) => {
        await event.tools.sleep(100 + Number(key.slice(1)) * 7);
        return key.length;
      },
      done: (d, { key, output }) => {
        const t = d.tasks.get(key)!;
        t.status = 'done';
        t.result = output;
        d.stats.done += 1;
      },
    }),
  });
  const initial = {
    tasks: Object.fromEntries(
      Array.from({ length: ITEMS }, (_, i) => [`t${i}`, { status: 'open' as const }]),
    ),
    stats: { done: 0 },
  };
  return createRuntime({
    board: { schema: Board, initial },
    agents: [worker],
    goal: (b) => b.stats.done === ITEMS,
    deterministic: { seed: 7 },
  });
}

async function runAndRead(attempts: number) {
  const runtime = team(attempts);
  try {
    const handle = await runtime.start();
    const result = await handle.result;
    const log: LogEvent[] = [];
    handle.board.subscribe({ from: 1 }, (e) => log.push(e));
    await new Promise((r) => setImmediate(r));
    return { result, log };
  } finally {
    await runtime.close();
  }
}

const messages = (log: LogEvent[]): MessageEvent[] =>
  log.filter((e): e is MessageEvent => e.type === 'message');

describe('a pooled item whose result commit is refused', () => {
  it('fails the attempt and is retried until its result is on the board', async () => {
    const { result, log } = await runAndRead(6);
    expect(result.outcome).toBe('completed');
    expect(result.board.stats.done).toBe(ITEMS);
    expect([...result.board.tasks.values()].every((t) => t.status === 'done')).toBe(true);
    // The race is real: some result commits were refused and their items ran again.
    const failed = messages(log).filter((e) => (e.payload as { phase?: string }).phase === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) expect(JSON.stringify(f.payload)).toMatch(/commit refused \(conflict\)/);
  });

  it('is never recorded completed when its commit did not land', async () => {
    const { result, log } = await runAndRead(1);
    // With no retries left, a refused item fails the run's accounting instead of vanishing.
    const completedKeys = messages(log)
      .filter((e) => (e.payload as { phase?: string }).phase === 'completed')
      .map((e) => (e.payload as { key?: string }).key)
      .filter((k): k is string => k !== undefined);
    for (const key of completedKeys) expect(result.board.tasks.get(key)?.status).toBe('done');
    if (result.board.stats.done < ITEMS) expect(result.failures.length).toBeGreaterThan(0);
  });
});

import { z } from 'zod';
import { prepareCommit } from '../src/blackboard/index.js';
import { createBlackboard, keyed } from '../src/index.js';
import { type BenchCase, heapMb, repeat, summarize, timeMs } from './harness.js';

const Entry = z.object({ title: z.string(), status: z.enum(['open', 'done']), n: z.number() });
const Board = z.object({ goal: z.string(), items: keyed(Entry) });

function initialWith(entries: number) {
  return {
    goal: 'bench',
    items: Object.fromEntries(
      Array.from({ length: entries }, (_, i) => [`id${i}`, { title: `item ${i}`, status: 'open', n: i }]),
    ),
  };
}

/**
 * µs per commit of one small change (one entry's field) on boards whose collection has 10 and 10,000
 * entries. The two boards' samples alternate, so the machine's noise and the heap's growth fall on both
 * alike and the ratio between them means something.
 */
function commitCases(sizes: readonly number[]): BenchCase {
  const commits = 2000;
  const runs = 9;
  return {
    group: 'blackboard',
    name: sizes.map((n) => `commit.board${n >= 1000 ? `${n / 1000}k` : n}`).join(' + '),
    async run() {
      const boards = await Promise.all(
        sizes.map((entries) =>
          createBlackboard({ schema: Board, initial: initialWith(entries), snapshotEvery: 1_000_000 }),
        ),
      );
      const samples = sizes.map(() => [] as number[]);
      let i = 0;
      for (let r = -2; r < runs; r++) {
        for (const [b, board] of boards.entries()) {
          const entries = sizes[b]!;
          const ms = await timeMs(async () => {
            for (let c = 0; c < commits; c++, i++) {
              const result = await board.commit({
                baseVersion: board.version,
                reads: [],
                patches: [{ op: 'replace', path: ['items', `id${(i * 7919) % entries}`, 'n'], value: i }],
                author: 'bench',
              });
              if (!result.ok) throw new Error(result.error.message);
            }
          });
          if (r >= 0) samples[b]!.push((ms * 1000) / commits);
        }
      }
      return sizes.map((entries, b) => {
        const stats = summarize(samples[b]!);
        return {
          group: 'blackboard',
          case: `commit.board${entries >= 1000 ? `${entries / 1000}k` : entries}`,
          metric: 'us_per_op',
          ...stats,
          commits_per_s: Math.round(1e6 / stats.value),
          entries,
          heap_mb: heapMb(),
        };
      });
    },
  };
}

/**
 * 50 concurrent writers × 20 increments each, on one key or on 50 disjoint keys. `transact` writers
 * run their recipe in turn at the head; `agent` writers look at a snapshot, yield to the event loop
 * (as an agent awaiting a model would), then commit what they made of that snapshot, retrying on conflict.
 */
function contentionCase(name: string, disjoint: boolean, style: 'transact' | 'agent'): BenchCase {
  const writers = 50;
  const each = 20;
  return {
    group: 'blackboard',
    name,
    async run() {
      let conflicts = 0;
      let final = 0;
      const stats = await repeat(async () => {
        const board = await createBlackboard({
          schema: Board,
          initial: initialWith(writers),
          snapshotEvery: 1_000_000,
        });
        const before = [...board.state.items.values()].reduce((sum, e) => sum + e.n, 0);
        conflicts = 0;
        const bump = (w: number) => (d: z.output<typeof Board>) => {
          d.items.get(disjoint ? `id${w}` : 'id0')!.n += 1;
        };
        const once = async (w: number): Promise<void> => {
          if (style === 'transact') {
            const r = await board.transact(bump(w), { author: `w${w}`, maxAttempts: 10_000 });
            if (!r.ok) throw new Error(r.error.message);
            conflicts += r.attempts - 1;
            return;
          }
          for (;;) {
            const seen = board.snapshot();
            await new Promise((r) => setImmediate(r));
            const { commit } = prepareCommit(seen, bump(w), { author: `w${w}` });
            const r = await board.commit(commit!);
            if (r.ok) return;
            if (r.error.code !== 'conflict') throw new Error(r.error.message);
            conflicts += 1;
          }
        };
        const ms = await timeMs(async () => {
          await Promise.all(
            Array.from({ length: writers }, async (_, w) => {
              for (let k = 0; k < each; k++) await once(w);
            }),
          );
        });
        // The increments that landed: 1000 exactly, or updates were lost.
        final = [...board.state.items.values()].reduce((sum, e) => sum + e.n, 0) - before;
        if (final !== writers * each) throw new Error(`${name}: ${writers * each - final} updates were lost`);
        return (writers * each) / (ms / 1000);
      });
      return {
        group: 'blackboard',
        case: name,
        metric: 'ops_per_s',
        ...stats,
        final,
        conflicts,
        retries: conflicts,
        style,
      };
    },
  };
}

export const blackboardCases: BenchCase[] = [
  commitCases([10, 10_000]),
  contentionCase('contention.samekey.50x20', false, 'transact'),
  contentionCase('contention.disjoint.50x20', true, 'transact'),
  contentionCase('contention.samekey.50x20.agents', false, 'agent'),
  contentionCase('contention.disjoint.50x20.agents', true, 'agent'),
];

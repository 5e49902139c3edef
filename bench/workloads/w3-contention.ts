/**
 * W3 contention on one key — Hearsay. See ../shared/bench-peers/WORKLOADS.md.
 * Usage: node --expose-gc dist/bench/workloads/w3-contention.js [--c=50] [--r=20] [--warmup=2] [--reps=7]
 *        [--attempts=C*R]
 *
 * C singleton branch agents (`defineAgent` + `stepMachine`), all started at once. One round = one
 * activation: its commit reads `counter` on the board the activation saw and writes `counter + 1`, and
 * its own entry of `rounds` (a `keyed` collection) + 1. The commit is the normal versioned one: if another
 * branch committed `counter` since the activation's board, it conflicts, the activation fails and the
 * agent's retry policy re-runs it on the fresh board. A branch watches its own `rounds` entry, so its next
 * round starts after its commit; its guard holds while it has rounds left.
 *
 * Attempts and conflicts are counted from the run's log (`hearsay.activation` records: one `started` per
 * attempt; a conflicting commit shows as `failed` with `commit refused (conflict)`), read from the store
 * after the run, outside the timed region.
 */
import { createRuntime, defineAgent, keyed, type LogEvent, MemoryStore, stepMachine } from 'hearsay';
import { z } from 'zod';
import {
  deleteEachRun,
  emit,
  envInfo,
  main,
  measure,
  now,
  PEER,
  parseArgs,
  peerVersions,
  processWarnings,
} from './protocol.js';
import { verifyContention, verifyOutcome } from './verify.js';

const Board = z.object({ counter: z.number(), rounds: keyed(z.number()) });
type Board = z.output<typeof Board>;

/** The team: C branches; retries bounded by the number of updates (see below). */
export function buildContention(c: number, r: number, store: MemoryStore, retryAttempts?: number) {
  // Each conflict an activation loses means another round was committed; there are C*R in all, so an
  // activation cannot lose more than C*R - 1 times: with C*R attempts exactness never depends on luck.
  // (The default, 2 attempts, loses rounds at once under this contention.)
  const attempts = retryAttempts ?? c * r;
  const agents = Array.from({ length: c }, (_, b) => {
    const name = `b${b}`;
    return defineAgent<Board>({
      id: name,
      watches: [['rounds', name]],
      writes: [['counter'], ['rounds', name]],
      retry: { attempts, backoffMs: 0 },
      machine: stepMachine<Board, void>({
        when: (board) => (board.rounds.get(name) ?? 0) < r,
        work: async () => {},
        done: (d) => {
          d.counter = d.counter + 1; // a real read-modify-write of the shared value
          d.rounds.set(name, (d.rounds.get(name) ?? 0) + 1);
        },
      }),
    });
  });
  return {
    attempts,
    runtime: createRuntime({
      board: { schema: Board, initial: { counter: 0, rounds: {} } },
      agents,
      store,
      goal: (board) => board.counter === c * r,
      // A branch's round k runs at causal depth k (re-enabled by its own commit): R above the default 5.
      limits: { depth: r + 1, concurrency: Math.max(256, c), maxActivations: c * r + c + 10 },
    }),
  };
}

/** Attempts (`started` records) and conflicts (`failed` with a refused commit) on a run's log. */
export function countAttempts(log: readonly LogEvent[]) {
  let attempts = 0;
  let conflicts = 0;
  let otherFailures = 0;
  for (const e of log) {
    if (e.type !== 'message' || e.topic !== 'hearsay.activation') continue;
    const p = e.payload as { phase: string; error?: string };
    if (p.phase === 'started') attempts++;
    else if (p.phase === 'failed') {
      if (p.error?.startsWith('commit refused (conflict)')) conflicts++;
      else otherFailures++;
    }
  }
  return { attempts, conflicts, otherFailures };
}

await main(async () => {
  // --attempts: the branches' retry attempts (default C*R; fewer can lose rounds, and the run then fails).
  const args = parseArgs({ c: 50, r: 20, warmup: 2, reps: 7, attempts: 0 });
  const C = args.c;
  const R = args.r;
  const EXPECTED = C * R;
  const store = new MemoryStore();
  const { runtime, attempts: retryAttempts } = buildContention(C, R, store, args.attempts || undefined);

  const res = await measure({
    warmup: args.warmup,
    reps: args.reps,
    run: async () => {
      const t0 = now();
      const result = await runtime.run(); // every run starts from the initial board
      const totalMs = now() - t0;
      const counted = countAttempts(await store.read(result.runId, 1));
      return {
        metrics: {
          totalMs,
          updatesPerSec: EXPECTED / (totalMs / 1000),
          usPerUpdate: (totalMs * 1000) / EXPECTED,
          finalCounter: result.board.counter,
          exact: result.board.counter === EXPECTED,
          attempts: counted.attempts,
          attemptsPerUpdate: counted.attempts / EXPECTED,
          conflicts: counted.conflicts,
          otherFailures: counted.otherFailures,
        },
        result,
      };
    },
    verify: (result, metrics) => {
      verifyOutcome(result, 'completed');
      verifyContention(result.board, C, R);
      if (metrics.otherFailures !== 0)
        throw new Error(`${metrics.otherFailures} failures other than conflicts`);
    },
    teardown: deleteEachRun(runtime),
  });
  await runtime.close();

  emit({
    peer: PEER,
    versions: peerVersions(),
    workload: 'W3-contention',
    params: { c: C, r: R },
    warmup: res.warmup,
    reps: res.reps,
    metrics: res.metrics,
    variants: {
      lww: {
        absent:
          'Hearsay offers agents no commit without a version check: every agent commit (agentActions().commit, stepMachine/itemMachine done) is prepared on the board the activation saw and refused on conflict, so a naive last-write-wins read-modify-write cannot be written',
      },
    },
    info: {
      expectedCounter: EXPECTED,
      mechanism:
        'C singleton branches (stepMachine), each watching its own rounds entry; a round commits counter = counter + 1 (read on the board the activation saw) and rounds[b] + 1 with the normal versioned commit; a conflict fails the activation and the retry policy re-runs it on the fresh board',
      retry: {
        attempts: retryAttempts,
        backoffMs: 0,
        why: 'C*R: an activation can lose at most C*R-1 times',
      },
      attemptsCountedFrom:
        "the run's log: hearsay.activation started records (one per attempt), failed records with 'commit refused (conflict)'",
      warnings: processWarnings(),
    },
    check: { ok: res.metrics.exact === true, finalCounter: res.lastResult.board.counter },
    env: envInfo(),
  });
});

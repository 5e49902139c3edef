/**
 * W2 fan-out / fan-in — Hearsay. See ../shared/bench-peers/WORKLOADS.md.
 * Usage: node --expose-gc dist/bench/workloads/w2-fanout.js [--k=100] [--l=20] [--warmup=2] [--reps=7]
 *
 * Written as the README teaches a fan-out: `dispatch` (a singleton, `stepMachine`) creates K open items in
 * a `keyed` collection; `worker` is a pooled agent (`pool: statusPool(...)`, `itemMachine`) whose work is
 * `await event.tools.sleep(L)` — the run's clock, which without `deterministic` is the real clock (a
 * plain `setTimeout`) — and whose `done` marks its item done and puts `{i, value: 2*i}` into `results`;
 * `join` (a singleton) runs once all K results are there and commits `total` and `count`. No cap on
 * workers in flight: the worker's `concurrency` and the run's `limits.concurrency` are both set to K.
 */
import { createRuntime, defineAgent, itemMachine, keyed, statusPool, stepMachine } from 'hearsay';
import { z } from 'zod';
import {
  deleteEachRun,
  emit,
  envInfo,
  gc,
  main,
  measure,
  now,
  PEER,
  parseArgs,
  peerVersions,
  processWarnings,
  sleep,
  stats,
} from './protocol.js';
import { verifyFanout, verifyOutcome } from './verify.js';

const Board = z.object({
  k: z.number(),
  items: keyed(z.object({ i: z.number(), status: z.enum(['open', 'claimed', 'done']) })),
  results: keyed(z.object({ i: z.number(), value: z.number() })),
  total: z.number().optional(),
  count: z.number().optional(),
});
type Board = z.output<typeof Board>;

/** The concurrency probe and phase timestamps (ms since the run started), reset before every run. */
export const probe = {
  t0: 0,
  inFlight: 0,
  maxInFlight: 0,
  firstStart: Number.POSITIVE_INFINITY,
  lastStart: 0,
  lastEnd: 0,
  joinStart: 0,
  reset() {
    this.t0 = now();
    this.inFlight = 0;
    this.maxInFlight = 0;
    this.firstStart = Number.POSITIVE_INFINITY;
    this.lastStart = 0;
    this.lastEnd = 0;
    this.joinStart = 0;
  },
};

/** The team: dispatch, the pooled worker and join. */
export function buildFanout(k: number, l: number) {
  const dispatch = defineAgent<Board>({
    id: 'dispatch',
    watches: [['k']],
    writes: [['items']],
    machine: stepMachine<Board, void>({
      when: (b) => b.k > 0 && b.items.size === 0,
      work: async () => {},
      done: (d) => {
        for (let i = 0; i < d.k; i++) d.items.set(`i${i}`, { i, status: 'open' });
      },
    }),
  });
  const worker = defineAgent<Board>({
    id: 'worker',
    watches: [['items']],
    writes: [['items'], ['results']],
    concurrency: k,
    pool: statusPool((b: Board) => b.items),
    machine: itemMachine<Board, number>({
      work: async ({ event, key }) => {
        const ts = now() - probe.t0;
        if (ts < probe.firstStart) probe.firstStart = ts;
        if (ts > probe.lastStart) probe.lastStart = ts;
        if (++probe.inFlight > probe.maxInFlight) probe.maxInFlight = probe.inFlight;
        await event.tools.sleep(l); // the simulated model call
        probe.inFlight--;
        const te = now() - probe.t0;
        if (te > probe.lastEnd) probe.lastEnd = te;
        return event.board.items.get(key)!.i;
      },
      done: (d, { key, output: i }) => {
        d.items.get(key)!.status = 'done';
        d.results.set(key, { i, value: 2 * i });
      },
    }),
  });
  const join = defineAgent<Board>({
    id: 'join',
    watches: [['results']],
    writes: [['total'], ['count']],
    machine: stepMachine<Board, void>({
      when: (b) => b.count === undefined && b.k > 0 && b.results.size === b.k,
      work: async () => {
        probe.joinStart = now() - probe.t0;
      },
      done: (d) => {
        let total = 0;
        for (const r of d.results.values()) total += r.value;
        d.total = total;
        d.count = d.results.size;
      },
    }),
  });
  return createRuntime({
    board: { schema: Board, initial: { k: 0, items: {}, results: {} } },
    agents: [dispatch, worker, join],
    goal: (b) => b.count !== undefined,
    // Every worker may be in flight at once: the run-wide cap (default 256) is raised to K as well.
    limits: { concurrency: k, maxActivations: k + 10 },
  });
}

await main(async () => {
  const args = parseArgs({ k: 100, l: 20, warmup: 2, reps: 7 });
  const K = args.k;
  const L = args.l;

  // The floor: the same K sleeps with a plain Promise.all, no runtime, same protocol.
  const floorSamples: number[] = [];
  for (let r = 0; r < 2 + 7; r++) {
    gc();
    const t0 = now();
    await Promise.all(Array.from({ length: K }, (_, i) => sleep(L).then(() => 2 * i)));
    if (r >= 2) floorSamples.push(now() - t0);
  }
  const floor = stats(floorSamples);

  const runtime = buildFanout(K, L);
  const res = await measure({
    warmup: args.warmup,
    reps: args.reps,
    run: async () => {
      probe.reset();
      const result = await runtime.run({ k: K });
      const makespanMs = now() - probe.t0;
      return {
        metrics: {
          makespanMs,
          ratio: makespanMs / L,
          perWorkerOverheadUs: ((makespanMs - L) * 1000) / K,
          perWorkerOverheadVsFloorUs: ((makespanMs - floor.median) * 1000) / K,
          maxInFlight: probe.maxInFlight,
          firstWorkerStartMs: probe.firstStart,
          lastWorkerStartMs: probe.lastStart,
          lastWorkerEndMs: probe.lastEnd,
          joinStartMs: probe.joinStart,
        },
        result,
      };
    },
    verify: (result) => {
      verifyOutcome(result, 'completed');
      verifyFanout(result.board, K);
    },
    teardown: deleteEachRun(runtime),
  });
  await runtime.close();

  emit({
    peer: PEER,
    versions: peerVersions(),
    workload: 'W2-fanout',
    params: { k: K, l: L },
    warmup: res.warmup,
    reps: res.reps,
    metrics: res.metrics,
    info: {
      criticalPathMs: L,
      criticalPathNote:
        'one latency step: dispatch(0ms) -> K parallel pooled workers(L) -> join(0ms); join runs once all K results are committed',
      timerFloorMs: floor,
      sequentialMakespanMs: K * L,
      mechanism:
        'dispatch (stepMachine) creates K open items in a keyed collection; worker: pool statusPool(items), itemMachine, work = await event.tools.sleep(L) (real clock: setTimeout), done marks the item done and sets results[key] = {i, value: 2i}; join (stepMachine) when results.size === k',
      concurrency: { worker: K, run: K },
      activations: res.lastResult.activations,
      warnings: processWarnings(),
    },
    check: {
      ok: true,
      outcome: res.lastResult.outcome,
      count: res.lastResult.board.count,
      total: res.lastResult.board.total,
    },
    env: envInfo(),
  });
});

/**
 * W1 chain — Hearsay. See ../shared/bench-peers/WORKLOADS.md.
 * Usage: node --expose-gc dist/bench/workloads/w1-chain.js [--n=200] [--warmup=2] [--reps=7]
 *
 * N singleton agents written as the README teaches (`defineAgent` + `stepMachine`): agent i's guard holds
 * when `counter === i`; its step reads `counter` from the board it saw and commits `counter + 1` and `i`
 * appended to `log`. Every agent watches `counter` (the value its guard reads).
 */
import { createRuntime, defineAgent, stepMachine } from 'hearsay';
import { z } from 'zod';
import {
  emit,
  envInfo,
  main,
  measure,
  now,
  PEER,
  parseArgs,
  peerVersions,
  processWarnings,
  round,
} from './protocol.js';
import { verifyChain, verifyOutcome } from './verify.js';

const Board = z.object({ counter: z.number(), log: z.array(z.number()) });
type Board = z.output<typeof Board>;

/** The team: N agents and the runtime that runs them. */
export function buildChain(n: number) {
  const agents = Array.from({ length: n }, (_, i) =>
    defineAgent<Board>({
      id: `n${i}`,
      watches: [['counter']],
      writes: [['counter'], ['log']],
      machine: stepMachine<Board, void>({
        when: (b) => b.counter === i,
        work: async () => {},
        done: (d) => {
          d.counter = d.counter + 1;
          d.log.push(i);
        },
      }),
    }),
  );
  return createRuntime({
    board: { schema: Board, initial: { counter: 0, log: [] } },
    agents,
    goal: (b) => b.counter === n,
    // Agent i runs at causal depth i+1, and the run makes N activations: both above their defaults
    // (5 and 10,000) for a long chain.
    limits: { depth: n + 1, maxActivations: n + 10 },
  });
}

await main(async () => {
  const args = parseArgs({ n: 200, warmup: 2, reps: 7 });
  const N = args.n;
  const tBuild0 = now();
  const runtime = buildChain(N);
  const buildMs = now() - tBuild0;

  const res = await measure({
    warmup: args.warmup,
    reps: args.reps,
    run: async () => {
      const t0 = now();
      const result = await runtime.run({ counter: 0, log: [] });
      const totalMs = now() - t0;
      return { metrics: { totalMs, usPerStep: (totalMs * 1000) / N }, result };
    },
    verify: (result) => {
      verifyOutcome(result, 'completed');
      verifyChain(result.board, N);
    },
    // Each finished run is deleted after it is verified (untimed), so later runs do not carry the earlier
    // runs' logs in the heap (the default retention keeps the newest 1,000 runs of a MemoryStore).
    teardown: async (_ctx, result) => {
      await runtime.deleteRun(result.runId);
    },
  });
  await runtime.close();

  emit({
    peer: PEER,
    versions: peerVersions(),
    workload: 'W1-chain',
    params: { n: N },
    warmup: res.warmup,
    reps: res.reps,
    metrics: res.metrics,
    info: {
      buildAndCompileMs: round(buildMs),
      agents: N,
      limits: { depth: N + 1, maxActivations: N + 10 },
      mechanism:
        'N singleton agents (defineAgent + stepMachine), each watching counter; agent i: when counter === i, commits counter+1 and log.push(i); goal counter === N',
      activations: res.lastResult.activations,
      warnings: processWarnings(),
    },
    check: {
      ok: true,
      outcome: res.lastResult.outcome,
      finalCounter: res.lastResult.board.counter,
      logLength: res.lastResult.board.log.length,
    },
    env: envInfo(),
  });
});

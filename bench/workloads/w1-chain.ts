/**
 * W1 chain — Hearsay. See ../shared/bench-peers/WORKLOADS.md.
 * Usage: node --expose-gc dist/bench/workloads/w1-chain.js [--n=200] [--warmup=2] [--reps=7]
 *
 * N singleton agents written as the README teaches (`defineAgent` + `stepMachine`): agent i's guard holds
 * when `counter === i`; its step reads `counter` from the board it saw and commits `counter + 1` and `i`
 * appended to `log`. Agent i watches the entry of `log` its predecessor appends (`['log', i - 1]`; agent 0
 * is enabled by the run's start): the dependency LangGraph states as the edge n(i-1) → n(i), stated the
 * Hearsay way, as what may enable the agent. (Were every agent to watch `counter`, every commit would ask
 * all N agents' guards: N² `can` calls per run, the cost of a watch that says less than the team knows.)
 */
import { createRuntime, defineAgent, stepMachine } from 'hearsay';
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
  round,
} from './protocol.js';
import { verifyChain, verifyOutcome } from './verify.js';

const Board = z.object({ counter: z.number(), log: z.array(z.number()) });
type Board = z.output<typeof Board>;

/** The team: N agents and the runtime that runs them. */
export function buildChain(n: number, depth = n + 1) {
  const agents = Array.from({ length: n }, (_, i) =>
    defineAgent<Board>({
      id: `n${i}`,
      watches: i === 0 ? [['counter']] : [['log', i - 1]],
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
    limits: { depth, maxActivations: n + 10 },
  });
}

await main(async () => {
  // `--depth` is the run's depth limit (default N + 1, what the chain needs; less ends it depth_exceeded).
  const args = parseArgs({ n: 200, depth: 0, warmup: 2, reps: 7 });
  const N = args.n;
  const tBuild0 = now();
  const runtime = buildChain(N, args.depth > 0 ? args.depth : N + 1);
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
    teardown: deleteEachRun(runtime),
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
      limits: { depth: args.depth > 0 ? args.depth : N + 1, maxActivations: N + 10 },
      mechanism:
        "N singleton agents (defineAgent + stepMachine); agent i watches ['log', i-1] (agent 0: counter); when counter === i, commits counter+1 and log.push(i); goal counter === N",
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

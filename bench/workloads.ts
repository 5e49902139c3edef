/**
 * The `workloads` group: bench-peers/WORKLOADS.md's W1–W4 written as the README teaches (bench/workloads/),
 * each (workload, size) in a fresh `node --expose-gc` process with the workloads' protocol (2 warm-ups, 7
 * timed runs, every run verified: a wrong end state fails the bench). Prints one BENCH.md line per case
 * (two for W4: without and with a durable store); `npm run bench -- workloads --raw` adds each script's
 * whole JSON line (`raw`), the same shape as the LangGraph scripts'. `QUICK=1`: 1 warm-up, 2 runs.
 */
import type { BenchCase } from './harness.js';
import { scriptArgs } from './harness.js';
import { benchLines, quickArgs, runScript, WORKLOAD_CASES } from './workloads/cases.js';

export const workloadCases: BenchCase[] = WORKLOAD_CASES.map((c) => ({
  group: 'workloads',
  name: c.id,
  async run() {
    const run = await runScript([...scriptArgs(`bench/workloads/${c.script}`), ...c.args, ...quickArgs()], {
      echo: true,
    });
    if (!run.ok || !run.line)
      throw new Error(
        `workloads ${c.id} failed (exit ${run.code}${run.line ? ', check not ok' : ', no JSON line'}):\n${run.stderr.slice(-3000)}`,
      );
    return benchLines(c, run.line, process.argv.includes('--raw'));
  },
}));

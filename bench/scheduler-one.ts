/**
 * Runs one scheduler case by name and prints its lines (`node dist/bench/scheduler-one.js chain.1000`):
 * how the `.cold` cases run each case in a fresh process (with HEARSAY_BENCH_COLD=1: 2 warm-up runs).
 */
import { warmSchedulerCases } from './scheduler.js';

const name = process.argv[2];
const found = warmSchedulerCases.find((c) => c.name === name);
if (!found) {
  console.error(`No scheduler case "${name}". Cases: ${warmSchedulerCases.map((c) => c.name).join(', ')}`);
  process.exit(2);
}
const lines = await found.run();
for (const line of Array.isArray(lines) ? lines : [lines]) console.log(JSON.stringify(line));

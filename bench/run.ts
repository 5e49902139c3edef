/**
 * `npm run bench` runs every group; `npm run bench -- blackboard` runs one. Each case prints one JSON
 * line on stdout; progress and anything else goes to stderr.
 */
import { blackboardCases } from './blackboard.js';
import type { BenchCase } from './harness.js';
import { hubCases } from './hub.js';
import { inspectorCases } from './inspector.js';
import { postgresCases } from './postgres.js';
import { schedulerCases } from './scheduler.js';
import { workloadCases } from './workloads.js';

const all: BenchCase[] = [
  ...blackboardCases,
  ...schedulerCases,
  ...hubCases,
  ...inspectorCases,
  ...postgresCases,
  ...workloadCases,
];
// Flags (`--raw`) are read by the groups that take them; the other arguments name groups.
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const groups = new Set(all.map((c) => c.group));
for (const g of wanted) {
  if (!groups.has(g)) {
    console.error(`Unknown group "${g}". Groups: ${[...groups].join(', ')}`);
    process.exit(2);
  }
}
for (const c of all) {
  if (wanted.length > 0 && !wanted.includes(c.group)) continue;
  console.error(`running ${c.group} ${c.name}…`);
  const lines = await c.run();
  for (const line of Array.isArray(lines) ? lines : [lines]) console.log(JSON.stringify(line));
}

/**
 * `npm run example -- hierarchical`: a parent team delegates each sub-problem, whole, to a child run of the
 * research team (its own board and agents); the child's outcome comes back and is committed to the parent.
 * With INSPECT=1 the inspector stays up to navigate parent ↔ child.
 */
import { createRuntime, type LogEvent, readRecord, TOPICS } from 'hearsay';
import { hierarchicalTeam } from './team.js';

const runtime = createRuntime(hierarchicalTeam());
const hub = await runtime.listen({ insecureDevMode: true, log: () => {} });
const handle = await runtime.start({ goal: 'blackboard runtimes' }, { runId: 'parent' });
handle.board.subscribe({ from: 1 }, (e: LogEvent) => {
  if (e.type !== 'message' || e.topic !== TOPICS.child) return;
  const p = readRecord(e, TOPICS.child);
  console.log(
    `  ${p.agentId} ${p.phase === 'started' ? 'started' : `ended (${p.outcome})`} child run ${p.childRunId}`,
  );
});
const result = await handle.result;
console.log('\nparent board:');
for (const [key, part] of result.board.parts.entries())
  console.log(`  ${key}: ${part.question}\n      → ${part.answer} [${part.childRun}: ${part.childOutcome}]`);
console.log(`\n${result.outcome}: ${result.reason}`);
console.log(
  `cost, children included: ${result.cost.total.calls} model calls, ${result.cost.total.tokens} tokens, $${result.cost.total.cost.toFixed(5)}`,
);
if (process.env.INSPECT) {
  console.log(`The inspector at ${hub.inspectorUrl} navigates parent ↔ child; Ctrl-C stops.`);
  await new Promise((r) => process.once('SIGINT', r));
}
await runtime.close();

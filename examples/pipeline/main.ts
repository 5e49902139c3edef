/** `npm run example -- pipeline`: four stages, each enabled by the previous stage's output on the board. */
import { createRuntime, type LogEvent, modelsFromEnv, readRecord, TOPICS } from 'hearsay';
import { pipeline } from './team.js';

console.log(
  `Pipeline — ${modelsFromEnv(process.env).simulated ? 'simulated model (offline)' : 'real model'}\n`,
);
const runtime = createRuntime(pipeline());
const handle = await runtime.start({ topic: 'blackboard architectures' });
const t0 = Date.now();
handle.board.subscribe({ from: 1 }, (e: LogEvent) => {
  const p =
    e.type === 'message' && e.topic === TOPICS.activation ? readRecord(e, TOPICS.activation) : undefined;
  if (p?.phase === 'started')
    console.log(`${String(Date.now() - t0).padStart(4)} ms  ${p.agentId} starts (depth ${p.depth})`);
  if (e.type === 'commit' && e.author !== 'input')
    console.log(
      `${String(Date.now() - t0).padStart(4)} ms  ${e.author} wrote ${e.writes.map((w) => w.join('.')).join(', ')}`,
    );
});
const result = await handle.result;
console.log(`\nfinal: ${result.board.final}`);
console.log(
  `${result.outcome}: ${result.reason}; ${result.activations} activations, ${result.cost.total.tokens} tokens`,
);

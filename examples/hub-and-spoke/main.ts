/**
 * `npm start`: a team of agents on one blackboard. A planner decomposes the goal into tasks; a pooled
 * researcher and a pooled coder pick up tasks of their kind in parallel; a reviewer approves them or
 * sends one back; a synthesizer writes the report. Model calls go through the model layer: the built-in
 * simulated model offline (deterministic answers, real latency), or a real OpenAI-compatible server when
 * OPENAI_API_KEY is set. Every decision the scheduler makes is on the run's log.
 */
import { createRuntime, formatPath, type LogEvent, readRecord, TOPICS } from 'hearsay';
import { models } from './model.js';
import { team } from './team.js';

const runtime = createRuntime(team);
console.log(`Hearsay team demo — ${models.description}\n`);

const started = Date.now();
const handle = await runtime.start({ goal: 'a blackboard runtime teams can trust' });
const ms = () => String(Date.now() - started).padStart(4);
handle.board.subscribe({ from: 1 }, (e: LogEvent) => {
  if (e.type === 'commit') {
    console.log(
      `${ms()} ms  v${String(e.version).padEnd(3)} ${e.author.padEnd(11)} wrote ${e.writes.map(formatPath).join(', ')}`,
    );
    return;
  }
  if (e.topic === TOPICS.activation) {
    const p = readRecord(e, TOPICS.activation);
    const who = `${p.agentId}${p.key ? `[${p.key}]` : ''}`;
    if (p.phase === 'started')
      console.log(`${ms()} ms       scheduler   activates ${who} (depth ${p.depth})`);
    else if (p.phase === 'refused')
      console.log(`${ms()} ms       scheduler   ${who} refused: ${p.reason} ${p.detail}`);
    else if (p.phase === 'failed') console.log(`${ms()} ms       scheduler   ${who} failed: ${p.error}`);
    else if (p.phase === 'aborted') console.log(`${ms()} ms       scheduler   ${who} aborted: ${p.reason}`);
  } else if (e.topic === TOPICS.outcome) {
    const p = readRecord(e, TOPICS.outcome);
    console.log(`${ms()} ms       outcome     ${p.outcome}: ${p.reason}`);
  }
});

const result = await handle.result;
console.log(`\n${result.board.report ?? '(no report)'}\n`);
const c2 = result.board.tasks.get('c2')?.result;
if (c2)
  console.log(
    `Model output is stored with its provenance: c2 came from ${c2.provenance.agent} (${c2.provenance.activation}) via ${c2.provenance.model}.`,
  );
console.log(
  `Outcome: ${result.outcome} (${result.reason}) after ${result.activations} activations, board version ${result.version}.`,
);
const reviewerState = handle.persistedSnapshot('reviewer') as {
  context?: { reviewed: number; sentBack: number };
};
console.log(
  `The reviewer reviewed ${reviewerState.context?.reviewed} results and sent ${reviewerState.context?.sentBack} back.`,
);
const row = (name: string, s: { calls?: number; tokens: number; cost: number }) =>
  console.log(
    `  ${name.padEnd(14)} ${String(s.calls ?? '').padStart(3)} ${String(s.tokens).padStart(6)} tokens  $${s.cost.toFixed(6)}`,
  );
console.log('\nCost of the run (model calls, tokens, cost), per agent:');
for (const [agent, spent] of Object.entries(result.cost.byAgent)) row(agent, spent);
console.log('per model:');
for (const [model, spent] of Object.entries(result.cost.byModel)) row(model, spent);
row('total', result.cost.total);
console.log(`trace ${result.traceId} (register an OpenTelemetry SDK to export it; see README "Tracing")`);

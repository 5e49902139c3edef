/**
 * `npm run demo:inspect`: the team demo with its inspector. The hub listens on loopback (development mode:
 * no token, loopback only) and prints the inspector's address; open it to watch the run: the board
 * changing, the log, each agent's state, the span waterfall, cost, the agenda. At the end the publisher
 * asks to post the report: approve or reject it on the Approvals tab. Ctrl-C stops.
 */
import { createRuntime } from 'hearsay';
import { inspectedTeam } from './team.js';

const port = Number(process.env.PORT ?? 7400);
const runtime = createRuntime(inspectedTeam(Number(process.env.LATENCY_MS ?? 600)));
const hub = await runtime.listen({ port, insecureDevMode: true, log: (line) => console.log(line) });
console.log(`Open ${hub.inspectorUrl} — the run starts in 3 s.`);

process.once('SIGINT', () => void runtime.close().then(() => process.exit(0)));
await new Promise((r) => setTimeout(r, 3000));
const result = await runtime.run({ goal: 'a blackboard runtime teams can trust' }, { runId: 'team-demo' });
console.log(`${result.outcome} (${result.reason}); published: ${result.board.published ?? '—'}`);
console.log(
  'The inspector stays up to look back at the run (the version slider steps through it); Ctrl-C stops.',
);

import { modelsFromEnv, type TransportRequest } from 'hearsay';

/**
 * The team's models: a real OpenAI-compatible server when OPENAI_API_KEY (or OPENAI_BASE_URL) is set,
 * otherwise the built-in simulated model, answering this demo's prompts deterministically.
 */
export const models = teamModels(40);

/** The team's models with the simulated model answering after `latencyMs` (slower is easier to watch). */
export function teamModels(latencyMs: number) {
  return modelsFromEnv(process.env, { simulated: { latencyMs, respond: simulatedAnswer } });
}

/** What the simulated model says to the demo's prompts (each prompt starts with the agent's role). */
function simulatedAnswer(req: TransportRequest): { text: string } | undefined {
  const system = req.messages.find((m) => m.role === 'system')?.content ?? '';
  const user = [...req.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  if (system.startsWith('You are the planner')) {
    return {
      text: JSON.stringify({
        tasks: [
          { id: 'r1', kind: 'research', title: 'survey existing blackboard systems' },
          { id: 'r2', kind: 'research', title: 'collect failure modes of agent teams' },
          { id: 'c1', kind: 'code', title: 'write the commit function' },
          { id: 'c2', kind: 'code', title: 'write the scheduler loop' },
        ],
      }),
    };
  }
  if (system.startsWith('You are the reviewer')) {
    const missing = user.includes('without tests');
    return {
      text: JSON.stringify({
        verdict: missing ? 'revise' : 'approve',
        feedback: missing ? 'add tests' : 'looks good',
      }),
    };
  }
  if (system.startsWith('You are a worker')) {
    const title = /Task: (.*)/.exec(user)?.[1] ?? 'the task';
    const feedback = /Reviewer feedback: (.*)/.exec(user)?.[1];
    // The first draft of the scheduler loop forgets its tests; the reviewer sends it back once.
    if (title === 'write the scheduler loop' && !feedback) return { text: `${title}: draft without tests` };
    return { text: `${title}: done${feedback ? ` (addressed: ${feedback})` : ''}` };
  }
  if (system.startsWith('You are the synthesizer')) {
    const lines = user
      .split('\n')
      .filter((l) => l.startsWith('- '))
      .sort();
    return { text: `Report:\n${lines.join('\n')}` };
  }
  return undefined;
}

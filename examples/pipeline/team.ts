import { defineAgent, modelsFromEnv, type RuntimeConfig, stepMachine, type TransportRequest } from 'hearsay';
import { z } from 'zod';

/**
 * A pipeline: researcher → analyst → writer → editor. No stage knows the next; each is enabled by the
 * previous stage's output appearing on the board, which is all the wiring there is.
 */
export const PipelineBoard = z.object({
  topic: z.string(),
  research: z.string().optional(),
  analysis: z.string().optional(),
  draft: z.string().optional(),
  final: z.string().optional(),
});
type Board = z.output<typeof PipelineBoard>;
type Stage = 'research' | 'analysis' | 'draft' | 'final';

/** One stage: when its input is on the board and its output is not, ask the model and write the output. */
function stage(id: string, input: 'topic' | Exclude<Stage, 'final'>, output: Stage, instruction: string) {
  return defineAgent<Board>({
    id,
    watches: [[input]],
    writes: [[output]],
    machine: stepMachine<Board, string>({
      when: (b) => Boolean(b[input]) && b[output] === undefined,
      work: async (e) => {
        const r = await e.tools.model({
          messages: [
            { role: 'system', content: `You are the ${id}. ${instruction}` },
            { role: 'user', content: String(e.board[input]) },
          ],
        });
        if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
        return r.value;
      },
      done: (d, text) => {
        d[output] = text;
      },
    }),
  });
}

export const stages = [
  stage('researcher', 'topic', 'research', 'Collect the facts.'),
  stage('analyst', 'research', 'analysis', 'Say what the facts mean.'),
  stage('writer', 'analysis', 'draft', 'Write a short paragraph.'),
  stage('editor', 'draft', 'final', 'Tighten the paragraph.'),
];

/** The simulated model: each stage transforms its input recognisably, so the output shows the chain. */
function respond(req: TransportRequest): { text: string } | undefined {
  const system = req.messages[0]?.content ?? '';
  const input = req.messages[1]?.content ?? '';
  const role = /You are the (\w+)/.exec(system)?.[1];
  if (role === 'researcher')
    return { text: `facts about ${input}: it is used, it is studied, it has limits` };
  if (role === 'analyst')
    return { text: `meaning: ${input.split(': ')[1]} — so it is worth doing carefully` };
  if (role === 'writer') return { text: `Draft. ${input.replace('meaning: ', '')}.` };
  if (role === 'editor') return { text: input.replace('Draft. ', '').replace(' — so', '; so') };
  return undefined;
}

export function pipeline(latencyMs = 20) {
  return {
    board: { schema: PipelineBoard, initial: { topic: '' } },
    agents: stages,
    goal: (b) => b.final !== undefined,
    models: modelsFromEnv(process.env, { simulated: { latencyMs, respond } }).client,
  } satisfies RuntimeConfig<typeof PipelineBoard>;
}

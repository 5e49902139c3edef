import {
  defineAgent,
  itemMachine,
  keyed,
  modelsFromEnv,
  type RuntimeConfig,
  statusPool,
  stepMachine,
  type TransportRequest,
} from 'hearsay';
import { z } from 'zod';

/** Unwraps a model result, or fails the activation with the typed error (the retry policy applies). */
function answerOf<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

/**
 * Hierarchical orchestration: a parent team splits a goal into sub-problems and delegates each, whole, to a
 * child run of the `research` team, which has its own board and agents. The child's outcome comes back to
 * the parent's agent, which commits it to the parent board.
 */

// ----------------------------------------------------------------- the child team: research one question

export const ResearchBoard = z.object({
  question: z.string(),
  notes: z.array(z.string()),
  summary: z.string().optional(),
});
type Research = z.output<typeof ResearchBoard>;

const searcher = defineAgent<Research>({
  id: 'searcher',
  watches: [['question']],
  writes: [['notes']],
  model: { tier: 'small' },
  machine: stepMachine<Research, string>({
    when: (b) => b.question !== '' && b.notes.length === 0,
    work: async (e) =>
      answerOf(
        await e.tools.model({
          messages: [
            { role: 'system', content: 'You are a searcher. List three facts, one per line.' },
            { role: 'user', content: e.board.question },
          ],
        }),
      ),
    done: (d, text) => {
      d.notes = text.split('\n').filter(Boolean);
    },
  }),
});

const summarizer = defineAgent<Research>({
  id: 'summarizer',
  watches: [['notes']],
  writes: [['summary']],
  machine: stepMachine<Research, string>({
    when: (b) => b.notes.length > 0 && b.summary === undefined,
    work: async (e) =>
      answerOf(
        await e.tools.model({
          messages: [
            { role: 'system', content: 'You are a summarizer. One sentence.' },
            { role: 'user', content: `${e.board.question}\n${e.board.notes.join('\n')}` },
          ],
        }),
      ),
    done: (d, text) => {
      d.summary = text;
    },
  }),
});

export const researchTeam = {
  board: { schema: ResearchBoard, initial: { question: '', notes: [] } },
  agents: [searcher, summarizer],
  goal: (b) => b.summary !== undefined,
} satisfies RuntimeConfig<typeof ResearchBoard>;

// ----------------------------------------------------------------- the parent team

export const ParentBoard = z.object({
  goal: z.string(),
  parts: keyed(
    z.object({
      question: z.string(),
      status: z.enum(['open', 'claimed', 'done']),
      answer: z.string().optional(),
      childRun: z.string().optional(),
      childOutcome: z.string().optional(),
    }),
  ),
  report: z.string().optional(),
});
type Parent = z.output<typeof ParentBoard>;

const splitter = defineAgent<Parent>({
  id: 'splitter',
  watches: [['goal']],
  writes: [['parts']],
  machine: stepMachine<Parent, string[]>({
    when: (b) => b.goal !== '' && b.parts.size === 0,
    work: async (e) => [`What is known about ${e.board.goal}?`, `What are the risks of ${e.board.goal}?`],
    done: (d, questions) => {
      for (const [i, question] of questions.entries()) d.parts.set(`q${i + 1}`, { question, status: 'open' });
    },
  }),
});

/** One child run per open part: delegates the whole question to the research team. */
const delegator = defineAgent<Parent>({
  id: 'delegator',
  watches: [['parts']],
  writes: [['parts']],
  concurrency: 4,
  pool: statusPool((b: Parent) => b.parts),
  machine: itemMachine<Parent, { answer: string; run: string; outcome: string }>({
    work: async ({ event, key }) => {
      const child = await event.tools.startChildRun('research', {
        question: event.board.parts.get(key)!.question,
      });
      const summary = (child.board as { summary?: string } | null)?.summary;
      return { answer: summary ?? `(no answer: ${child.reason})`, run: child.runId, outcome: child.outcome };
    },
    done: (d, { key, output }) => {
      const part = d.parts.get(key)!;
      part.status = 'done';
      part.answer = output.answer;
      part.childRun = output.run;
      part.childOutcome = output.outcome;
    },
  }),
});

const writer = defineAgent<Parent>({
  id: 'writer',
  watches: [['parts']],
  writes: [['report']],
  machine: stepMachine<Parent, string>({
    when: (b) => b.parts.size > 0 && [...b.parts.values()].every((p) => p.status === 'done') && !b.report,
    work: async (e) => [...e.board.parts.values()].map((p) => `- ${p.question} ${p.answer}`).join('\n'),
    done: (d, report) => {
      d.report = report;
    },
  }),
});

/** The simulated model's answers for the research team (a real model with OPENAI_API_KEY). */
function respond(req: TransportRequest): { text: string } | undefined {
  const system = req.messages.find((m) => m.role === 'system')?.content ?? '';
  const user = req.messages.find((m) => m.role === 'user')?.content ?? '';
  const topic = user
    .split('\n')[0]!
    .replace(/^What (is known about|are the risks of) /, '')
    .replace(/\?$/, '');
  if (system.startsWith('You are a searcher'))
    return { text: [`${topic} has a history`, `${topic} has users`, `${topic} has limits`].join('\n') };
  if (system.startsWith('You are a summarizer'))
    return { text: `In short: ${topic} is worth a careful look.` };
  return undefined;
}

/** The whole configuration: the parent team, with `research` as a child team. */
export function hierarchicalTeam(latencyMs = 10) {
  return {
    board: { schema: ParentBoard, initial: { goal: '', parts: {} } },
    agents: [splitter, delegator, writer],
    goal: (b) => b.report !== undefined,
    models: modelsFromEnv(process.env, { simulated: { latencyMs, respond } }).client,
    children: { research: researchTeam },
  } satisfies RuntimeConfig<typeof ParentBoard>;
}

/**
 * The hub-and-spoke team's eval suite: `hearsay eval examples/evals/team.suite.ts` (or `npm run eval`).
 * Offline by default (the simulated model answers, and grades as the judge); with OPENAI_API_KEY the team
 * and the judge use a real model. Cases recorded from runs (`hearsay eval --from-log …`) live in
 * `examples/evals/cases/` and replay offline.
 */
import { fileURLToPath } from 'node:url';
import { createRuntime, modelsFromEnv } from 'hearsay';
import { check, defineSuite, exact, judge, loadCases, matchesSchema, valueAt } from 'hearsay/evals';
import { z } from 'zod';
import { teamModels } from '../hub-and-spoke/model.js';
import { team } from '../hub-and-spoke/team.js';

type Input = { goal: string };
type Output = { outcome: string; reason: string; board: unknown; activations: number };

/** Grades offline: a report with one line per task passes. A real judge reads the rubric instead. */
const judgeModels = modelsFromEnv(process.env, {
  simulated: {
    latencyMs: 5,
    respond: (req) => {
      const output = req.messages.at(-1)?.content ?? '';
      const lines = (output.match(/\\n- /g) ?? []).length;
      return {
        text: JSON.stringify({
          score: lines >= 4 ? 0.9 : 0.3,
          reason: `the report has ${lines} result lines (4 tasks)`,
        }),
      };
    },
  },
});

const recorded = await loadCases<Input>(fileURLToPath(new URL('./cases', import.meta.url)));

export default defineSuite<Input, Output>({
  name: 'team',
  models: teamModels(5).client,
  repeat: 2,
  concurrency: 4,
  cases: [
    {
      id: 'runtime',
      input: { goal: 'a blackboard runtime teams can trust' },
      expected: { outcome: 'completed' },
    },
    { id: 'scheduler', input: { goal: 'a fair scheduler' }, expected: { outcome: 'completed' } },
    { id: 'inspector', input: { goal: 'an inspector people enjoy' }, expected: { outcome: 'completed' } },
    ...recorded,
  ],
  async run(input, { models, signal }) {
    const runtime = createRuntime({ ...team, ...(models ? { models } : {}) });
    const result = await runtime.run(input, { signal }).finally(() => runtime.close());
    return {
      output: {
        outcome: result.outcome,
        reason: result.reason,
        board: JSON.parse(JSON.stringify(result.board)),
        activations: result.activations,
      },
      usage: result.cost.total,
    };
  },
  scorers: [
    exact('$.outcome'),
    matchesSchema(z.object({ report: z.string().min(1) }).loose(), '$.board'),
    exact('$.board.tasks.c2.status', 'approved'),
    check<Input, Output>('report as recorded', ({ output, expected }) => {
      const want = valueAt(expected, '$.board.report');
      return (
        want === undefined ||
        valueAt(output, '$.board.report') === want ||
        'the report differs from the recorded run'
      );
    }),
    judge<Input, Output>({
      models: judgeModels.client,
      rubric: 'The report has one line for each of the four tasks, each saying the task is done.',
      show: (o) => valueAt(o, '$.board.report'),
    }),
  ],
});

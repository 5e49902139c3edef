import { z } from 'zod';
import type { Segment } from '../blackboard/index.js';
import { type ModelClient, stableStringify } from '../llm/index.js';
import type { Score, Scorer } from './suite.js';

/**
 * Parses a JSON path: `$.board.tasks.r1.status`, `board.items[0]`, `$['odd key']`. The output is read as
 * JSON (Keyed collections as objects), so a path means the same thing as in the run's log.
 */
export function parseJsonPath(path: string): Segment[] {
  const out: Segment[] = [];
  const re = /\.?([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/g;
  const body = path.startsWith('$') ? path.slice(1) : path;
  let m: RegExpExecArray | null;
  let consumed = 0;
  for (;;) {
    m = re.exec(body);
    if (!m) break;
    if (m.index !== consumed) break;
    consumed = re.lastIndex;
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push((m[3] ?? m[4])!);
  }
  if (consumed !== body.length) throw new TypeError(`Not a JSON path: "${path}".`);
  return out;
}

/**
 * The value at a JSON path of `value` (read as JSON: Keyed collections are objects), or undefined: how
 * `exact` and `matchesSchema` read an output, for your own checks.
 *
 * @example
 * import { check, valueAt } from 'hearsay/evals';
 *
 * valueAt({ board: { tasks: { t1: { status: 'done' } } } }, '$.board.tasks.t1.status'); // 'done'
 * const allDone = check('all done', ({ output }) =>
 *   Object.values(valueAt(output, '$.board.tasks') as Record<string, { status: string }>).every((t) => t.status === 'done'),
 * );
 */
export function valueAt(value: unknown, path: string): unknown {
  let node: unknown = value === undefined ? undefined : JSON.parse(JSON.stringify(value));
  for (const seg of parseJsonPath(path)) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[String(seg)];
  }
  return node;
}

const sameJson = (a: unknown, b: unknown) => stableStringify(a) === stableStringify(b);

const verdict = (pass: boolean, reason?: string): Score => ({
  pass,
  score: pass ? 1 : 0,
  ...(reason === undefined ? {} : { reason }),
});

/**
 * Passes when the output's value at `path` equals `expected` (deep, as JSON), or, without `expected`, the
 * case's `expected` value at the same path. Throws at once on a path that is not a JSON path.
 *
 * @example
 * import { exact } from 'hearsay/evals';
 *
 * const scorers = [
 *   exact('$.outcome', 'completed'), // a fixed value
 *   exact('$.board.verdict'), // each case's expected.board.verdict
 * ];
 */
export function exact(path: string, expected?: unknown): Scorer {
  parseJsonPath(path);
  return {
    name: `exact ${path}`,
    score: ({ output, expected: caseExpected }) => {
      const want = expected === undefined ? valueAt(caseExpected, path) : expected;
      const got = valueAt(output, path);
      return sameJson(got, want)
        ? verdict(true)
        : verdict(false, `${path} is ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
    },
  };
}

/**
 * Passes when the output (or its value at `path`) validates against a zod schema; a failure's reason
 * names the first issue.
 *
 * @example
 * import { matchesSchema } from 'hearsay/evals';
 * import { z } from 'zod';
 *
 * const scorer = matchesSchema(z.object({ title: z.string(), tags: z.array(z.string()).min(1) }), '$.board.summary');
 */
export function matchesSchema(schema: z.ZodType, path?: string): Scorer {
  if (path !== undefined) parseJsonPath(path);
  return {
    name: `schema${path ? ` ${path}` : ''}`,
    score: ({ output }) => {
      const value = path === undefined ? JSON.parse(JSON.stringify(output ?? null)) : valueAt(output, path);
      const r = schema.safeParse(value);
      if (r.success) return verdict(true);
      const issue = r.error.issues[0];
      return verdict(false, `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
    },
  };
}

/**
 * A custom check: `fn` returns true or false, a reason string (a failure), or a full score.
 *
 * @example
 * check('completed', ({ output }) => output.outcome === 'completed' || `ended ${output.outcome}`)
 */
export function check<TInput = unknown, TOutput = unknown>(
  name: string,
  fn: (args: {
    input: TInput;
    output: TOutput;
    expected: unknown;
  }) => boolean | string | Score | Promise<boolean | string | Score>,
): Scorer<TInput, TOutput> {
  return {
    name,
    async score(args) {
      const r = await fn(args);
      if (typeof r === 'boolean') return verdict(r);
      if (typeof r === 'string') return verdict(false, r);
      return r;
    },
  };
}

const Judgement = z.object({
  score: z.number().min(0).max(1),
  reason: z.string(),
});

/** Options of {@link judge}. */
export interface JudgeOptions<TOutput> {
  /** The model that grades (a real one in production; any OpenAI-compatible server). */
  readonly models: ModelClient;
  /** What a good output is, in words the judge grades against. */
  readonly rubric: string;
  /** The score (0..1) that passes (default 0.7). */
  readonly passAt?: number;
  /** The tier to grade with (default `large`). */
  readonly tier?: string;
  readonly name?: string;
  /** What of the output the judge sees (default: all of it, as JSON). */
  readonly show?: (output: TOutput) => unknown;
}

/**
 * A model-graded scorer: the judge reads the rubric, the input and the output, and answers a score in
 * 0..1 with its reason (structured output, validated). Its tokens and cost count in the report. A judge
 * that fails to answer fails the case with the reason.
 *
 * @example
 * import { modelsFromEnv } from 'hearsay';
 * import { judge } from 'hearsay/evals';
 *
 * const grounded = judge({
 *   models: modelsFromEnv().client,
 *   rubric: 'The report cites only facts present in the input, and answers its question.',
 *   passAt: 0.8,
 *   show: (output: RunResult<Board>) => output.board.report,
 * });
 */
export function judge<TInput = unknown, TOutput = unknown>(
  options: JudgeOptions<TOutput>,
): Scorer<TInput, TOutput> {
  const passAt = options.passAt ?? 0.7;
  return {
    name: options.name ?? 'judge',
    async score({ input, output }) {
      const shown = options.show ? options.show(output) : output;
      const result = await options.models.complete({
        tier: options.tier ?? 'large',
        schema: Judgement,
        temperature: 0,
        messages: [
          {
            role: 'system',
            content: `You are an evaluator. Grade the output against the rubric. Answer JSON {"score": 0..1, "reason": "..."}.\nRubric: ${options.rubric}`,
          },
          { role: 'user', content: `Input:\n${JSON.stringify(input)}\n\nOutput:\n${JSON.stringify(shown)}` },
        ],
      });
      const usage = {
        tokens: result.usage.inputTokens + result.usage.outputTokens,
        cost: result.usage.cost,
      };
      if (!result.ok)
        return { pass: false, score: 0, reason: `the judge failed: ${result.error.message}`, usage };
      const { score, reason } = result.value;
      return { pass: score >= passAt, score, reason, usage };
    },
  };
}

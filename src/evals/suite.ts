import type { ModelClient } from '../llm/index.js';

/** One case of a suite: an input, and what its scorers expect. */
export interface EvalCase<TInput = unknown> {
  readonly id: string;
  readonly input: TInput;
  /** What the scorers compare against (any shape; `exact` reads it at the same path as the output). */
  readonly expected?: unknown;
  /**
   * Model answers recorded from a run (`hearsay eval --from-log`): the case runs against them, offline
   * and deterministically, instead of the suite's models.
   */
  readonly recorded?: readonly RecordedCall[];
}

/** A model call as a run's log recorded it: what was asked (a digest) and what came back. */
export interface RecordedCall {
  readonly requestHash: string;
  readonly agentId: string;
  readonly model: string;
  readonly text: string;
  readonly toolCalls?: readonly { readonly id: string; readonly name: string; readonly arguments: string }[];
  readonly usage: { readonly inputTokens: number; readonly outputTokens: number };
  readonly cost: number;
}

/** What running one case produced. */
export interface CaseOutput<TOutput> {
  readonly output: TOutput;
  /** Tokens and cost the case spent (a run's `result.cost.total`). */
  readonly usage?: { readonly tokens: number; readonly cost: number };
}

/** What a case's `run` is handed. */
export interface RunContext<TInput> {
  readonly case: EvalCase<TInput>;
  /** 1-based repetition of this case. */
  readonly repetition: number;
  /** The models to use: the suite's, or a replay of the case's recorded answers. */
  readonly models: ModelClient | undefined;
  readonly signal: AbortSignal;
}

/** What a scorer decides about one output. */
export interface Score {
  readonly pass: boolean;
  /** 0..1 where the scorer grades (a judge's score); 1 or 0 otherwise. */
  readonly score: number;
  readonly reason?: string;
  /** What grading cost (a judge's model call). */
  readonly usage?: { readonly tokens: number; readonly cost: number };
}

/** Judges one output. A scorer that throws fails the case with its error as the reason. */
export interface Scorer<TInput = unknown, TOutput = unknown> {
  readonly name: string;
  score(args: {
    readonly input: TInput;
    readonly output: TOutput;
    readonly expected: unknown;
    readonly case: EvalCase<TInput>;
  }): Score | Promise<Score>;
}

/** A suite: cases, how to run one, and how to score what it produced. */
export interface EvalSuite<TInput = unknown, TOutput = unknown> {
  readonly name: string;
  readonly cases: readonly EvalCase<TInput>[];
  readonly run: (input: TInput, context: RunContext<TInput>) => Promise<CaseOutput<TOutput>>;
  readonly scorers: readonly Scorer<TInput, TOutput>[];
  /** The models cases run with (recorded cases replay instead). */
  readonly models?: ModelClient;
  /** Runs of each case (default 1): pass rates over repetitions show flakiness. */
  readonly repeat?: number;
  /** Case runs at once (default 4). */
  readonly concurrency?: number;
}

/**
 * What `defineSuite` takes: an `EvalSuite` whose input type comes from its `cases` only (and its output
 * type from what `run` returns), so `run`'s `input` and the scorers are typed without type arguments.
 *
 * @example
 * const suite = defineSuite({
 *   name: 'titles',
 *   cases: [{ id: 'a', input: { topic: 'boards' } }],
 *   run: async (input) => ({ output: input.topic.toUpperCase() }), // input: { topic: string }
 *   scorers: [exact('$', 'BOARDS')],
 * });
 */
export interface SuiteDefinition<TInput, TOutput>
  extends Omit<EvalSuite<TInput, TOutput>, 'run' | 'scorers'> {
  readonly run: (
    input: NoInfer<TInput>,
    context: RunContext<NoInfer<TInput>>,
  ) => Promise<CaseOutput<TOutput>>;
  readonly scorers: readonly Scorer<NoInfer<TInput>, NoInfer<TOutput>>[];
}

/**
 * Declares a suite. Throws on a malformed one (a programming error): no cases, duplicate case ids, no
 * scorers, a repeat or concurrency that is not a positive integer. The input type is inferred from the
 * cases (give `loadCases<Input>(dir)` a type, or `defineSuite<Input, Output>` explicitly, when cases come
 * from files), the output type from what `run` returns.
 *
 * @example
 * export default defineSuite({
 *   name: 'team',
 *   cases: [{ id: 'haiku', input: { goal: 'a haiku' } }],
 *   async run(input, { models, signal }) {
 *     const runtime = createRuntime({ ...team, models });
 *     try {
 *       const r = await runtime.run(input, { signal });
 *       return { output: r, usage: r.cost.total };
 *     } finally {
 *       await runtime.close();
 *     }
 *   },
 *   scorers: [exact('$.outcome', 'completed')],
 * });
 */
export function defineSuite<TInput, TOutput>(
  suite: SuiteDefinition<TInput, TOutput>,
): EvalSuite<TInput, TOutput> {
  const where = `suite "${suite.name}"`;
  if (!suite.name) throw new TypeError('A suite needs a name.');
  if (suite.cases.length === 0) throw new TypeError(`${where} has no cases.`);
  const ids = new Set<string>();
  for (const c of suite.cases) {
    if (!c.id) throw new TypeError(`${where}: every case needs an id.`);
    if (ids.has(c.id)) throw new TypeError(`${where}: two cases are named "${c.id}".`);
    ids.add(c.id);
  }
  if (suite.scorers.length === 0) throw new TypeError(`${where} has no scorers.`);
  for (const [name, n] of [
    ['repeat', suite.repeat],
    ['concurrency', suite.concurrency],
  ] as const) {
    if (n !== undefined && (!Number.isInteger(n) || n < 1))
      throw new TypeError(`${where}: ${name} must be a positive integer.`);
  }
  return suite;
}

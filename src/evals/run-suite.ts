import type { ModelClient } from '../llm/index.js';
import { replayModels } from './recorded.js';
import type { CaseOutput, EvalCase, EvalSuite } from './suite.js';

/** One run of one case. */
export interface CaseRun {
  readonly repetition: number;
  readonly pass: boolean;
  readonly latencyMs: number;
  readonly tokens: number;
  readonly cost: number;
  /** Each scorer's verdict (absent when the run itself failed). */
  readonly scores: readonly {
    readonly scorer: string;
    readonly pass: boolean;
    readonly score: number;
    readonly reason?: string;
  }[];
  /** Why the run failed before scoring (it threw, or timed out). */
  readonly error?: string;
}

/** Latency percentiles in milliseconds. */
export interface Latency {
  readonly p50: number;
  readonly p95: number;
}

/** One case's part of an {@link EvalReport}: its pass rate over its runs, cost, latency, each scorer's pass rate, and every run. */
export interface CaseReport {
  readonly id: string;
  readonly runs: number;
  readonly passed: number;
  readonly passRate: number;
  /** Totals over the case's runs (grading included). */
  readonly tokens: number;
  readonly cost: number;
  readonly latency: Latency;
  /** Pass rate of each scorer over the runs. */
  readonly scorers: Readonly<Record<string, number>>;
  readonly results: readonly CaseRun[];
}

/** What `runSuite` reports, also written as JSON (and read back as a baseline). */
export interface EvalReport {
  readonly suite: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly repeat: number;
  readonly cases: readonly CaseReport[];
  readonly overall: {
    readonly runs: number;
    readonly passed: number;
    readonly passRate: number;
    readonly tokens: number;
    readonly cost: number;
    readonly latency: Latency;
  };
}

/** Options of {@link runSuite}. */
export interface RunSuiteOptions {
  /** Overrides the suite's `repeat`. */
  readonly repeat?: number;
  /** Overrides the suite's `concurrency`. */
  readonly concurrency?: number;
  /** Only the cases with these ids. */
  readonly only?: readonly string[];
  /** A case run that takes longer fails (default 300 s). */
  readonly timeoutMs?: number;
  /** Called as each case run ends: `done` of `total`. */
  readonly onProgress?: (done: number, total: number, run: CaseRun & { readonly caseId: string }) => void;
  readonly signal?: AbortSignal;
}

/** The value at `q` (0..1) of sorted samples, by nearest rank. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

const latencyOf = (ms: readonly number[]): Latency => {
  const sorted = [...ms].sort((a, b) => a - b);
  return { p50: round(percentile(sorted, 0.5)), p95: round(percentile(sorted, 0.95)) };
};

const round = (x: number) => Math.round(x * 100) / 100;

/**
 * Runs every case of a suite `repeat` times, at most `concurrency` at once, scores each output with every
 * scorer, and reports pass rate, tokens, cost and latency (p50/p95) per case and overall. A case whose run
 * throws or times out fails with that reason; the suite goes on.
 *
 * @example
 * import { formatReport, runSuite } from 'hearsay/evals';
 * import suite from './evals/team.eval.js';
 *
 * const report = await runSuite(suite, { repeat: 3, onProgress: (done, total) => console.log(`${done}/${total}`) });
 * console.log(formatReport(report));
 * if (report.overall.passRate < 0.9) process.exitCode = 1;
 */
export async function runSuite<TInput, TOutput>(
  suite: EvalSuite<TInput, TOutput>,
  options: RunSuiteOptions = {},
): Promise<EvalReport> {
  const repeat = options.repeat ?? suite.repeat ?? 1;
  const concurrency = options.concurrency ?? suite.concurrency ?? 4;
  const cases = options.only ? suite.cases.filter((c) => options.only!.includes(c.id)) : suite.cases;
  if (options.only) {
    const missing = options.only.filter((id) => !suite.cases.some((c) => c.id === id));
    if (missing.length > 0)
      throw new TypeError(`No case ${missing.map((m) => `"${m}"`).join(', ')} in suite "${suite.name}".`);
  }
  const jobs = cases.flatMap((c) => Array.from({ length: repeat }, (_, i) => ({ c, repetition: i + 1 })));
  const results = new Map<string, CaseRun[]>(cases.map((c) => [c.id, []]));
  const started = Date.now();
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < jobs.length && !options.signal?.aborted) {
      const job = jobs[next++]!;
      const run = await runCase(suite, job.c, job.repetition, options);
      results.get(job.c.id)!.push(run);
      done += 1;
      options.onProgress?.(done, jobs.length, { ...run, caseId: job.c.id });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));

  const reports: CaseReport[] = cases.map((c) => {
    const runs = results.get(c.id)!.sort((a, b) => a.repetition - b.repetition);
    const passed = runs.filter((r) => r.pass).length;
    const scorers: Record<string, number> = {};
    for (const s of suite.scorers) {
      const verdicts = runs.map((r) => r.scores.find((x) => x.scorer === s.name)?.pass ?? false);
      scorers[s.name] = verdicts.length ? verdicts.filter(Boolean).length / verdicts.length : 0;
    }
    return {
      id: c.id,
      runs: runs.length,
      passed,
      passRate: runs.length ? passed / runs.length : 0,
      tokens: runs.reduce((n, r) => n + r.tokens, 0),
      cost: runs.reduce((n, r) => n + r.cost, 0),
      latency: latencyOf(runs.map((r) => r.latencyMs)),
      scorers,
      results: runs,
    };
  });
  const all = reports.flatMap((r) => r.results);
  const passed = all.filter((r) => r.pass).length;
  return {
    suite: suite.name,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    repeat,
    cases: reports,
    overall: {
      runs: all.length,
      passed,
      passRate: all.length ? passed / all.length : 0,
      tokens: reports.reduce((n, r) => n + r.tokens, 0),
      cost: reports.reduce((n, r) => n + r.cost, 0),
      latency: latencyOf(all.map((r) => r.latencyMs)),
    },
  };
}

async function runCase<TInput, TOutput>(
  suite: EvalSuite<TInput, TOutput>,
  c: EvalCase<TInput>,
  repetition: number,
  options: RunSuiteOptions,
): Promise<CaseRun> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const models: ModelClient | undefined = c.recorded ? replayModels(c.recorded) : suite.models;
  const timeoutMs = options.timeoutMs ?? 300_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<CaseOutput<TOutput>> | undefined;
  const start = performance.now();
  try {
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort(new Error(`timed out after ${timeoutMs} ms`));
        reject(new Error(`timed out after ${timeoutMs} ms`));
      }, timeoutMs);
    });
    running = suite.run(c.input, { case: c, repetition, models, signal: controller.signal });
    const out = await Promise.race([running, timedOut]);
    const latencyMs = round(performance.now() - start);
    const scores = [];
    let tokens = out.usage?.tokens ?? 0;
    let cost = out.usage?.cost ?? 0;
    for (const scorer of suite.scorers) {
      try {
        const s = await scorer.score({ input: c.input, output: out.output, expected: c.expected, case: c });
        tokens += s.usage?.tokens ?? 0;
        cost += s.usage?.cost ?? 0;
        scores.push({
          scorer: scorer.name,
          pass: s.pass,
          score: s.score,
          ...(s.reason === undefined ? {} : { reason: s.reason }),
        });
      } catch (error) {
        scores.push({
          scorer: scorer.name,
          pass: false,
          score: 0,
          reason: `scorer threw: ${message(error)}`,
        });
      }
    }
    return { repetition, pass: scores.every((s) => s.pass), latencyMs, tokens, cost, scores };
  } catch (error) {
    // A run that timed out was aborted; its slot stays taken until it stops (or a grace period ends), so a
    // run that ignores its signal cannot push the suite past its concurrency for long.
    if (controller.signal.aborted && running) {
      let grace: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        running.catch(() => undefined),
        new Promise((r) => {
          grace = setTimeout(r, GRACE_MS);
        }),
      ]);
      clearTimeout(grace);
    }
    return {
      repetition,
      pass: false,
      latencyMs: round(performance.now() - start),
      tokens: 0,
      cost: 0,
      scores: [],
      error: message(error),
    };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** How long a timed-out run may take to stop before its slot is given to the next. */
const GRACE_MS = 5000;

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

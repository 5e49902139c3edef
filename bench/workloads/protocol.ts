/**
 * The workloads' protocol (../shared/bench-peers/WORKLOADS.md, "Common protocol"), ported from
 * bench-peers/harness/harness.mjs so that Hearsay's scripts print the same JSON line as the LangGraph ones:
 * argv `--name=value`, 2 warm-ups and 7 timed runs in one fresh process, `gc()` twice before every run
 * (node runs with `--expose-gc`), every run verified (a failed verification exits non-zero), min / median /
 * max of every numeric metric, exactly one JSON line on stdout.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

export const PEER = 'hearsay';

export const now = (): number => performance.now();

/** Simulated latency outside the runtime (the timer floor): a plain `setTimeout` promise. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export type Args = Record<string, number | string | boolean>;

/** Parses `--key=value` / `key=value` argv pairs over `defaults` (numbers coerced), as harness.mjs does. */
export function parseArgs<T extends Args>(defaults: T, argv: readonly string[] = process.argv.slice(2)): T {
  const out: Args = { ...defaults };
  for (const raw of argv) {
    const a = raw.replace(/^--/, '');
    const eq = a.indexOf('=');
    if (eq < 0) {
      out[a] = true;
      continue;
    }
    const k = a.slice(0, eq);
    const v = a.slice(eq + 1);
    out[k] = v !== '' && !Number.isNaN(Number(v)) ? Number(v) : v;
  }
  return out as T;
}

export interface Stats {
  readonly min: number;
  readonly median: number;
  readonly max: number;
}

export function round(x: number, digits = 3): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function stats(values: readonly number[]): Stats {
  const xs = [...values].sort((a, b) => a - b);
  const n = xs.length;
  const median = n % 2 ? xs[(n - 1) / 2]! : (xs[n / 2 - 1]! + xs[n / 2]!) / 2;
  return { min: round(xs[0]!), median: round(median), max: round(xs[n - 1]!) };
}

/** Two full collections, when node runs with `--expose-gc`. */
export function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (typeof collect === 'function') {
    collect();
    collect();
  }
}

/** A run's end state broke the workload's semantics. */
export class VerificationError extends Error {
  override readonly name = 'VerificationError';
}

export function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new VerificationError(`verification failed: ${msg}`);
}

export type Metrics = Record<string, number | boolean>;
export type Summary = Record<string, Stats | boolean>;

export interface Measured<R> {
  readonly metrics: Summary;
  readonly warmup: number;
  readonly reps: number;
  readonly lastResult: R;
  readonly raw: Metrics[];
}

/**
 * `warmup` untimed and `reps` timed runs of `run` in this process. Before each: `setup` (untimed), then
 * gc twice; after each (warm-ups too): `verify`, which throws on a wrong end state. Numeric metrics are
 * summarised as {min, median, max} over the timed runs, booleans AND-ed.
 */
export async function measure<C, R>(options: {
  readonly setup?: (i: number) => C | Promise<C>;
  readonly run: (ctx: C, i: number) => Promise<{ metrics: Metrics; result: R }>;
  readonly verify: (result: R, metrics: Metrics) => void;
  /** Untimed, after verification (closing what the run opened). */
  readonly teardown?: (ctx: C, result: R) => void | Promise<void>;
  readonly warmup?: number;
  readonly reps?: number;
}): Promise<Measured<R>> {
  const warmup = options.warmup ?? 2;
  const reps = options.reps ?? 7;
  if (reps < 1) throw new TypeError('reps must be at least 1');
  const samples: Metrics[] = [];
  let lastResult: R | undefined;
  for (let i = 0; i < warmup + reps; i++) {
    const ctx = options.setup ? await options.setup(i) : (undefined as C);
    gc();
    const out = await options.run(ctx, i);
    options.verify(out.result, out.metrics);
    if (options.teardown) await options.teardown(ctx, out.result);
    lastResult = out.result;
    if (i >= warmup) samples.push(out.metrics);
  }
  const first = samples[0]!;
  const metrics: Summary = {};
  for (const k of Object.keys(first)) {
    if (typeof first[k] === 'number') metrics[k] = stats(samples.map((s) => s[k] as number));
    else if (typeof first[k] === 'boolean') metrics[k] = samples.every((s) => s[k] === true);
  }
  return { metrics, warmup, reps, lastResult: lastResult as R, raw: samples };
}

const MB = 1024 * 1024;

function memSample() {
  const m = process.memoryUsage();
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    external: m.external,
    heapPlusExternal: m.heapUsed + m.external,
  };
}

/** Running peaks of memory figures against a baseline taken (after gc) when it is made. */
export class MemPeak {
  readonly base: ReturnType<typeof memSample>;
  readonly peak: ReturnType<typeof memSample>;

  constructor() {
    gc();
    this.base = memSample();
    this.peak = { ...this.base };
  }

  sample(): void {
    const m = memSample();
    for (const k of Object.keys(m) as (keyof typeof m)[]) if (m[k] > this.peak[k]) this.peak[k] = m[k];
  }

  deltasMB() {
    return {
      peakHeapDeltaMB: round((this.peak.heapUsed - this.base.heapUsed) / MB, 2),
      peakHeapPlusExternalDeltaMB: round((this.peak.heapPlusExternal - this.base.heapPlusExternal) / MB, 2),
      peakRssDeltaMB: round((this.peak.rss - this.base.rss) / MB, 2),
    };
  }

  /** gc, then what is still held relative to the baseline. */
  retainedMB() {
    gc();
    const m = memSample();
    return {
      retainedHeapDeltaMB: round((m.heapUsed - this.base.heapUsed) / MB, 2),
      retainedHeapPlusExternalDeltaMB: round((m.heapPlusExternal - this.base.heapPlusExternal) / MB, 2),
    };
  }
}

const root = fileURLToPath(new URL(import.meta.url.endsWith('.js') ? '../../..' : '../..', import.meta.url));

function installedVersion(pkg: string): string | null {
  try {
    const at = pkg === 'hearsay' ? `${root}/package.json` : `${root}/node_modules/${pkg}/package.json`;
    return (JSON.parse(readFileSync(at, 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

export const peerVersions = () => ({
  hearsay: installedVersion('hearsay'),
  xstate: installedVersion('xstate'),
  immer: installedVersion('immer'),
  zod: installedVersion('zod'),
});

export function envInfo() {
  const tracingVars = ['LANGSMITH_TRACING', 'LANGCHAIN_TRACING_V2', 'LANGCHAIN_TRACING'].filter(
    (k) => process.env[k] && process.env[k] !== 'false',
  );
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    loadavg1: round(os.loadavg()[0]!, 2),
    exposeGc: typeof (globalThis as { gc?: unknown }).gc === 'function',
    tracingEnv: tracingVars,
    ts: new Date().toISOString(),
  };
}

/** Prints exactly one JSON line. */
export function emit(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

/**
 * Runs a workload script's body: a failure (a verification, a crash) is printed on stderr and exits 1, so
 * a wrong end state fails the bench. Warnings Node prints (MaxListenersExceededWarning…) are counted and
 * reported by the script in `info.warnings`.
 */
export async function main(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  }
}

const warnings: string[] = [];
process.on('warning', (w) => {
  warnings.push(`${w.name}: ${w.message}`);
});

/** Node process warnings seen so far in this process (distinct, with counts). */
export function processWarnings(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const w of warnings) counts[w] = (counts[w] ?? 0) + 1;
  return counts;
}

/**
 * A `measure` teardown that deletes each finished run once it is verified (untimed), so later runs do not
 * carry the earlier runs' logs in the heap (a MemoryStore keeps the newest 1,000 runs by default).
 */
export const deleteEachRun =
  (runtime: { deleteRun(runId: string): Promise<unknown> }) =>
  async (_ctx: unknown, result: { runId: string }): Promise<void> => {
    await runtime.deleteRun(result.runId);
  };

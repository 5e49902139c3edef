import { fileURLToPath } from 'node:url';

/**
 * Whether this bench runs as tsc compiled it (`npm run bench`: dist/bench), as users run the library, or
 * from source through tsx. tsx compiles with esbuild's keepNames, which wraps every function a call creates
 * in an `Object.defineProperty` of its name: a third of an activation's cost in the fan-out cases.
 */
const compiled = import.meta.url.endsWith('.js');

/** The project's root folder (the bench runs from bench/ or from dist/bench/). */
export const root = fileURLToPath(new URL(compiled ? '../..' : '..', import.meta.url));

/**
 * Node's arguments that run one of the project's scripts (`bench/hub-clients`, no extension) the way this
 * bench runs: compiled, or from source through tsx.
 */
export function scriptArgs(script: string): string[] {
  return compiled ? [`${root}/dist/${script}.js`] : ['--import', 'tsx', `${root}/${script}.ts`];
}

/** One benchmark case: prints exactly one JSON line on stdout (format: ../shared/BENCH.md). */
export interface BenchCase {
  readonly group: string;
  readonly name: string;
  /** One line, or several for cases measured together (their samples interleaved). */
  run(): Promise<BenchLine | BenchLine[]>;
}

export interface BenchLine {
  readonly group: string;
  readonly case: string;
  readonly metric: string;
  readonly value: number;
  readonly runs: number;
  readonly min: number;
  readonly max: number;
  readonly [extra: string]: unknown;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const round = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * Runs `sample` `warmup` times untimed, then `runs` times, and summarises the values it returns
 * (each sample measures itself, so set-up stays outside the timing).
 */
export async function repeat(
  sample: () => Promise<number>,
  options: { runs?: number; warmup?: number } = {},
): Promise<{ value: number; runs: number; min: number; max: number }> {
  const runs = options.runs ?? 7;
  for (let i = 0; i < (options.warmup ?? 2); i++) await sample();
  const values: number[] = [];
  for (let i = 0; i < runs; i++) values.push(await sample());
  return summarize(values);
}

/** Median, count, min and max of samples (rounded for printing). */
export function summarize(values: readonly number[]): {
  value: number;
  runs: number;
  min: number;
  max: number;
} {
  return {
    value: round(median([...values])),
    runs: values.length,
    min: round(Math.min(...values)),
    max: round(Math.max(...values)),
  };
}

/** Elapsed time of `fn` in milliseconds, with a high-resolution clock. */
export async function timeMs(fn: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export const heapMb = (): number => round(process.memoryUsage().heapUsed / 2 ** 20);

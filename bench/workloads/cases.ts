/**
 * The workloads' cases (sizes from ../shared/bench-peers/README.md), how to run one script in a fresh
 * `node --expose-gc` process, and the BENCH.md lines made from its JSON line.
 */
import { spawn } from 'node:child_process';
import type { BenchLine } from '../harness.js';
import type { Stats } from './protocol.js';

export interface WorkloadCase {
  /** The case's name in the bench: `w2.k100`. */
  readonly id: string;
  /** The script's base name, the same for every peer: `w2-fanout`. */
  readonly script: 'w1-chain' | 'w2-fanout' | 'w3-contention' | 'w4-bigstate';
  readonly args: readonly string[];
}

export const WORKLOAD_CASES: readonly WorkloadCase[] = [
  { id: 'w1.n200', script: 'w1-chain', args: ['--n=200'] },
  { id: 'w1.n1000', script: 'w1-chain', args: ['--n=1000'] },
  { id: 'w2.k100', script: 'w2-fanout', args: ['--k=100', '--l=20'] },
  { id: 'w2.k1000', script: 'w2-fanout', args: ['--k=1000', '--l=20'] },
  { id: 'w3.c50r20', script: 'w3-contention', args: ['--c=50', '--r=20'] },
  { id: 'w4.s10000', script: 'w4-bigstate', args: ['--s=10000', '--t=200'] },
  { id: 'w4.s10', script: 'w4-bigstate', args: ['--s=10', '--t=200'] },
];

/** `QUICK=1`: 1 warm-up and 2 timed runs, for smoke tests only (as bench-peers' run-peers.sh). */
export const quickArgs = (): string[] => (process.env.QUICK === '1' ? ['--warmup=1', '--reps=2'] : []);

export interface ScriptRun {
  readonly ok: boolean;
  /** The script's JSON line (its last stdout line), when it printed one. */
  readonly line?: Record<string, unknown>;
  readonly code: number | null;
  readonly stderr: string;
  readonly ms: number;
}

/**
 * Runs `node --expose-gc <script> <args>` in a fresh process with tracing variables unset, passing its
 * stderr through (`echo`) and keeping its tail; killed after `timeoutMs`. ok: exit code 0 and a JSON line whose `check.ok` is true.
 */
export function runScript(
  nodeArgs: readonly string[],
  options: { cwd?: string; echo?: boolean; timeoutMs?: number } = {},
): Promise<ScriptRun> {
  const env = { ...process.env };
  for (const k of ['LANGSMITH_TRACING', 'LANGCHAIN_TRACING_V2', 'LANGCHAIN_TRACING']) delete env[k];
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', ...nodeArgs], {
      cwd: options.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            err += `\n(killed after ${options.timeoutMs} ms)`;
            child.kill('SIGKILL');
          }, options.timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.length > 64_000) err = err.slice(-32_000);
      if (options.echo) process.stderr.write(d);
    });
    const done = (code: number | null, error?: Error) => {
      clearTimeout(timer);
      let line: Record<string, unknown> | undefined;
      const last = out.trim().split('\n').pop();
      try {
        if (last) line = JSON.parse(last) as Record<string, unknown>;
      } catch {
        err += `\n(stdout's last line is not JSON: ${last?.slice(0, 200)})`;
      }
      if (error) err += `\n${error.message}`;
      const checked = (line?.check as { ok?: unknown } | undefined)?.ok === true;
      resolve({
        ok: code === 0 && checked,
        ...(line ? { line } : {}),
        code,
        stderr: err,
        ms: performance.now() - t0,
      });
    };
    child.once('error', (error) => done(null, error));
    child.once('close', (code) => done(code));
  });
}

const pick = (s: Stats) => ({ value: s.median, min: s.min, max: s.max });

/** The BENCH.md lines (group `workloads`) of one script's JSON line; `raw` adds the whole line. */
export function benchLines(c: WorkloadCase, line: Record<string, unknown>, raw = false): BenchLine[] {
  const m = line.metrics as Record<string, Stats & Record<string, Stats>>;
  const info = line.info as Record<string, unknown>;
  const runs = line.reps as number;
  const tail = { peer: 'hearsay', ...(raw ? { raw: line } : {}) };
  const head = (name: string, metric: string, x: Stats) => ({
    group: 'workloads',
    case: name,
    metric,
    ...pick(x),
    runs,
  });
  switch (c.script) {
    case 'w1-chain':
      return [
        {
          ...head(c.id, 'us_per_step', m.usPerStep!),
          total_ms: m.totalMs!.median,
          build_ms: info.buildAndCompileMs,
          ...tail,
        },
      ];
    case 'w2-fanout':
      return [
        {
          ...head(c.id, 'makespan_over_critical', m.ratio!),
          per_worker_overhead_us: m.perWorkerOverheadUs!.median,
          makespan_ms: m.makespanMs!.median,
          max_in_flight: m.maxInFlight!.median,
          critical_ms: info.criticalPathMs,
          timer_floor_ms: (info.timerFloorMs as Stats).median,
          ...tail,
        },
      ];
    case 'w3-contention':
      return [
        {
          ...head(c.id, 'updates_per_s', m.updatesPerSec!),
          attempts_per_update: m.attemptsPerUpdate!.median,
          conflicts: m.conflicts!.median,
          final: m.finalCounter!.median,
          exact: m.exact as unknown as boolean,
          ...tail,
        },
      ];
    case 'w4-bigstate':
      return (['noCheckpointer', 'memorySaver'] as const).map((variant) => ({
        ...head(
          variant === 'noCheckpointer' ? c.id : `${c.id}.${variant}`,
          'us_per_step',
          m[variant]!.usPerStep!,
        ),
        variant,
        store: variant === 'noCheckpointer' ? 'MemoryStore' : "FileStore (fsync 'never'), fresh per run",
        ...(m[variant]!.peakHeapDeltaMB ? { peak_heap_mb: m[variant]!.peakHeapDeltaMB.median } : {}),
        ...tail,
      }));
  }
}

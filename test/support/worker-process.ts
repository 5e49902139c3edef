import { type ChildProcess, spawn } from 'node:child_process';
import type { WorkerStats } from 'hearsay';

const root = new URL('../..', import.meta.url).pathname;

export type { WorkerStats };

/** A worker fixture running in a process of its own. */
export interface WorkerProcess {
  readonly proc: ChildProcess;
  /** Resolves once the worker printed `ready`. */
  readonly ready: Promise<void>;
  /** What it printed so far. */
  out(): string;
  /** Resolves with the first match of `pattern` in what it prints (within a minute). */
  until(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Continues it if stopped, sends SIGTERM, and resolves with the stats it prints last. */
  stop(): Promise<WorkerStats>;
}

/**
 * Starts `node --import tsx <script> ...args` from the repository's root: a worker fixture that prints
 * `ready` once it claims and its stats as JSON when sent SIGTERM.
 */
export function startWorkerProcess(
  script: string,
  args: readonly string[],
  env: Record<string, string> = {},
): WorkerProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d) => {
    stdout += d;
  });
  proc.stderr!.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const until = async (pattern: RegExp) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const m = stdout.match(pattern);
      if (m) return m;
      if (proc.exitCode !== null || Date.now() > deadline)
        throw new Error(`${script} ${args.join(' ')} never printed ${pattern}: ${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const ready = until(/^ready$/m).then(() => undefined);
  ready.catch(() => undefined);
  return {
    proc,
    ready,
    out: () => stdout,
    until,
    async stop() {
      proc.kill('SIGCONT');
      proc.kill('SIGTERM');
      await exited;
      const last = stdout.trim().split('\n').at(-1) ?? '';
      try {
        return JSON.parse(last) as WorkerStats;
      } catch {
        throw new Error(`${script} ended without its stats: ${stdout} ${stderr}`);
      }
    },
  };
}

/** Resolves once `check` holds (tried every 10 ms), or rejects after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

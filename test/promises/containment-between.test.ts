/**
 * Nothing an agent's machine does crashes the process, outside its activations too: a sleep it chained on
 * and dropped when the activation ended, and a singleton's delayed transition that throws or rejects
 * between activations (recorded, naming the agent). A sleep an invoked actor awaits still stops when the
 * run is cancelled. Each kind runs in its own child process (an unhandled rejection would end it with
 * exit code 1). The kinds of test/fixtures/misbehaving-machines.ts (async delays, a throwing `context`)
 * are checked by containment.test.ts.
 */
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;

type Report = {
  kind: string;
  outcome: string;
  failures: { agentId: string; error: string }[];
  seen: string[];
  warnings: Record<string, unknown>[];
  failed: Record<string, unknown>[];
};

function run(kind: string): Promise<{ code: number; stderr: string; report: Report | undefined }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'test/fixtures/between-activations.ts', kind],
      { cwd: root, timeout: 60_000 },
      (error, stdout, stderr) => {
        const line = stdout.split('\n').find((l) => l.startsWith('{'));
        resolve({
          code: error ? ((error as { code?: number }).code ?? 1) : 0,
          stderr,
          report: line ? (JSON.parse(line) as Report) : undefined,
        });
      },
    );
  });
}

describe('an agent cannot take the process down between its activations', () => {
  it.concurrent('a sleep chained on and dropped never settles once its activation ended', async () => {
    const { code, stderr, report } = await run('sleep-after-end');
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    expect(report).toMatchObject({ outcome: 'quiescent', failures: [], failed: [] });
    // The chain did not run after the activation (nor reject with nobody to handle it).
    expect(report!.seen).toEqual([]);
  });

  it.concurrent('a sleep an invoked actor awaits still rejects when the run is cancelled', async () => {
    const { code, stderr, report } = await run('sleep-invoked-cancel');
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    expect(report!.outcome).toBe('cancelled');
    expect(report!.seen).toEqual(['napping', 'sleep rejected: run cancelled']);
  });

  it.concurrent.each(['between-sync', 'between-async'])(
    '%s: a delayed transition that fails between activations is recorded, naming the agent',
    async (kind) => {
      const { code, stderr, report } = await run(kind);
      expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
      expect(report!.warnings).toContainEqual({
        kind: 'failed_between_activations',
        agentId: 'faulty',
        error: `boom in ${kind}`,
      });
      expect(report!.failures).toEqual([
        { agentId: 'faulty', error: `between activations: boom in ${kind}` },
      ]);
      expect(report!.outcome).toBe('failed');
    },
  );
});

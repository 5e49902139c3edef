/**
 * Promise 6: nothing an agent's machine does takes the process down. Each kind of misbehaviour runs in
 * its own child process (an unhandled rejection or an uncaught exception would end it with exit code 1),
 * beside a healthy run in the same process.
 */
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { KINDS } from '../fixtures/misbehaving-machines.js';

const root = new URL('../..', import.meta.url).pathname;

function runKinds(kinds: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'test/fixtures/misbehaving-machines.ts', ...kinds],
      { cwd: root, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

type Report = {
  kind: string;
  out: Record<string, string>;
  outcome: string;
  reason: string;
  failures: unknown[];
  healthy: string;
  activations: { phase: string; agentId: string; attempt?: number; next?: string; error?: string }[];
};

/** The kinds, in a few processes (each process costs a TypeScript start-up). */
const GROUPS = {
  'actions, guards, delayed events and tools': KINDS.filter((k) => !k.includes(':')),
  'invoked actors of every kind': KINDS.filter((k) => k.startsWith('invoke:')),
  'spawned actors of every kind': KINDS.filter((k) => k.startsWith('spawn:')),
};

describe('an agent cannot take the process down', () => {
  it.concurrent.each(Object.entries(GROUPS))(
    '%s: the process survives, each activation fails with a recorded error, retry then fallback',
    async (_name, kinds) => {
      const { code, stdout, stderr } = await runKinds(kinds);
      expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
      const reports = stdout
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Report);
      expect(reports.map((r) => r.kind)).toEqual(kinds);
      for (const report of reports) {
        const where = `kind ${report.kind}`;
        expect(report.healthy, where).toBe('quiescent');
        // The goal is the fallback's write: it ran, and says what it stood in for.
        expect(report.outcome, where).toBe('completed');
        expect(report.out.faulty, where).toMatch(/^rescued: /);
        const failed = report.activations.filter((a) => a.phase === 'failed' && a.agentId === 'faulty');
        expect(
          failed.map((f) => `${f.attempt}:${f.next}`),
          where,
        ).toEqual(['1:retry', '2:fallback']);
        for (const f of failed)
          expect(f.error, where).toMatch(/boom|guard returned a promise|returned a promise/);
      }
    },
    120_000,
  );
});

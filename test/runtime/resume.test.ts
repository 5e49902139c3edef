import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readLog } from '../../src/blackboard/index.js';
import { resumeStateFrom } from '../../src/scheduler/index.js';
import { crashRuntime, runOrResume } from '../fixtures/crash-team.js';

const root = new URL('../..', import.meta.url).pathname;
const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hearsay-crash-'));
  dirs.push(dir);
  return dir;
};
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true, maxRetries: 5 })));
});

/**
 * Runs the crash team in a child process and kills it with SIGKILL `killAfterMs` after it reports
 * ready (its start-up, slow and variable, is not part of the window), unless it finishes first.
 */
function child(dir: string, killAfterMs: number): Promise<{ finished: boolean; stdout: string }> {
  return new Promise((resolve, reject) => {
    const proc: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/fixtures/crash-team.ts', dir],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    proc.stdout!.on('data', (d) => {
      stdout += d;
      if (!timer && stdout.includes('ready')) timer = setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
    });
    proc.stderr!.on('data', (d) => (stderr += d));
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') return resolve({ finished: false, stdout });
      if (code !== 0) return reject(new Error(`child exited ${code}: ${stderr}`));
      resolve({ finished: true, stdout });
    });
  });
}

const normal = (s: unknown) => JSON.parse(JSON.stringify(s));

describe('resume after a crash', () => {
  it('resumes runs killed with SIGKILL at random points: every acknowledged commit is kept, none applies twice, same outcome', async () => {
    const baseline = await runOrResume(await tempDir());
    expect(baseline.outcome).toBe('completed');
    expect(normal(baseline.board).report).toBe('8 items');
    // Kill points spread over the run (about 100-200 ms after start-up here); each retry waits longer.
    const killPoints = [5, 20, 35, 50, 65, 80, 100, 120];
    let midRun = 0;
    for (const [trial, first] of killPoints.entries()) {
      const dir = await tempDir();
      let finished: { finished: boolean; stdout: string } = { finished: false, stdout: '' };
      let kills = 0;
      for (let delay = first; !finished.finished; delay += 40 + trial * 10) {
        finished = await child(dir, delay);
        if (!finished.finished) {
          kills += 1;
          // Count kills that landed in the middle of the run: commits on disk, and no outcome yet.
          const log = await readFile(join(dir, 'crash.log')).catch(() => undefined);
          const events = log ? readLog(log).events : [];
          if (
            events.some((e) => e.type === 'commit') &&
            !events.some((e) => e.type === 'message' && e.topic === 'hearsay.outcome')
          )
            midRun += 1;
        }
        expect(kills, 'the run should finish once it is left alone long enough').toBeLessThan(20);
      }
      const result = JSON.parse(finished.stdout.trim().split('\n').at(-1)!);
      expect(result.outcome, `trial ${trial}`).toBe('completed');
      expect(result.board, `trial ${trial} after ${kills} kills`).toEqual(normal(baseline.board));
      // The log: one commit per idempotency key, and each item marked done exactly once.
      const { events } = readLog(await readFile(join(dir, 'crash.log')));
      const keys = events.flatMap((e) => (e.type === 'commit' && e.idempotencyKey ? [e.idempotencyKey] : []));
      expect(new Set(keys).size).toBe(keys.length);
      const done = events.filter(
        (e) => e.type === 'commit' && e.patches.some((p) => p.path.at(-1) === 'count'),
      );
      expect(done).toHaveLength(8);
    }
    expect(midRun, 'kills in the middle of runs').toBeGreaterThanOrEqual(3);
  }, 120_000);

  it('resumes every interrupted run of a store at start, and leaves ended ones alone', async () => {
    const dir = await tempDir();
    // Kill the child once its run is under way: commits on disk, no outcome yet.
    for (let delay = 20; ; delay += 20) {
      const killed = await child(dir, delay);
      expect(killed.finished, 'the child should be killed mid-run').toBe(false);
      const events = readLog(await readFile(join(dir, 'crash.log')).catch(() => Buffer.alloc(0))).events;
      if (events.some((e) => e.type === 'commit')) break;
    }
    const runtime = crashRuntime(dir, { resumeOnStart: true });
    const handles = await runtime.ready;
    expect(handles.map((h) => h.runId)).toEqual(['crash']);
    const result = await handles[0]!.result;
    expect(result.outcome).toBe('completed');
    expect(normal(result.board).report).toBe('8 items');
    expect(await crashRuntime(dir).resumeAll()).toEqual([]);
  });

  it('reads what was in flight, the actors and the spending from the log', () => {
    const msg = (topic: string, payload: unknown, seq: number) =>
      ({
        type: 'message',
        runId: 'r',
        seq,
        version: 0,
        topic,
        payload,
        author: 'scheduler',
        time: 0,
      }) as const;
    const enabledBy = { seq: 1, version: 1, paths: [[]], depth: 0 };
    const state = resumeStateFrom([
      msg(
        'hearsay.activation',
        { phase: 'started', activationId: 'a#1', agentId: 'a', depth: 1, attempt: 1, enabledBy },
        1,
      ),
      msg(
        'hearsay.activation',
        { phase: 'started', activationId: 'b[x]#2', agentId: 'b', key: 'x', depth: 2, attempt: 1, enabledBy },
        2,
      ),
      msg('hearsay.activation', { phase: 'completed', activationId: 'a#1', agentId: 'a' }, 3),
      msg('hearsay.actor', { agentId: 'a', snapshot: { value: 'idle' } }, 4),
      msg('hearsay.usage', { agentId: 'b', usage: { inputTokens: 5, outputTokens: 7, cost: 0.5 } }, 5),
      msg(
        'hearsay.activation',
        { phase: 'started', activationId: 'c#3', agentId: 'c', depth: 1, attempt: 1, enabledBy },
        6,
      ),
      msg(
        'hearsay.activation',
        { phase: 'failed', activationId: 'c#3', agentId: 'c', attempt: 1, error: 'x', next: 'retry' },
        7,
      ),
    ]);
    expect('state' in state).toBe(true);
    if (!('state' in state)) return;
    expect(state.state.inflight.map((a) => a.activationId)).toEqual(['b[x]#2', 'c#3']);
    expect(state.state.actors.get('a')).toEqual({ value: 'idle' });
    expect(state.state.spent.get('b')).toMatchObject({ tokens: 12, cost: 0.5 });
    expect(state.state.activations).toBe(3);
    expect(resumeStateFrom([msg('hearsay.outcome', { outcome: 'completed', reason: 'done' }, 1)])).toEqual({
      ended: { outcome: 'completed', reason: 'done' },
    });
  });
});

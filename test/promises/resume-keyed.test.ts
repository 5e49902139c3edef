/**
 * Durability with keyed input (issue 23, item 1): a run whose INPUT sets a keyed collection, SIGKILLed at
 * random points and resumed, ends as an uncrashed run does. Before the fix, the input's commit came back
 * from the log as a plain object, and the resumed run failed (`the goal predicate threw`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readLog } from '../../src/blackboard/index.js';

const root = new URL('../..', import.meta.url).pathname;
const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hearsay-crash-keyed-'));
  dirs.push(dir);
  return dir;
};
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true, maxRetries: 5 })));
});

/** Runs the keyed crash team in a child process, SIGKILLed `killAfterMs` after it is ready (never with undefined). */
function child(dir: string, killAfterMs?: number): Promise<{ finished: boolean; stdout: string }> {
  return new Promise((resolve, reject) => {
    const proc: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/fixtures/crash-keyed-team.ts', dir],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    proc.stdout!.on('data', (d) => {
      stdout += d;
      if (killAfterMs !== undefined && !timer && stdout.includes('ready'))
        timer = setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
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

const resultOf = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!);

describe('resume after a crash, with keyed input', () => {
  it('a run whose input sets a keyed collection, SIGKILLed mid-run and resumed, ends as an uncrashed run', async () => {
    const baseline = resultOf((await child(await tempDir())).stdout);
    expect(baseline.outcome, baseline.reason).toBe('completed');
    expect(baseline.board.report).toBe('8 items');
    let midRun = 0;
    for (const [trial, first] of [10, 40, 80].entries()) {
      const dir = await tempDir();
      let finished = { finished: false, stdout: '' };
      let kills = 0;
      for (let delay = first; !finished.finished; delay += 40 + trial * 10) {
        finished = await child(dir, delay);
        if (finished.finished) break;
        kills += 1;
        const log = await readFile(join(dir, 'crash.log')).catch(() => undefined);
        const events = log ? readLog(log).events : [];
        // The input's commit (the whole keyed region) is on disk, and the run has not ended.
        if (
          events.some((e) => e.type === 'commit' && e.author === 'input') &&
          !events.some((e) => e.type === 'message' && e.topic === 'hearsay.outcome')
        )
          midRun += 1;
        expect(kills, 'the run should finish once it is left alone long enough').toBeLessThan(20);
      }
      const result = resultOf(finished.stdout);
      expect(result.outcome, `trial ${trial} after ${kills} kills: ${result.reason}`).toBe('completed');
      expect(result.board, `trial ${trial} after ${kills} kills`).toEqual(baseline.board);
      // No snapshot after the input's commit: the resumed run rebuilt the keyed region from the log itself.
      const { events } = readLog(await readFile(join(dir, 'crash.log')));
      const done = events.filter(
        (e) => e.type === 'commit' && e.patches.some((p) => p.path.at(-1) === 'count'),
      );
      expect(done).toHaveLength(8);
    }
    expect(midRun, 'kills after the input was committed and before the run ended').toBeGreaterThanOrEqual(2);
  }, 180_000);
});

/**
 * Issue 22, item 3: one refused run start blocked resume for the whole store. A start refused for its input
 * (or its run id) left an empty run behind, and `resumeAll` / `resumeOnStart` then threw at it and resumed
 * nothing after it. Now a refused start leaves the store as it was, and resuming many runs reports each run
 * it cannot resume and goes on with the others.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlackboardError, FileStore, MemoryStore, type RunHandle, type Store } from 'hearsay';
import { PostgresStore } from 'hearsay/postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { type B, interruptTeam } from '../fixtures/interrupted-runs.js';
import { useCluster } from '../support/cluster-suite.js';
import { postgresAvailable } from '../support/postgres.js';

const root = new URL('../..', import.meta.url).pathname;
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true, maxRetries: 5 })));
});
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hearsay-refused-'));
  dirs.push(dir);
  return dir;
};

/** Starts `n` runs in a child process and kills it (SIGKILL) once every run's step is in flight. */
function interruptRuns(args: string[], n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/interrupted-runs.ts', ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.split('working').length - 1 >= n) proc.kill('SIGKILL');
    });
    proc.stderr.on('data', (d) => (stderr += d));
    proc.on('error', reject);
    proc.on('exit', (_code, signal) =>
      signal === 'SIGKILL' ? resolve() : reject(new Error(`the fixture ended on its own: ${stderr}`)),
    );
  });
}

/** A value nested `levels` deep (over the board's default bound of 256). */
const nested = (levels: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = { v };
  return v;
};

const sorted = async (store: Store) => [...((await store.listRuns?.()) ?? [])].sort();

/**
 * Every way the team's start can be refused for what it was given, on any store: its input (item 3), then
 * its run id (item 4). The store's runs are checked after each kind.
 */
async function refuseStarts(
  runtime: ReturnType<typeof interruptTeam>,
  store: Store,
  extraIds: string[] = [],
) {
  const before = await sorted(store);
  // A schema mismatch.
  await expect(runtime.start({ go: 'yes' } as never, { runId: 'refused-schema' })).rejects.toThrow(
    /does not fit the board/,
  );
  // Nesting over the bound.
  await expect(
    runtime.start({ go: true, note: nested(400) } as never, { runId: 'refused-nesting' }),
  ).rejects.toThrow(/does not fit the board/);
  expect(await sorted(store)).toEqual(before);
  // Run ids no store may hold.
  for (const runId of ['nul\u0000id', 'line\nbreak', 'x'.repeat(9000), '', '\ud800lone', ...extraIds]) {
    const error = await runtime.start({ go: true }, { runId }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BlackboardError);
    expect(error).toMatchObject({ code: 'invalid_id' });
  }
  expect(await sorted(store)).toEqual(before);
}

describe('a refused run start leaves nothing behind (memory store)', () => {
  it('keeps listRuns unchanged and the run id free for a start that fits', async () => {
    const store = new MemoryStore();
    const runtime = interruptTeam(store, async () => 3);
    await runtime.run({ go: true }, { runId: 'done-before' });
    const before = await sorted(store);
    await refuseStarts(runtime, store);
    expect(await sorted(store)).toEqual(before);
    // The refused id was not taken: a start that fits goes through under it.
    expect((await runtime.run({ go: true }, { runId: 'refused-schema' })).outcome).toBe('completed');
    await runtime.close();
  });

  it('deletes the run it opened when the store fails the input commit', async () => {
    // A store that cannot write (a full disk, say): the start fails after its run was opened.
    class FullStore extends MemoryStore {
      override async commit(): Promise<never> {
        throw new Error('no space left on device');
      }
    }
    const store = new FullStore();
    const runtime = interruptTeam(store, async () => 3);
    await expect(runtime.start({ go: true }, { runId: 'failed-write' })).rejects.toThrow(/no space/);
    expect(await sorted(store)).toEqual([]);
    await runtime.close();
  });

  it('resumeAll reports an empty run it cannot resume instead of throwing', async () => {
    const store = new MemoryStore();
    // What a start refused by an earlier version left behind: a run with nothing on its log.
    await store.openRun('leftover', { go: false, n: 0 });
    const runtime = interruptTeam(store, async () => 3);
    const resumed = await runtime.resumeAll();
    // Callers that took the result for an array of handles still compile and see the same array.
    const handles: RunHandle<B>[] = resumed;
    expect(handles).toEqual([]);
    expect(resumed).toHaveLength(0);
    expect(resumed.failures).toEqual([
      expect.objectContaining({
        runId: 'leftover',
        code: 'empty',
        message: expect.stringMatching(/deleteRun/),
      }),
    ]);
    await runtime.close();
  });
});

describe('a refused run next to interrupted ones (FileStore)', () => {
  it('leaves listRuns unchanged, and resumeAll resumes every interrupted run, reporting the one it cannot', async () => {
    const dir = await tempDir();
    await interruptRuns(['file', dir, '3'], 3);
    const store = new FileStore({ dir });
    const runtime = interruptTeam(store, async () => 7);
    const before = await sorted(store);
    expect(before).toEqual(['interrupted-1', 'interrupted-2', 'interrupted-3']);
    // Over the FileStore's own bound (a file name), under the shared one.
    await refuseStarts(runtime, store, ['é'.repeat(100)]);
    expect(await sorted(store)).toEqual(before);

    // An empty run left by an older version sits among them: it is reported, the others go on.
    await store.openRun('aaa-leftover', { go: false, n: 0 });
    const resumed = await runtime.resumeAll();
    expect(resumed.map((h) => h.runId).sort()).toEqual(before);
    expect(resumed.failures.map((f) => [f.runId, f.code])).toEqual([['aaa-leftover', 'empty']]);
    for (const handle of resumed) {
      const result = await handle.result;
      expect(result.outcome).toBe('completed');
      expect(result.board.n).toBe(7);
    }
    await runtime.close();
  });
});

describe.runIf(postgresAvailable('resume next to refused runs on PostgreSQL'))(
  'a refused run next to interrupted ones (PostgreSQL)',
  () => {
    const clusterOf = useCluster();

    it('leaves listRuns unchanged, and resumeOnStart resumes every interrupted run, reporting the one it cannot', async () => {
      await interruptRuns(['pg', clusterOf().connectionString, 'refused', '3'], 3);
      const store = await PostgresStore.open({
        connectionString: clusterOf().connectionString,
        schema: 'refused',
      });
      const starter = interruptTeam(store, async () => 7);
      const before = await sorted(store);
      expect(before).toEqual(['interrupted-1', 'interrupted-2', 'interrupted-3']);
      // 400 characters of three UTF-8 bytes each: under the shared bound, over the PostgreSQL store's.
      await refuseStarts(starter, store, ['€'.repeat(400)]);
      expect(await sorted(store)).toEqual(before);
      await starter.close();

      await store.openRun('aaa-leftover', { go: false, n: 0 });
      const runtime = interruptTeam(store, async () => 7, { resumeOnStart: true });
      const resumed = await runtime.ready;
      expect(resumed.map((h) => h.runId).sort()).toEqual(before);
      expect(resumed.failures.map((f) => [f.runId, f.code])).toEqual([['aaa-leftover', 'empty']]);
      for (const handle of resumed) {
        const result = await handle.result;
        expect(result.outcome).toBe('completed');
        expect(result.board.n).toBe(7);
      }
      await runtime.close();
      await store.close();
    });
  },
);

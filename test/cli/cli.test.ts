import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { inspectedTeam } from '../../examples/inspector/team.js';
import { createBlackboard, FileStore, keyed, MemoryStore } from '../../src/blackboard/index.js';
import { createRuntime } from '../../src/runtime/index.js';
import { approvalsFrom, TOPICS } from '../../src/scheduler/index.js';

const OPS = 'operator-token-cli-0123456789';
const VIEWER = 'viewer-token-cli-0123456789';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const cli = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, timeout: 60_000 });
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true, maxRetries: 5 })));
});

async function fixture() {
  const dir = await mkdtemp(join(tmpdir(), 'hearsay-cli-'));
  dirs.push(dir);
  const board = await createBlackboard({
    schema: z.object({ n: z.number(), items: keyed(z.string()) }),
    initial: { n: 0, items: {} },
    store: new FileStore({ dir }),
    runId: 'night',
    snapshotEvery: 2,
  });
  for (let i = 1; i <= 5; i++) {
    await board.transact(
      (d) => {
        d.n = i;
        d.items.set(`k${i}`, `v${i}`);
      },
      { author: 'worker' },
    );
  }
  await board.publish(
    'hearsay.approval',
    {
      phase: 'requested',
      requestId: 'night/payer#1:1:abc',
      key: 'payer#1:1:abc',
      action: 'pay',
      args: { to: 'x' },
      argsHash: 'h',
    },
    { author: 'scheduler' },
  );
  return { dir, board };
}

describe('the hearsay command', () => {
  it('replays a run: its history line by line, and its board at any version', async () => {
    const { dir, board } = await fixture();
    const { stdout } = await cli('replay', dir, 'night');
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/^#1 +v1 +commit +worker +(n, items\.k1|items\.k1, n)$/);
    expect(lines[5]).toMatch(/approval requested night\/payer#1:1:abc pay \{"to":"x"\}/);
    const at3 = JSON.parse((await cli('replay', dir, 'night', '--at', '3')).stdout);
    expect(at3).toEqual(JSON.parse(JSON.stringify(await board.at(3))));
    // The log file alone names the run.
    expect((await cli('replay', join(dir, 'night.log'))).stdout).toBe(stdout);
  });

  it('answers an approval through a running hub, as the operator its token names; the paused run goes on', async () => {
    const store = new MemoryStore();
    const runtime = createRuntime({ ...inspectedTeam(1), store });
    const hub = await runtime.listen({
      tokens: { [OPS]: { roles: ['operator'], name: 'ops-cli' }, [VIEWER]: 'inspect' },
      log: () => {},
    });
    try {
      expect((await runtime.run({ goal: 'g' }, { runId: 'live' })).outcome).toBe('awaiting_approval');
      const requested = (await store.read('live', 1)).find(
        (e) =>
          e.type === 'message' &&
          e.topic === TOPICS.approval &&
          (e.payload as { phase: string }).phase === 'requested',
      );
      const requestId = (requested as { payload: { requestId: string } }).payload.requestId;
      await expect(cli('approve', requestId, '--hub', hub.url, '--token', VIEWER)).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringMatching(/^hearsay: .*operator/),
      });
      const { stdout } = await cli(
        'approve',
        requestId,
        '--hub',
        hub.url,
        '--token',
        OPS,
        '--comment',
        'ship it',
      );
      expect(stdout).toMatch(`Approved ${requestId}.`);
      await expect
        .poll(
          async () =>
            (await store.read('live', 1)).some(
              (e) =>
                e.type === 'message' &&
                e.topic === TOPICS.outcome &&
                (e.payload as { outcome: string }).outcome === 'completed',
            ),
          { timeout: 20_000 },
        )
        .toBe(true);
      const answered = approvalsFrom(await store.read('live', 1)).get(requestId)?.answer;
      expect(answered).toMatchObject({ approved: true, by: 'ops-cli', comment: 'ship it' });
      await expect(
        cli('reject', requestId, '--hub', hub.url, '--token', OPS, '--reason', 'late'),
      ).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringMatching(/already answered/),
      });
    } finally {
      await runtime.close();
    }
  });

  it("answers an approval on the run's log, once", async () => {
    const { dir } = await fixture();
    const { stdout } = await cli('approve', dir, 'night/payer#1:1:abc', '--by', 'dana', '--comment', 'ok');
    expect(stdout).toMatch(/Approved night\/payer#1:1:abc/);
    const store = new FileStore({ dir });
    const opened = await store.openRun('night', null);
    expect(
      approvalsFrom(await store.read('night', 1, opened.head.seq)).get('night/payer#1:1:abc')?.answer,
    ).toMatchObject({ approved: true, by: 'dana', comment: 'ok' });
    await expect(
      cli('reject', dir, 'night/payer#1:1:abc', '--by', 'eve', '--reason', 'late'),
    ).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/already answered/) });
    await expect(cli('approve', dir, 'ghost/x#1:1:a', '--by', 'eve')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/No run ghost/),
    });
    await expect(cli('approve', dir)).rejects.toMatchObject({ code: 2 });
  });
});

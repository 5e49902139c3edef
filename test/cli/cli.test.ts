import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBlackboard, FileStore, keyed } from '../../src/blackboard/index.js';
import { approvalsFrom } from '../../src/scheduler/index.js';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const cli = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, timeout: 60_000 });
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
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

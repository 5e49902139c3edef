/**
 * `hearsay replay --at` takes a board version that exists: anything else is a usage error (exit 2) with a
 * message naming the range, never a board of another version (regression: `--at 99` on a 5-version run
 * printed the last board and exited 0; `--at abc` printed "version NaN" and exited 1). Run as users run
 * it: the package's built `hearsay` bin.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createBlackboard, FileStore } from 'hearsay';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

const root = new URL('../..', import.meta.url).pathname;
const run = promisify(execFile);
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function bin(): Promise<string> {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { bin: { hearsay: string } };
  return join(root, pkg.bin.hearsay);
}

async function hearsay(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [await bin(), ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('hearsay replay --at', () => {
  it('prints the board at an existing version and refuses any other with exit 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearsay-replay-'));
    dirs.push(dir);
    const board = await createBlackboard({
      schema: z.object({ n: z.number() }),
      initial: { n: 0 },
      store: new FileStore({ dir }),
      runId: 'r',
      snapshotEvery: 2,
    });
    for (let i = 1; i <= 5; i++)
      await board.transact(
        (d) => {
          d.n = i;
        },
        { author: 'w' },
      );
    await board.close();

    const ok = await hearsay('replay', dir, 'r', '--at', '3');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ n: 3 });
    expect(JSON.parse((await hearsay('replay', dir, 'r', '--at', '0')).stdout)).toEqual({ n: 0 });
    // (`--at -1` is refused by the argument parser itself, also as a usage error.)
    expect((await hearsay('replay', dir, 'r', '--at', '-1')).code).toBe(2);
    for (const bad of ['99', '6', 'abc', '1.5', '']) {
      const r = await hearsay('replay', dir, 'r', '--at', bad);
      expect(r.code, `--at ${bad}`).toBe(2);
      expect(r.stderr).toMatch(/--at takes a board version from 0 to 5/);
      expect(r.stdout).toBe('');
    }
  });
});

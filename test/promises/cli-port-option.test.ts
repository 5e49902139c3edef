/**
 * `--port` of `hearsay run` and `hearsay inspect` is checked like the other numeric options (`eval
 * --repeat`): anything but a whole number from 0 to 65535 is bad usage, one line on stderr naming the
 * option, exit 2, before anything is loaded or listened on. It used to reach `server.listen` as NaN (or
 * 99999) and fail with Node's own "options.port should be >= 0 and < 65536. Received type number (NaN)",
 * exit 1. Run through the built CLI.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const cli = join(root, 'dist/src/cli/main.js');

/** The exit code, stdout and stderr of `hearsay ...args` (a non-zero exit is a result here, not a throw). */
async function hearsay(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [cli, ...args], { cwd: root, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout: string; stderr: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout, stderr: err.stderr };
  }
}

let dir: string;
let workflow: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearsay-cli-port-'));
  workflow = join(dir, 'workflow.mjs');
  // A workflow that is never run: a bad --port is refused before the file is loaded.
  await writeFile(workflow, "throw new Error('the workflow was loaded');\n");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('hearsay --port', () => {
  for (const port of ['abc', '99999', '-1', '1.5', '', '0x1F90']) {
    it(`refuses --port "${port}" as bad usage (exit 2) for run and inspect`, async () => {
      for (const args of [
        ['run', workflow, `--port=${port}`],
        ['inspect', 'ws://127.0.0.1:1/hearsay', `--port=${port}`, '--no-open'],
      ]) {
        const r = await hearsay(...args);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toBe(`hearsay: --port must be a whole number from 0 to 65535, not "${port}".\n`);
        expect(r.stdout).toBe('');
      }
    });
  }
});

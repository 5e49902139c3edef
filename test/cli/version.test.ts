/**
 * Issue 18: `hearsay --version` (and `-v`) prints the version of the package it was installed from, read
 * from that package's own package.json, and `hearsay --help` says so. Run through the built CLI.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const builtCli = join(root, 'dist/src/cli/main.js');
const hearsay = (cli: string, ...args: string[]) =>
  run(process.execPath, [cli, ...args], { cwd: root, timeout: 60_000 });

// An installed copy: node_modules/<pkg>/dist/src beside a package.json of another version; its imports
// (openai, ws, …) resolve from the node_modules it sits in, as in a user's project.
const installed = join(root, 'node_modules', `.hearsay-version-test-${process.pid}`);
afterAll(() => rm(installed, { recursive: true, force: true }));

describe('hearsay --version', () => {
  it('prints package.json’s version and exits 0, with --version and -v', async () => {
    const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const r = await hearsay(builtCli, flag);
      expect(r.stdout).toBe(`${version}\n`);
      expect(r.stderr).toBe('');
    }
    // After a command too: the version, not the command.
    expect((await hearsay(builtCli, 'run', '--version')).stdout).toBe(`${version}\n`);
  });

  it('reads the package.json of the copy that runs, not the working directory’s', async () => {
    await mkdir(installed, { recursive: true });
    await cp(join(root, 'dist/src'), join(installed, 'dist/src'), { recursive: true });
    await writeFile(
      join(installed, 'package.json'),
      JSON.stringify({ name: 'hearsay', version: '9.8.7-test' }),
    );
    const r = await hearsay(join(installed, 'dist/src/cli/main.js'), '--version');
    expect(r.stdout).toBe('9.8.7-test\n');
  });

  it('is named in hearsay --help', async () => {
    const r = await hearsay(builtCli, '--help');
    expect(r.stdout).toMatch(/hearsay --version \(-v\) prints the version/);
  });
});

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('npm start', () => {
  it('runs the demo to completion: every task done, the stale and invalid commits refused', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/blackboard-demo/main.ts'], {
      cwd: new URL('../..', import.meta.url).pathname,
      timeout: 60_000,
    });
    expect(stdout).toMatch(/Stale commit from version 1: The board changed after version 1/);
    expect(stdout).toMatch(/Invalid commit: The commit would break the board's schema/);
    expect(stdout.match(/"status": "done"/g)).toHaveLength(5);
    expect(stdout).toContain('Version 1 had 5 open tasks.');
  });
});

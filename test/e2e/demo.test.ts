import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const example = (file: string) =>
  run(process.execPath, ['--import', 'tsx', file], { cwd: root, timeout: 60_000 });

describe('the demos', () => {
  it('npm start: the team plans, works in parallel, reworks what the reviewer sent back, and reports', async () => {
    const { stdout } = await example('examples/hub-and-spoke/main.ts');
    expect(stdout).toContain('models: SIMULATED');
    expect(stdout).toContain('Outcome: completed (the goal was reached)');
    expect(stdout).toContain('write the scheduler loop: done (addressed: add tests)');
    expect(stdout).toContain('The reviewer reviewed 5 results and sent 1 back.');
    expect(stdout).toMatch(/activates researcher\[r1\] \(depth 2\)/);
    expect(stdout).toMatch(/total\s+\d+\s+\d+ tokens {2}\$0\.\d+/);
    expect(stdout).toMatch(/per model:\n\s+simulated\//);
    expect(stdout).toMatch(/trace [0-9a-f]{32}/);
  });

  it('the blackboard demo: every task done, the stale and invalid commits refused', async () => {
    const { stdout } = await example('examples/blackboard-demo/main.ts');
    expect(stdout).toMatch(/Stale commit from version 1: The board changed after version 1/);
    expect(stdout).toMatch(/Invalid commit: The commit would break the board's schema/);
    expect(stdout.match(/"status": "done"/g)).toHaveLength(5);
    expect(stdout).toContain('Version 1 had 5 open tasks.');
  });
});

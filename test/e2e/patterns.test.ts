import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
/** Runs `npm run example -- <name>` as a user would (the same script, without npm's banner). */
const example = (name: string) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/run.ts', name], {
    cwd: root,
    timeout: 120_000,
    env: { ...process.env, OPENAI_API_KEY: '', OPENAI_BASE_URL: '' },
  }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

describe('the orchestration patterns, each runnable offline', () => {
  it('hub-and-spoke: the planner decomposes, workers work in parallel, the reviewer sends one back', async () => {
    const r = await example('hub-and-spoke');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/activates researcher\[r1\]/);
    expect(r.stdout).toMatch(/activates coder\[c2\]/);
    expect(r.stdout).toMatch(/The reviewer reviewed 5 results and sent 1 back/);
    expect(r.stdout).toMatch(/Outcome: completed/);
  });

  it('pipeline: each stage runs when the previous stage wrote, one causal step deeper', async () => {
    const r = await example('pipeline');
    expect(r.code).toBe(0);
    const order = [...r.stdout.matchAll(/(\w+) starts \(depth (\d)\)/g)].map((m) => `${m[1]}:${m[2]}`);
    expect(order).toEqual(['researcher:1', 'analyst:2', 'writer:3', 'editor:4']);
    expect(r.stdout).toMatch(
      /final: it is used, it is studied, it has limits; so it is worth doing carefully\./,
    );
    expect(r.stdout).toMatch(/completed: the goal was reached; 4 activations/);
  });

  it('peer-to-peer: three peers, two of them in another process, agree through the board alone', async () => {
    const r = await example('peer-to-peer');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/bob and carol in pid \d+/);
    for (const p of ['alice', 'bob', 'carol']) {
      expect(r.stdout).toMatch(new RegExp(`${p} +says: I propose`));
      expect(r.stdout).toMatch(new RegExp(`  ${p} +accepted +votes: `));
    }
    expect(r.stdout).toMatch(/completed: the goal was reached/);
  });

  it('hierarchical: child runs with their own boards answer the parent', async () => {
    const r = await example('hierarchical');
    expect(r.code).toBe(0);
    expect(r.stdout.match(/delegator started child run parent\/research\.[0-9a-f]{8}/g)).toHaveLength(2);
    expect(r.stdout.match(/ended \(completed\) child run/g)).toHaveLength(2);
    expect(r.stdout).toMatch(
      /→ In short: blackboard runtimes is worth a careful look\. \[parent\/research\.[0-9a-f]{8}: completed\]/,
    );
    expect(r.stdout).toMatch(/cost, children included: 4 model calls/);
  });

  it('names the examples when asked for one that does not exist', async () => {
    const r = await example('mesh');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Examples: hub-and-spoke, pipeline, peer-to-peer, hierarchical/);
  });
});

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { LogEvent } from '../../src/blackboard/index.js';
import { createRuntime } from '../../src/runtime/index.js';
import { TOPICS } from '../../src/scheduler/index.js';
import { faultyRuntime } from '../fixtures/faulty-team.js';
import { initial, reactor, records, TestBoard } from '../support/team.js';

describe('error containment', () => {
  it('contains an agent throwing in an entry action, an action, a guard and an invoke; each fallback is reached', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    try {
      const handle = await faultyRuntime().start({ go: true });
      const log: LogEvent[] = [];
      handle.board.subscribe({ from: 1 }, (e) => log.push(e));
      const result = await handle.result;
      expect(result.outcome).toBe('completed');
      expect(Object.fromEntries(result.board.out)).toEqual({
        entry: 'rescued: boom in entry',
        action: 'rescued: boom in action',
        guard: expect.stringContaining('boom in guard'),
        invoke: 'rescued: boom in invoke',
      });
      const failed = records<{ phase: string; agentId: string; attempt: number; next: string }>(
        log,
        TOPICS.activation,
      ).filter((r) => r.phase === 'failed');
      for (const place of ['entry', 'action', 'guard', 'invoke']) {
        expect(failed.filter((f) => f.agentId === place).map((f) => `${f.attempt}:${f.next}`)).toEqual([
          '1:retry',
          '2:fallback',
        ]);
      }
      // XState reports an error nobody handled by throwing it from a 0 ms timer, and Node fires timers of one
      // duration in the order they were set: a 0 ms timer set now fires after any the run set. Unhandled
      // rejections are reported before it, when the microtasks drain.
      await new Promise((r) => setTimeout(r, 0));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      process.off('unhandledRejection', onUncaught);
    }
  });

  it('admits a fallback like any activation: a vetoed fallback does not run, and the failure says why', async () => {
    const handle = await faultyRuntime().start({ go: true });
    handle.veto('rescue-entry');
    const log: LogEvent[] = [];
    handle.board.subscribe({ from: 1 }, (e) => log.push(e));
    const result = await handle.result;
    expect(result.board.out.has('entry')).toBe(false);
    expect(result.failures.find((f) => f.agentId === 'entry')?.error).toMatch(
      /fallback rescue-entry could not advance: .*veto/,
    );
    const refused = records<{ phase: string; agentId: string; reason: string }>(
      log,
      TOPICS.activation,
    ).filter((r) => r.phase === 'refused' && r.agentId === 'rescue-entry');
    expect(refused.map((r) => r.reason)).toContain('vetoed');
    // The other fallbacks still ran.
    expect(['action', 'guard', 'invoke'].every((p) => result.board.out.has(p))).toBe(true);
  });

  it('leaves other runs unaffected', async () => {
    const healthy = createRuntime({
      board: { schema: TestBoard, initial },
      agents: [
        reactor({
          id: 'ok',
          watches: [['go']],
          writes: [['out']],
          when: (b) => b.go && !b.out.has('ok'),
          write: (d) => void d.out.set('ok', 'fine'),
        }),
      ],
    });
    const [bad, good] = await Promise.all([faultyRuntime().run({ go: true }), healthy.run({ go: true })]);
    expect(bad.outcome).toBe('completed');
    expect(good).toMatchObject({ outcome: 'quiescent', failures: [] });
    expect(good.board.out.get('ok')).toBe('fine');
  });

  it('records an unrecovered failure and ends the run as failed when nothing else can advance', async () => {
    const broken = reactor({
      id: 'broken',
      watches: [['go']],
      writes: [['out']],
      retry: { attempts: 3 },
      when: (b) => b.go,
      write: () => {
        throw new Error('recipe bug');
      },
    });
    const result = await createRuntime({
      board: { schema: TestBoard, initial },
      agents: [broken],
      deterministic: { seed: 1 },
    }).run({ go: true });
    expect(result.outcome).toBe('failed');
    expect(result.failures).toEqual([{ agentId: 'broken', error: 'recipe bug' }]);
    expect(result.reason).toMatch(/recipe bug/);
  });

  it("refuses a commit outside the agent's writes with a typed error (the activation fails)", async () => {
    const trespasser = reactor({
      id: 'trespasser',
      watches: [['go']],
      writes: [['out']],
      retry: { attempts: 1 },
      when: (b) => b.go && b.n === 0,
      write: (d) => {
        d.n = 99;
      },
    });
    const result = await createRuntime({ board: { schema: TestBoard, initial }, agents: [trespasser] }).run({
      go: true,
    });
    expect(result.board.n).toBe(0);
    expect(result.outcome).toBe('failed');
    expect(result.failures[0]?.error).toMatch(/forbidden_path.*may not write \["n"\]/);
  });

  it('keeps the process alive: a child process running the faulty team exits 0', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'test/fixtures/faulty-team.ts'],
      {
        cwd: new URL('../..', import.meta.url).pathname,
        timeout: 60_000,
      },
    );
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toMatchObject({ outcome: 'completed' });
  });
});

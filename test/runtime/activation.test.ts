import { describe, expect, it } from 'vitest';
import type { LogEvent } from '../../src/blackboard/index.js';
import { createRuntime } from '../../src/runtime/index.js';
import { TOPICS } from '../../src/scheduler/index.js';
import { initial, reactor, records, slow, TestBoard } from '../support/team.js';

async function logOf(handle: {
  board: { at: unknown; subscribe: (f: object, h: (e: LogEvent) => void) => () => void };
}) {
  const log: LogEvent[] = [];
  handle.board.subscribe({ from: 1 }, (e) => log.push(e));
  return log;
}

describe('activation by `can`', () => {
  it('never activates an agent whose guard is false', async () => {
    let guarded = 0;
    const never = reactor({
      id: 'never',
      watches: [['n']],
      writes: [['out']],
      when: () => {
        guarded += 1;
        return false;
      },
      write: () => {},
    });
    const bump = reactor({
      id: 'bump',
      watches: [['go']],
      writes: [['n']],
      when: (b) => b.go && b.n < 3,
      write: (d) => {
        d.n += 1;
      },
    });
    const runtime = createRuntime({
      board: { schema: TestBoard, initial },
      agents: [never, bump],
      deterministic: { seed: 1 },
    });
    const handle = await runtime.start({ go: true });
    const log = await logOf(handle);
    const result = await handle.result;
    expect(result.outcome).toBe('quiescent');
    expect(result.board.n).toBe(1);
    expect(guarded).toBeGreaterThan(0);
    const started = records<{ phase: string; agentId: string }>(log, TOPICS.activation).filter(
      (r) => r.phase === 'started',
    );
    expect(started.filter((r) => r.agentId === 'never')).toEqual([]);
  });

  it('activates an agent exactly once per commit that makes its guard true', async () => {
    // `echo` copies each new item into `out`; `feeder` adds items one per commit.
    const feeder = reactor({
      id: 'feeder',
      watches: [['go'], ['out']],
      writes: [['items']],
      when: (b) => b.go && b.items.size < 4 && b.items.size === b.out.size,
      write: (d) => void d.items.set(`i${d.items.size}`, { status: 'open' }),
    });
    const echo = reactor({
      id: 'echo',
      watches: [['items']],
      writes: [['out']],
      when: (b) => [...b.items.keys()].some((k) => !b.out.has(k)),
      write: (d) => {
        for (const k of d.items.keys()) if (!d.out.has(k)) d.out.set(k, 'seen');
      },
    });
    const runtime = createRuntime({
      board: { schema: TestBoard, initial },
      agents: [feeder, echo],
      limits: { depth: 20 },
      goal: (b) => b.out.size === 4,
      deterministic: { seed: 2 },
    });
    const handle = await runtime.start({ go: true });
    const log = await logOf(handle);
    const result = await handle.result;
    expect(result.outcome).toBe('completed');
    const started = records<{ phase: string; agentId: string; enabledBy: { seq: number } }>(
      log,
      TOPICS.activation,
    ).filter((r) => r.phase === 'started' && r.agentId === 'echo');
    const feederCommits = log.filter((e) => e.type === 'commit' && e.author === 'feeder').map((e) => e.seq);
    expect(started.map((r) => r.enabledBy.seq)).toEqual(feederCommits);
    expect(new Set(started.map((r) => r.enabledBy.seq)).size).toBe(started.length);
  });

  it('records each transition of a machine with the event that caused it', async () => {
    const worker = slow({
      id: 'worker',
      ms: 10,
      watches: [['go']],
      writes: [['n']],
      when: (b) => b.go && b.n === 0,
      write: (d) => {
        d.n = 1;
      },
    });
    const runtime = createRuntime({
      board: { schema: TestBoard, initial },
      agents: [worker],
      deterministic: { seed: 3 },
    });
    const handle = await runtime.start({ go: true });
    const log = await logOf(handle);
    expect((await handle.result).outcome).toBe('quiescent');
    const transitions = records<{ agentId: string; from: string; to: string; event: string }>(
      log,
      TOPICS.transition,
    );
    // The board event moves the machine to work; the invoked promise's done event moves it back.
    expect(
      transitions.map((t) => [
        t.from,
        t.to,
        t.event.startsWith('xstate.done.actor.') ? 'xstate.done.actor.*' : t.event,
      ]),
    ).toEqual([
      ['idle', 'working', 'board'],
      ['working', 'idle', 'xstate.done.actor.*'],
    ]);
  });

  it("survives a guard that uses the activation's tools while it is asked (no unhandled rejection)", async () => {
    const eager = reactor({
      id: 'eager',
      watches: [['go']],
      writes: [['n']],
      when: (b, event) => {
        // Guards should only read; this one starts a sleep it never awaits.
        void event.tools.sleep(0);
        return b.go && b.n === 0;
      },
      write: (d) => {
        d.n = 1;
      },
    });
    const runtime = createRuntime({ board: { schema: TestBoard, initial }, agents: [eager] });
    const result = await runtime.run({ go: true });
    expect(result.outcome).toBe('quiescent');
    expect(result.board.n).toBe(1);
    await runtime.close();
  });
});

import { describe, expect, it, vi } from 'vitest';
import { assign, setup } from 'xstate';
import {
  agentActions,
  type BoardEvent,
  defineAgent,
  itemMachine,
  statusPool,
  stepMachine,
} from '../../src/actors/index.js';
import type { LogEvent } from '../../src/blackboard/index.js';
import { createRuntime, type RunHandle } from '../../src/runtime/index.js';
import { TOPICS, VirtualClock } from '../../src/scheduler/index.js';
import { initial, reactor, records, slow, type TB, TestBoard } from '../support/team.js';

const { commit } = agentActions<TB>();

/** An agent that, once the run is on, sets n to `value` (and then has nothing more to do). */
const setOnce = (value: number) =>
  reactor({
    id: 'once',
    watches: [['go']],
    writes: [['n']],
    when: (b) => b.go && b.n === 0,
    write: (d) => {
      d.n = value;
    },
  });

describe('run outcomes', () => {
  it('cancels a run in the middle of a slow promise actor: its signal aborts and it commits nothing more', async () => {
    let aborted = false;
    let resumed = false;
    // The work waits on a gate the test opens, deliberately not on the run's clock or signal: cancelling must
    // not depend on the work listening.
    let started!: () => void;
    const working = new Promise<void>((r) => {
      started = r;
    });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let returned!: () => void;
    const workReturned = new Promise<void>((r) => {
      returned = r;
    });
    const sleeper = defineAgent<TB>({
      id: 'sleeper',
      watches: [['go']],
      writes: [['n']],
      machine: stepMachine<TB, null>({
        when: (b) => b.go,
        work: async (e) => {
          e.tools.signal.addEventListener('abort', () => {
            aborted = true;
          });
          started();
          await gate;
          resumed = true;
          queueMicrotask(returned);
          return null;
        },
        done: (d) => {
          d.n = 1;
        },
      }),
    });
    const runtime = createRuntime({ board: { schema: TestBoard, initial }, agents: [sleeper] });
    const controller = new AbortController();
    const handle = await runtime.start({ go: true }, { signal: controller.signal });
    const log: LogEvent[] = [];
    handle.board.subscribe({ from: 1 }, (e) => log.push(e));
    await working;
    controller.abort(new Error('user pressed stop'));
    const result = await handle.result;
    expect(result).toMatchObject({
      outcome: 'cancelled',
      reason: expect.stringContaining('user pressed stop'),
    });
    expect(aborted).toBe(true);
    // The work ends only now, after the run has; what it returns must go nowhere.
    release();
    await workReturned;
    // Every promise chain the late return starts (the machine's done event, its commit to the in-memory
    // store) runs to its end before a macrotask: one setImmediate turn is past all of them.
    await new Promise((r) => setImmediate(r));
    expect(resumed).toBe(true);
    expect(handle.board.state.n).toBe(0);
    expect(handle.board.version).toBe(1); // only the input
    expect(log.filter((e) => e.type === 'commit').length).toBe(1);
    await runtime.close();
  });

  it('closes gracefully: runs in progress are cancelled and recorded', async () => {
    const forever = slow({
      id: 'forever',
      watches: [['n'], ['go']],
      writes: [['n']],
      ms: 50,
      when: (b) => b.go,
      write: (d) => {
        d.n += 1;
      },
    });
    const runtime = createRuntime({
      board: { schema: TestBoard, initial },
      agents: [forever],
      limits: { depth: 1000 },
    });
    const handle = await runtime.start({ go: true });
    const log: LogEvent[] = [];
    // Closed while an activation is in flight: once its started record is on the log.
    const inFlight = new Promise<void>((resolve) => {
      handle.board.subscribe({ from: 1 }, (e) => {
        log.push(e);
        if (
          e.type === 'message' &&
          e.topic === TOPICS.activation &&
          (e.payload as { phase: string }).phase === 'started'
        )
          resolve();
      });
    });
    await inFlight;
    await runtime.close();
    expect((await handle.result).outcome).toBe('cancelled');
    expect(runtime.runs.size).toBe(0);
    const phases = records<{ phase: string }>(log, TOPICS.activation).map((r) => r.phase);
    expect(phases.at(-1)).toBe('aborted');
    expect(records(log, TOPICS.outcome)).toMatchObject([{ outcome: 'cancelled' }]);
  });

  it('completes as soon as the goal holds', async () => {
    const counter = reactor({
      id: 'c',
      watches: [['n'], ['go']],
      writes: [['n']],
      when: (b) => b.go,
      write: (d) => {
        d.n += 1;
      },
    });
    const result = await createRuntime({
      board: { schema: TestBoard, initial },
      agents: [counter],
      goal: (b) => b.n >= 3,
    }).run({ go: true });
    expect(result).toMatchObject({ outcome: 'completed', reason: 'the goal was reached', board: { n: 3 } });
  });

  it('is quiescent when nothing can advance and nothing is in flight, and says whether the goal was missed', async () => {
    const once = setOnce(1);
    const result = await createRuntime({
      board: { schema: TestBoard, initial },
      agents: [once],
      goal: (b) => b.n > 5,
    }).run({ go: true });
    expect(result).toMatchObject({
      outcome: 'quiescent',
      reason: 'nothing can advance and the goal was not reached',
    });
  });

  it('hosts many runs at once, each with its own board', async () => {
    const once = setOnce(7);
    const runtime = createRuntime({ board: { schema: TestBoard, initial }, agents: [once] });
    const results = await Promise.all([
      runtime.run({ go: true }),
      runtime.run({ go: false }),
      runtime.run({ go: true }),
    ]);
    expect(results.map((r) => r.board.n)).toEqual([7, 0, 7]);
    expect(new Set(results.map((r) => r.runId)).size).toBe(3);
  });
});

describe('singleton and pooled agents', () => {
  it('keeps a singleton machine state between activations, and exposes it for persistence', async () => {
    const reviewer = defineAgent<TB>({
      id: 'reviewer',
      watches: [['n']],
      writes: [['out']],
      machine: setup({
        types: { events: {} as BoardEvent<TB>, context: {} as { rounds: number } },
      }).createMachine({
        context: { rounds: 0 },
        initial: 'reviewing',
        states: {
          reviewing: {
            on: {
              board: {
                guard: ({ event }) => event.board.n > 0,
                actions: [
                  assign({ rounds: ({ context }) => context.rounds + 1 }),
                  commit(
                    ({ context }: { context: { rounds: number } }) =>
                      (d) =>
                        void d.out.set('rounds', String(context.rounds)),
                  ),
                ],
              },
            },
          },
        },
      }),
    });
    const author = reactor({
      id: 'author',
      watches: [['out']],
      writes: [['n']],
      when: (b) => b.n < 3,
      write: (d) => {
        d.n += 1;
      },
    });
    const runtime = createRuntime({
      board: { schema: TestBoard, initial },
      agents: [author, reviewer],
      limits: { depth: 20 },
    });
    const handle = await runtime.start({ go: true });
    const result = await handle.result;
    expect(result.board.out.get('rounds')).toBe('3');
    expect(handle.persistedSnapshot('reviewer')).toMatchObject({
      status: 'active',
      value: 'reviewing',
      context: { rounds: 3 },
    });
  });

  it('runs one fresh instance per work item, claims each item once, and respects the pool concurrency', async () => {
    let peak = 0;
    let running = 0;
    const handleRef: { current?: RunHandle<TB> } = {};
    const snapshots: unknown[] = [];
    const worker = defineAgent<TB>({
      id: 'worker',
      watches: [['items']],
      writes: [['items']],
      concurrency: 3,
      pool: statusPool((b) => b.items),
      machine: itemMachine<TB, void>({
        work: async ({ event, key }) => {
          running += 1;
          peak = Math.max(peak, running);
          snapshots.push(handleRef.current?.persistedSnapshot('worker', key));
          await event.tools.sleep(10);
          running -= 1;
        },
        done: (d, { key }) => {
          const item = d.items.get(key)!;
          item.status = 'done';
          item.by = key;
        },
      }),
    });
    const items = Object.fromEntries(
      Array.from({ length: 10 }, (_, i) => [`i${i}`, { status: 'open' as const }]),
    );
    const runtime = createRuntime({
      board: { schema: TestBoard, initial: { ...initial, items } },
      agents: [worker],
      deterministic: { seed: 9 },
    });
    const handle = await runtime.start();
    handleRef.current = handle;
    const log: LogEvent[] = [];
    handle.board.subscribe({ from: 1 }, (e) => log.push(e));
    const result = await handle.result;
    expect(result.outcome).toBe('quiescent');
    expect([...result.board.items.values()].every((t) => t.status === 'done')).toBe(true);
    expect(peak).toBe(3);
    expect(snapshots[0]).toMatchObject({
      status: 'active',
      value: 'working',
      context: { key: expect.any(String) },
    });
    const started = records<{ phase: string; key: string; depth: number }>(log, TOPICS.activation).filter(
      (r) => r.phase === 'started',
    );
    expect(started.map((r) => r.key).sort()).toEqual(Object.keys(items).sort());
    expect(new Set(started.map((r) => r.depth))).toEqual(new Set([1]));
  });

  it('retries an item whose work fails, and records the failure (itemMachine)', async () => {
    const tries = new Map<string, number>();
    const flaky = defineAgent<TB>({
      id: 'flaky',
      watches: [['items']],
      writes: [['items']],
      retry: { attempts: 3 },
      pool: statusPool((b) => b.items),
      machine: itemMachine<TB, number>({
        work: async ({ key }) => {
          const n = (tries.get(key) ?? 0) + 1;
          tries.set(key, n);
          if (n < 3) throw new Error(`transient failure ${n}`);
          return n;
        },
        done: (d, { key, output }) => {
          const item = d.items.get(key)!;
          item.status = 'done';
          item.by = `try ${output}`;
        },
      }),
    });
    const handle = await createRuntime({
      board: { schema: TestBoard, initial: { ...initial, items: { a: { status: 'open' } } } },
      agents: [flaky],
    }).start();
    const log: LogEvent[] = [];
    handle.board.subscribe({ from: 1 }, (e) => log.push(e));
    const result = await handle.result;
    expect(result.board.items.get('a')).toEqual({ status: 'done', by: 'try 3' });
    const failed = records<{ phase: string; attempt: number; next: string; error: string }>(
      log,
      TOPICS.activation,
    ).filter((r) => r.phase === 'failed');
    expect(failed.map((f) => `${f.attempt}:${f.next}`)).toEqual(['1:retry', '2:retry']);
    expect(failed[0]!.error).toMatch(/transient failure 1/);
  });

  it('lets only one of two pools claiming the same item take it; the other records claimed_elsewhere', async () => {
    const pool = (id: string) =>
      defineAgent<TB>({
        id,
        watches: [['items']],
        writes: [['items']],
        pool: {
          items: (b) => [...b.items].filter(([, t]) => t.status === 'open').map(([k]) => k),
          claim: (d, key) => {
            const item = d.items.get(key)!;
            if (item.status !== 'open') return false;
            item.status = 'claimed';
            item.by = id;
            return true;
          },
        },
        machine: setup({ types: { events: {} as BoardEvent<TB> } }).createMachine({
          initial: 'ready',
          states: { ready: { on: { board: 'done' } }, done: { type: 'final' } },
        }),
      });
    const runtime = createRuntime({
      board: { schema: TestBoard, initial: { ...initial, items: { only: { status: 'open' } } } },
      agents: [pool('left'), pool('right')],
      deterministic: { seed: 4 },
    });
    const handle = await runtime.start();
    const log: LogEvent[] = [];
    handle.board.subscribe({ from: 1 }, (e) => log.push(e));
    const result = await handle.result;
    const claims = log.filter((e) => e.type === 'commit' && e.writes.some((w) => w[1] === 'only'));
    expect(claims).toHaveLength(1);
    const refused = records<{ phase: string; reason: string }>(log, TOPICS.activation).filter(
      (r) => r.phase === 'refused',
    );
    expect(refused).toEqual([expect.objectContaining({ reason: 'claimed_elsewhere' })]);
    expect(['left', 'right']).toContain(result.board.items.get('only')!.by);
  });
});

describe('the agenda, operators and registration', () => {
  it("records each cycle's ranked candidates with why and their rating; promote and veto change decisions", async () => {
    const make = (id: string, priority: number) =>
      slow({
        id,
        priority,
        estimate: { tokens: 10 },
        budget: { tokens: 100 },
        watches: [['go']],
        writes: [['out', id]],
        ms: 5,
        when: (b) => b.go && !b.out.has(id),
        write: (d) => void d.out.set(id, 'x'),
      });
    const runtime = createRuntime({
      board: { schema: TestBoard, initial },
      agents: [make('low', 0), make('high', 5), make('banned', 9)],
      limits: { concurrency: 1 },
      deterministic: { seed: 1 },
    });
    const handle = await runtime.start({ go: true });
    handle.veto('banned');
    handle.promote('low');
    const log: LogEvent[] = [];
    handle.board.subscribe({ from: 1 }, (e) => log.push(e));
    const result = await handle.result;
    const agendas = records<{
      items: {
        agentId: string;
        rank: number;
        decision: string;
        why: { seq: number };
        budgetLeft: object;
        estimate: object;
      }[];
    }>(log, TOPICS.agenda);
    expect(agendas[0]!.items.map((i) => `${i.agentId}:${i.decision}`)).toEqual([
      'low:activate',
      'banned:vetoed',
      'high:concurrency',
    ]);
    expect(agendas[0]!.items[0]).toMatchObject({
      rank: 0,
      why: { seq: 1 },
      budgetLeft: { tokens: 100 },
      estimate: { tokens: 10 },
    });
    expect([...result.board.out.keys()].sort()).toEqual(['high', 'low']);
  });

  it('warns at registration about paths several agents may write', () => {
    const a = reactor({ id: 'a', watches: [], writes: [['out']], when: () => false, write: () => {} });
    const b = reactor({ id: 'b', watches: [], writes: [['out', 'x']], when: () => false, write: () => {} });
    expect(createRuntime({ board: { schema: TestBoard, initial }, agents: [a, b] }).warnings).toEqual([
      'a and b may both write out.x',
    ]);
  });
});

describe('deterministic mode', () => {
  it('replays identically with the same seed, and runs simulated latency on a virtual clock', async () => {
    // 2, 4, 6 and 8 s of work, two at a time; seed 42 pairs them so that the run takes 10 s of virtual time.
    const VIRTUAL_MAKESPAN = 10_000;
    const runOnce = async (seed: number) => {
      const clock = new VirtualClock();
      const agents = ['a', 'b', 'c', 'd'].map((id, i) =>
        slow({
          id,
          watches: [['go'], ['out']],
          writes: [['out', id]],
          ms: 2_000 * (i + 1),
          when: (b) => b.go && !b.out.has(id),
          write: (d, e) => void d.out.set(id, `v${e.version}`),
        }),
      );
      const runtime = createRuntime({
        board: { schema: TestBoard, initial },
        agents,
        clock,
        deterministic: { seed },
        limits: { concurrency: 2 },
      });
      // Every real timer set while the run goes: simulated latency must set none of its length.
      const timers = vi.spyOn(globalThis, 'setTimeout');
      try {
        const handle = await runtime.start({ go: true });
        const log: LogEvent[] = [];
        handle.board.subscribe({ from: 1 }, (e) => log.push(e));
        const result = await handle.result;
        return {
          result,
          log: log.map(({ time: _t, ...rest }) => rest),
          virtual: clock.now(),
          realDelays: timers.mock.calls.map(([, ms]) => ms ?? 0),
        };
      } finally {
        timers.mockRestore();
      }
    };
    const first = await runOnce(42);
    const again = await runOnce(42);
    expect(again.log).toEqual(first.log);
    expect(first.result.outcome).toBe('quiescent');
    // Two at a time, in the seeded order: the virtual makespan is exact, and 10 s of simulated work take
    // no real waiting: no real timer as long as the shortest simulated latency (2 s) was set.
    expect(first.virtual).toBe(VIRTUAL_MAKESPAN);
    expect(first.realDelays.filter((ms) => ms >= 2_000)).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { agentActions, type BoardEvent, defineAgent } from '../../src/actors/index.js';
import type { LogEvent } from '../../src/blackboard/index.js';
import { createRuntime } from '../../src/runtime/index.js';
import { TOPICS } from '../../src/scheduler/index.js';
import { initial, reactor, records, slow, type TB, TestBoard } from '../support/team.js';

type Activation = { phase: string; agentId: string; reason?: string; detail?: string; depth?: number };

async function run(
  config: Omit<Parameters<typeof createRuntime<typeof TestBoard>>[0], 'board'>,
  input: Partial<TB> = { go: true },
) {
  const runtime = createRuntime({
    board: { schema: TestBoard, initial },
    deterministic: { seed: 3 },
    ...config,
  });
  const handle = await runtime.start(input);
  const log: LogEvent[] = [];
  handle.board.subscribe({ from: 1 }, (e) => log.push(e));
  const result = await handle.result;
  return { result, log, activations: records<Activation>(log, TOPICS.activation) };
}

/** A machine that loops forever through the board: every change to n makes it change n again. */
const loop = reactor({
  id: 'loop',
  watches: [['n']],
  writes: [['n']],
  when: () => true,
  write: (d) => {
    d.n += 1;
  },
});

describe('limits', () => {
  it('ends a machine that loops forever through the board with depth_exceeded', async () => {
    const { result, activations } = await run({ agents: [loop] });
    expect(result.outcome).toBe('depth_exceeded');
    expect(result.board.n).toBe(5);
    const refused = activations.filter((a) => a.phase === 'refused');
    expect(refused).toEqual([
      expect.objectContaining({ agentId: 'loop', reason: 'depth', detail: 'depth 6 exceeds the limit of 5' }),
    ]);
  });

  it('respects a custom depth limit', async () => {
    const { result } = await run({ agents: [loop], limits: { depth: 9 } });
    expect(result).toMatchObject({ outcome: 'depth_exceeded', board: { n: 9 } });
  });

  it("opens an agent's breaker when its budget is spent, and refuses it afterwards", async () => {
    const spender = slow({
      id: 'spender',
      watches: [['n']],
      writes: [['n']],
      budget: { tokens: 250 },
      ms: 10,
      usage: { tokens: 100, cost: 0.01 },
      when: () => true,
      write: (d) => {
        d.n += 1;
      },
    });
    const { result, log, activations } = await run({ agents: [spender], limits: { depth: 50 } });
    expect(result.outcome).toBe('budget_exceeded');
    expect(result.board.n).toBe(3);
    expect(result.usage.byAgent.spender).toMatchObject({ tokens: 300 });
    expect(records(log, TOPICS.breaker)).toEqual([expect.objectContaining({ agentId: 'spender' })]);
    expect(activations.filter((a) => a.phase === 'refused')).toEqual([
      expect.objectContaining({ reason: 'breaker' }),
    ]);
  });

  it('stops the run at once when the run budget is spent', async () => {
    const spender = slow({
      id: 'spender',
      watches: [['n']],
      writes: [['n']],
      ms: 10,
      usage: { tokens: 100, cost: 0.5 },
      when: () => true,
      write: (d) => {
        d.n += 1;
      },
    });
    const { result } = await run({ agents: [spender], limits: { depth: 50, budget: { cost: 1.2 } } });
    expect(result.outcome).toBe('budget_exceeded');
    expect(result.reason).toMatch(/budget/);
    expect(result.usage.cost).toBeCloseTo(1.5);
    expect(result.board.n).toBe(2);
  });

  it('defers candidates beyond the concurrency limits and records why', async () => {
    const workers = ['a', 'b', 'c'].map((id) =>
      slow({
        id,
        watches: [['go']],
        writes: [['out', id]],
        ms: 20,
        when: (b) => b.go && !b.out.has(id),
        write: (d) => void d.out.set(id, 'done'),
      }),
    );
    const { result, activations } = await run({ agents: workers, limits: { concurrency: 2 } });
    expect(result.outcome).toBe('quiescent');
    expect(result.board.out.size).toBe(3);
    expect(activations.filter((a) => a.phase === 'refused')).toEqual([
      expect.objectContaining({ reason: 'concurrency', detail: expect.stringContaining('run limit 2') }),
    ]);
  });

  it('refuses a delegation that would close a cycle, and records the cycle', async () => {
    const { delegate, commit } = agentActions<TB>();
    // a delegates to b, b to c, and c back to a: the last edge would close a → b → c → a.
    const make = (id: string, to: string) =>
      defineAgent<TB>({
        id,
        watches: id === 'a' ? [['go']] : [],
        writes: [['out', id]],
        machine: setup({ types: { events: {} as BoardEvent<TB> } }).createMachine({
          initial: 'idle',
          states: {
            idle: {
              on: {
                board: {
                  guard: ({ event }) =>
                    id === 'a' ? event.board.go && !event.board.out.has('a') : event.delegation !== undefined,
                  target: 'working',
                },
              },
            },
            working: {
              entry: [commit(() => (d) => void d.out.set(id, 'here')), delegate(to, () => ({ from: id }))],
              always: 'idle',
            },
          },
        }),
      });
    const { result, log, activations } = await run({
      agents: [make('a', 'b'), make('b', 'c'), make('c', 'a')],
      limits: { depth: 10 },
    });
    expect(result.outcome).toBe('quiescent');
    expect(activations.filter((a) => a.phase === 'refused')).toEqual([
      expect.objectContaining({
        agentId: 'a',
        reason: 'cycle',
        detail: 'delegation c → a → b → c would close a cycle',
      }),
    ]);
    const delegations = records<{ from: string; to: string; accepted: boolean; cycle?: string[] }>(
      log,
      TOPICS.delegation,
    );
    expect(delegations.map((d) => `${d.from}->${d.to}:${d.accepted}`)).toEqual([
      'a->b:true',
      'b->c:true',
      'c->a:false',
    ]);
    expect(delegations[2]!.cycle).toEqual(['c', 'a', 'b', 'c']);
    expect([...result.board.out.keys()].sort()).toEqual(['a', 'b', 'c']);
  });
});

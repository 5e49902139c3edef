import { produce } from 'immer';
import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { defineAgent, findSharedWrites, forbiddenWrite, statusPool } from '../../src/actors/index.js';
import { Keyed } from '../../src/blackboard/index.js';

const machine = setup({}).createMachine({ initial: 'idle', states: { idle: {} } });

describe('defineAgent', () => {
  it('fills the defaults: singleton, priority 0, concurrency 1, two attempts', () => {
    const a = defineAgent({ id: 'a', machine, watches: [['x']], writes: [['y']] });
    expect(a).toMatchObject({
      kind: 'singleton',
      priority: 0,
      concurrency: 1,
      retry: { attempts: 2, backoffMs: 0 },
    });
    const p = defineAgent({
      id: 'p',
      machine,
      watches: [],
      writes: [],
      pool: { items: () => [], claim: () => true },
    });
    expect(p).toMatchObject({ kind: 'pooled', concurrency: 4 });
  });

  it.each([
    ['an empty id', { id: '' }, /agent id/],
    ['an id with spaces', { id: 'my agent' }, /agent id/],
    ['no machine', { machine: {} }, /XState machine/],
    ['watches that are not paths', { watches: ['tasks'] }, /watches must be a list of paths/],
    ['writes with an object', { writes: [[{}]] }, /writes must be a list of paths/],
    ['concurrency on a singleton', { concurrency: 2 }, /singleton agent runs one activation at a time/],
    ['zero attempts', { retry: { attempts: 0 } }, /retry.attempts/],
  ])('throws for %s', (_name, over, message) => {
    expect(() => defineAgent({ id: 'a', machine, watches: [], writes: [], ...(over as object) })).toThrow(
      message,
    );
  });
});

describe('write permissions', () => {
  it('allows paths at or below a declared write, and names the first one outside', () => {
    const agent = { writes: [['tasks'], ['report', 'body']] };
    expect(
      forbiddenWrite(agent, [
        ['tasks', 't1', 'status'],
        ['report', 'body'],
      ]),
    ).toBeUndefined();
    expect(forbiddenWrite(agent, [['tasks', 't1'], ['report']])).toEqual(['report']);
    expect(forbiddenWrite(agent, [['goal']])).toEqual(['goal']);
  });

  it('finds agents that may write the same paths', () => {
    const shared = findSharedWrites([
      { id: 'planner', writes: [['tasks']] },
      { id: 'worker', writes: [['tasks', 't1']] },
      { id: 'writer', writes: [['report']] },
      { id: 'editor', writes: [['report']] },
      { id: 'alone', writes: [['notes']] },
    ]);
    expect(shared.map((s) => `${s.agents.join('+')}@${s.path.join('.')}`).sort()).toEqual(
      ['planner+worker@tasks.t1', 'writer+editor@report'].sort(),
    );
  });
});

describe('statusPool', () => {
  type T = { status: string; kind: string };
  const board = {
    tasks: Keyed.from<T>({
      a: { status: 'open', kind: 'code' },
      b: { status: 'done', kind: 'code' },
      c: { status: 'open', kind: 'research' },
    }),
  };
  const pool = statusPool((b: typeof board) => b.tasks, { filter: (t) => t.kind === 'code' });

  it('offers the open items that pass the filter', () => {
    expect([...pool.items(board)]).toEqual(['a']);
  });

  it('claims an open item, and refuses one that is no longer open', () => {
    let claimed: boolean | undefined;
    const next = produce(board, (d) => {
      claimed = pool.claim(d as never, 'a');
    });
    expect(claimed).toBe(true);
    expect(next.tasks.get('a')?.status).toBe('claimed');
    produce(board, (d) => {
      claimed = pool.claim(d as never, 'b');
    });
    expect(claimed).toBe(false);
  });
});

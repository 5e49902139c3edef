import { describe, expect, it } from 'vitest';
import {
  permutation,
  rankCandidates,
  seededRandom,
  TaskGraph,
  VirtualClock,
  WatchIndex,
} from '../../src/scheduler/index.js';

describe('WatchIndex', () => {
  const index = new WatchIndex();
  index.add('all', [[]]);
  index.add('tasks', [['tasks']]);
  index.add('t1status', [['tasks', 't1', 'status']]);
  index.add('goal', [['goal'], ['meta', 'title']]);

  it.each([
    [
      ['tasks', 't1', 'status'],
      ['all', 'tasks', 't1status'],
    ],
    [
      ['tasks', 't2'],
      ['all', 'tasks'],
    ],
    [['tasks'], ['all', 'tasks', 't1status']],
    [['meta'], ['all', 'goal']],
    [['meta', 'author'], ['all']],
    [[], ['all', 'tasks', 't1status', 'goal']],
  ])('a write to %j concerns %j', (changed, expected) => {
    expect([...index.match([changed])].sort()).toEqual([...expected].sort());
  });
});

describe('rankCandidates', () => {
  it('orders by priority, then least recently activated, then registration order, then key', () => {
    const ranked = rankCandidates([
      { agentId: 'a', priority: 0, lastActivated: 5, order: 0 },
      { agentId: 'b', priority: 1, lastActivated: 9, order: 1 },
      { agentId: 'c', priority: 0, lastActivated: -1, order: 2 },
      { agentId: 'd', priority: 0, lastActivated: 5, order: 3, key: 'y' },
      { agentId: 'd', priority: 0, lastActivated: 5, order: 3, key: 'x' },
    ]);
    expect(ranked.map((r) => `${r.agentId}${r.key ?? ''}`)).toEqual(['b', 'c', 'a', 'dx', 'dy']);
  });

  it('draws the same permutation from the same seed, and another from another seed', () => {
    expect(permutation(10, seededRandom(7))).toEqual(permutation(10, seededRandom(7)));
    expect(permutation(10, seededRandom(7))).not.toEqual(permutation(10, seededRandom(8)));
    expect([...permutation(10, seededRandom(3))].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
  });
});

describe('TaskGraph', () => {
  it('refuses a delegation that would close a cycle, naming it, and forgets closed delegations', () => {
    const g = new TaskGraph();
    g.add('a', 'b');
    g.add('b', 'c');
    expect(g.cycleIf('c', 'a')).toEqual(['c', 'a', 'b', 'c']);
    expect(g.cycleIf('a', 'a')).toEqual(['a', 'a']);
    expect(g.cycleIf('a', 'c')).toBeUndefined();
    g.remove('b', 'c');
    expect(g.cycleIf('c', 'a')).toBeUndefined();
  });
});

describe('VirtualClock', () => {
  it('fires timers in time order only when advanced, and sleeps abort', async () => {
    const clock = new VirtualClock(100);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b'), 20);
    clock.setTimeout(() => fired.push('a'), 10);
    const id = clock.setTimeout(() => fired.push('never'), 15);
    clock.clearTimeout(id);
    clock.setTimeout(() => fired.push('a2'), 10);
    expect(fired).toEqual([]);
    expect(clock.advanceToNext()).toBe(true);
    expect(fired).toEqual(['a', 'a2']);
    expect(clock.now()).toBe(110);
    clock.advanceTo(500);
    expect(fired).toEqual(['a', 'a2', 'b']);
    expect(clock.advanceToNext()).toBe(false);
    const ctl = new AbortController();
    const sleeping = clock.sleep(50, ctl.signal);
    ctl.abort(new Error('stop'));
    await expect(sleeping).rejects.toThrow('stop');
    expect(clock.pending).toBe(0);
  });
});

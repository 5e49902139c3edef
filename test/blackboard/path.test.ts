import { describe, expect, it } from 'vitest';
import { coverPaths, PathIndex, pathsOverlap } from '../../src/blackboard/index.js';
import { formatPath, type Path } from '../../src/index.js';

describe('the path conflict rule', () => {
  const table: Array<[string, Path, Path, boolean]> = [
    ['the same path', ['tasks', 't1'], ['tasks', 't1'], true],
    ['an ancestor', ['tasks'], ['tasks', 't1', 'status'], true],
    ['a descendant', ['tasks', 't1', 'status'], ['tasks', 't1'], true],
    ['the root and anything', [], ['a', 'b'], true],
    ['siblings', ['tasks', 't1'], ['tasks', 't2'], false],
    ['cousins', ['tasks', 't1', 'status'], ['tasks', 't2', 'status'], false],
    ['sibling fields of one entry', ['tasks', 't1', 'status'], ['tasks', 't1', 'owner'], false],
    ['different array indices', ['items', 0], ['items', 1], false],
    ['an array and one of its elements', ['items'], ['items', 3, 'name'], true],
    ['an index and the same key as a string', ['items', 1], ['items', '1'], true],
    ['a key that is a prefix of another key', ['task'], ['tasks'], false],
  ];
  it.each(table)('%s: overlap is %s', (_name, a, b, expected) => {
    expect(pathsOverlap(a, b)).toBe(expected);
    expect(pathsOverlap(b, a)).toBe(expected);
  });

  it.each(table)('PathIndex agrees with the rule for %s', (_name, a, b, expected) => {
    const index = new PathIndex();
    index.record([a], 1);
    expect(index.check([b], 0, 1) !== undefined).toBe(expected);
    expect(index.check([b], 1, 1)).toBeUndefined();
  });

  it('names the written path and its version for a descendant conflict', () => {
    const index = new PathIndex();
    index.record([['tasks', 't1', 'owner']], 3);
    index.record([['tasks', 't2']], 4);
    const conflict = index.check([['tasks', 't1'], ['goal']], 2, 4);
    expect(conflict?.conflicts).toEqual([
      { path: ['tasks', 't1'], written: ['tasks', 't1', 'owner'], version: 3 },
    ]);
    expect(conflict?.message).toContain('tasks.t1');
  });

  it('answers base_too_old below the pruned horizon, and the same as before above it', () => {
    const index = new PathIndex();
    index.record([['a']], 1);
    index.record([['b']], 5);
    index.prune(3);
    expect(index.check([['z']], 2, 5)).toMatchObject({ code: 'conflict', reason: 'base_too_old' });
    expect(index.check([['b']], 3, 5)?.conflicts).toHaveLength(1);
    expect(index.check([['a']], 3, 5)).toBeUndefined();
  });
});

describe('paths', () => {
  it('formats paths for people', () => {
    expect(formatPath([])).toBe('<root>');
    expect(formatPath(['tasks', 't1', 'status'])).toBe('tasks.t1.status');
    expect(formatPath(['items', 2, 'a b'])).toBe('items[2]["a b"]');
  });

  it('covers a list of paths with its minimal set', () => {
    expect(coverPaths([['a', 'b'], ['a'], ['c', 1], ['c', 1, 'x'], ['a', 'b', 'c'], ['d']])).toEqual([
      ['a'],
      ['c', 1],
      ['d'],
    ]);
    expect(coverPaths([['x'], []])).toEqual([[]]);
    expect(coverPaths([])).toEqual([]);
  });
});

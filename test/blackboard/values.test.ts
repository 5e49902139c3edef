import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Keyed } from '../../src/blackboard/index.js';
import { findUnserializable } from '../../src/blackboard/values.js';

describe('findUnserializable: what cannot live on the board, and where', () => {
  const sparse: unknown[] = [1];
  sparse[2] = 3;
  const circular: Record<string, unknown> = { a: { b: [] } };
  ((circular.a as Record<string, unknown>).b as unknown[]).push(circular);
  const shared = { n: 1 };
  it.each([
    ['undefined deep inside', { a: { b: [1, { c: undefined }] } }, ['a', 'b', 1, 'c'], 'undefined'],
    ['NaN', { n: Number.NaN }, ['n'], 'NaN'],
    ['Infinity in an array', [1, Number.POSITIVE_INFINITY], [1], 'Infinity'],
    ['a hole in an array', { xs: sparse }, ['xs', 1], 'a hole in an array'],
    ['a circular reference', circular, ['a', 'b', 0], 'a circular reference'],
    ['a class instance', { when: new Date(0) }, ['when'], 'an instance of Date'],
    ['a function', { f: () => 1 }, ['f'], 'a function'],
    ['a bigint', { big: 1n }, ['big'], 'a bigint'],
    ['a symbol key', { s: { [Symbol('k')]: 1 } }, ['s'], 'a symbol key'],
    [
      'a bad entry of a Keyed collection',
      { tasks: Keyed.from({ t1: { due: undefined } }) },
      ['tasks', 't1', 'due'],
      'undefined',
    ],
  ])('%s', (_what, value, path, found) => {
    expect(findUnserializable(value)).toEqual({ path, found });
  });

  it('refuses a value nested deeper than 1,000 levels with a finding, not a stack overflow', () => {
    const deep = (levels: number) => {
      let v: unknown = 'leaf';
      for (let i = 0; i < levels; i++) v = i % 2 ? [v] : { v };
      return v;
    };
    // The board's default is 256 levels (limits.maxDepth); 1,000 is checked the same way.
    const bounds = { maxDepth: 1_000 };
    expect(findUnserializable(deep(999), [], bounds)).toBe(undefined);
    const found = findUnserializable(deep(50_000), [], bounds);
    expect(found?.found).toBe('nesting deeper than 1000 levels');
    expect(found?.path).toHaveLength(1_000);
  });

  it('reports paths below the place it is asked about', () => {
    expect(findUnserializable({ x: undefined }, ['meta', 0])).toEqual({
      path: ['meta', 0, 'x'],
      found: 'undefined',
    });
  });

  it('accepts one object reached twice (shared, not circular), null-prototype objects and Keyed values', () => {
    const bare = Object.assign(Object.create(null) as object, { a: 1 });
    expect(
      findUnserializable({ left: shared, right: [shared, shared], bare, k: Keyed.from({ a: shared }) }),
    ).toBe(undefined);
  });

  it('accepts every JSON value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        // fast-check's JSON values include -0, which JSON turns into 0: still a finite number.
        expect(findUnserializable(v)).toBe(undefined);
      }),
      { numRuns: 500 },
    );
  });
});

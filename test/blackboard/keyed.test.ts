import { produce } from 'immer';
import { describe, expect, it } from 'vitest';
import { Keyed } from '../../src/index.js';

describe('Keyed collections', () => {
  it('reads like a Map', () => {
    const k = Keyed.from({ a: 1, b: 2 });
    expect(k.get('a')).toBe(1);
    expect(k.get('zz')).toBeUndefined();
    expect(k.has('b')).toBe(true);
    expect(k.size).toBe(2);
    expect(new Set(k.keys())).toEqual(new Set(['a', 'b']));
    expect([...k].sort()).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
  });

  it('treats keys such as __proto__ and constructor as plain entries', () => {
    const k = Keyed.from([
      ['__proto__', 1],
      ['constructor', 2],
    ]);
    expect(k.get('__proto__')).toBe(1);
    expect(k.get('constructor')).toBe(2);
    expect(Keyed.empty<number>().has('toString')).toBe(false);
  });

  it('shares every untouched bucket between versions', () => {
    const big = Keyed.from(Array.from({ length: 10_000 }, (_, i) => [`id${i}`, { n: i }] as const));
    const next = big.with('id5', { n: -1 });
    expect(next.get('id5')).toEqual({ n: -1 });
    expect(big.get('id5')).toEqual({ n: 5 });
    const changed = next.b.filter((bucket, i) => bucket !== big.b[i]);
    expect(changed).toHaveLength(1);
    expect(next.get('id6')).toBe(big.get('id6'));
    expect(next.without('id5').has('id5')).toBe(false);
    expect(next.without('nope')).toBe(next);
  });

  it('is drafted by immer: a change copies one bucket and the rest is shared', () => {
    const base = Keyed.from(
      Array.from({ length: 1000 }, (_, i): [string, { v: number }] => [`k${i}`, { v: i }]),
    );
    const next = produce(base, (d) => {
      d.get('k1')!.v = 100;
      d.set('new', { v: 0 });
      d.delete('k2');
    });
    expect(next).toBeInstanceOf(Keyed);
    expect(next.get('k1')?.v).toBe(100);
    expect(next.get('new')).toEqual({ v: 0 });
    expect(next.has('k2')).toBe(false);
    expect(base.get('k1')?.v).toBe(1);
    const copied = next.b.filter((bucket, i) => bucket !== base.b[i]).length;
    expect(copied).toBeLessThanOrEqual(3);
  });

  it('serialises to a plain object with sorted keys', () => {
    expect(JSON.stringify(Keyed.from({ b: 1, a: { x: [1] } }))).toBe('{"a":{"x":[1]},"b":1}');
  });
});

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBlackboard, keyed } from '../../src/index.js';

describe('validation follows the size of the change', () => {
  it('validates one entry, not the collection, when one entry of 10,000 changes', async () => {
    let checked = 0;
    const Entry = z.object({ n: z.number() }).superRefine(() => {
      checked += 1;
    });
    const initial = {
      items: Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, { n: i }])),
    };
    const board = await createBlackboard({ schema: z.object({ items: keyed(Entry) }), initial });
    expect(checked).toBe(10_000); // the initial state is validated whole, once
    checked = 0;
    await board.transact(
      (d) => {
        d.items.get('k5')!.n = -5;
      },
      { author: 'w' },
    );
    expect(checked).toBe(1);
    await board.transact(
      (d) => {
        d.items.set('new', { n: 1 });
        d.items.delete('k9');
      },
      { author: 'w' },
    );
    expect(checked).toBe(2);
  });

  it('validates only the changed field of a large plain object', async () => {
    let checked = 0;
    const counted = z.number().superRefine(() => {
      checked += 1;
    });
    const shape = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`f${i}`, counted]));
    const board = await createBlackboard({
      schema: z.object(shape),
      initial: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`f${i}`, i])),
    });
    checked = 0;
    const r = await board.commit({
      baseVersion: 0,
      reads: [],
      patches: [{ op: 'replace', path: ['f7'], value: 70 }],
      author: 'w',
    });
    expect(r.ok).toBe(true);
    expect(checked).toBe(1);
  });
});

describe('regions that can only be checked whole', () => {
  const Range = z
    .object({ lo: z.number(), hi: z.number() })
    .refine((r) => r.lo <= r.hi, { message: 'lo must not exceed hi' });
  const Schema = z.object({ range: Range, other: z.number() });

  it('validates a refined object whole and rejects a change that breaks the refinement', async () => {
    const board = await createBlackboard({ schema: Schema, initial: { range: { lo: 1, hi: 5 }, other: 0 } });
    const r = await board.commit({
      baseVersion: 0,
      reads: [],
      patches: [{ op: 'replace', path: ['range', 'lo'], value: 9 }],
      author: 'w',
    });
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'schema', issues: [{ path: ['range'], message: 'lo must not exceed hi' }] },
    });
  });

  it('makes the refined region a read, so concurrent sibling writes that together break it conflict', async () => {
    const board = await createBlackboard({ schema: Schema, initial: { range: { lo: 1, hi: 5 }, other: 0 } });
    // Each alone keeps lo <= hi; together (lo = 4, hi = 2) they would not.
    const a = await board.commit({
      baseVersion: 0,
      reads: [],
      patches: [{ op: 'replace', path: ['range', 'lo'], value: 4 }],
      author: 'a',
    });
    const b = await board.commit({
      baseVersion: 0,
      reads: [],
      patches: [{ op: 'replace', path: ['range', 'hi'], value: 2 }],
      author: 'b',
    });
    expect(a.ok && a.event.reads).toEqual([['range']]);
    expect(b).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(board.state.range).toEqual({ lo: 4, hi: 5 });
  });

  it('validates through unions as a whole', async () => {
    const S = z.object({
      shape: z.union([
        z.object({ kind: z.literal('circle'), r: z.number() }),
        z.object({ kind: z.literal('sq'), side: z.number() }),
      ]),
    });
    const board = await createBlackboard({ schema: S, initial: { shape: { kind: 'circle', r: 1 } } });
    const bad = await board.commit({
      baseVersion: 0,
      reads: [],
      patches: [{ op: 'replace', path: ['shape', 'kind'], value: 'sq' }],
      author: 'w',
    });
    expect(bad).toMatchObject({ ok: false, error: { code: 'schema' } });
    const good = await board.commit({
      baseVersion: 0,
      reads: [],
      patches: [{ op: 'replace', path: ['shape'], value: { kind: 'sq', side: 2 } }],
      author: 'w',
    });
    expect(good.ok).toBe(true);
  });

  it('checks record keys against the key schema', async () => {
    const S = z.object({ scores: z.record(z.enum(['a', 'b']), z.number()) });
    const board = await createBlackboard({ schema: S, initial: { scores: { a: 1, b: 2 } } });
    const bad = await board.commit({
      baseVersion: 0,
      reads: [],
      patches: [{ op: 'add', path: ['scores', 'c'], value: 3 }],
      author: 'w',
    });
    expect(bad).toMatchObject({
      ok: false,
      error: { code: 'schema', issues: [{ path: ['scores', 'c'], code: 'unknown_path' }] },
    });
  });

  it('allows removing an optional key and array elements', async () => {
    const S = z.object({ note: z.string().optional(), xs: z.array(z.number()) });
    const board = await createBlackboard({ schema: S, initial: { note: 'n', xs: [1, 2, 3] } });
    const r = await board.commit({
      baseVersion: 0,
      reads: [],
      patches: [
        { op: 'remove', path: ['note'] },
        { op: 'remove', path: ['xs', 1] },
      ],
      author: 'w',
    });
    expect(r.ok).toBe(true);
    expect(board.state).toEqual({ xs: [1, 3] });
  });
});

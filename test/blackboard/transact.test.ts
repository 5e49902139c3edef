import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBlackboard, keyed, MemoryStore } from '../../src/index.js';

const Schema = z.object({
  a: z.number(),
  b: z.number(),
  tasks: keyed(z.object({ status: z.string(), owner: z.string().optional() })),
  list: z.array(z.string()),
});
const initial = { a: 1, b: 2, tasks: { t1: { status: 'open' }, t2: { status: 'open' } }, list: [] };
const board = () => createBlackboard({ schema: Schema, initial, store: new MemoryStore() });

describe('transact', () => {
  it('returns what the recipe returns and the new version', async () => {
    const bb = await board();
    const r = await bb.transact(
      (d) => {
        d.a += 10;
        return d.a;
      },
      { author: 'x' },
    );
    expect(r).toMatchObject({ ok: true, value: 11, version: 1, attempts: 1 });
  });

  it('does not commit a recipe that changes nothing', async () => {
    const bb = await board();
    const r = await bb.transact((d) => d.a + d.b, { author: 'x' });
    expect(r).toMatchObject({ ok: true, value: 3, version: 0, event: undefined });
    expect(bb.seq).toBe(0);
  });

  it('records what the recipe read, as logical paths', async () => {
    const bb = await board();
    const r = await bb.transact(
      (d) => {
        d.b = d.a + (d.tasks.get('t1')?.status.length ?? 0);
        d.tasks.get('t2')!.owner = 'me';
      },
      { author: 'x' },
    );
    expect(r.ok && r.event?.reads).toEqual([['a'], ['tasks', 't1', 'status']]);
    expect(r.ok && r.event?.writes).toEqual(expect.arrayContaining([['b'], ['tasks', 't2', 'owner']]));
  });

  it('prevents write skew: b computed from a conflicts with a concurrent write to a', async () => {
    const bb = await board();
    // The write to a is queued first; the copier takes its snapshot now (a = 1) and commits after it.
    const writeA = bb.commit({
      baseVersion: 0,
      reads: [],
      patches: [{ op: 'replace', path: ['a'], value: 100 }],
      author: 'w',
    });
    const copy = await bb.transact(
      (d) => {
        d.b = d.a * 3;
      },
      { author: 'copier', maxAttempts: 1 },
    );
    expect((await writeA).ok).toBe(true);
    expect(copy).toMatchObject({
      ok: false,
      error: { code: 'too_many_conflicts', last: { conflicts: [{ path: ['a'] }] } },
    });
    expect(bb.state).toMatchObject({ a: 100, b: 2 });
    const retried = await bb.transact(
      (d) => {
        d.b = d.a * 3;
      },
      { author: 'copier' },
    );
    expect(retried.ok).toBe(true);
    expect(bb.state.b).toBe(300);
  });

  it('retries on conflict with fresh state, and reports too_many_conflicts when attempts run out', async () => {
    const bb = await board();
    const slow = async (attempts: number) => {
      const base = bb.snapshot();
      // Another writer lands between this reader's snapshot and its commit, every time.
      await bb.commit({
        baseVersion: base.version,
        reads: [],
        patches: [{ op: 'replace', path: ['a'], value: base.state.a + 1 }],
        author: 'rival',
      });
      return bb
        .commit({
          baseVersion: base.version,
          reads: [['a']],
          patches: [{ op: 'replace', path: ['b'], value: 0 }],
          author: 'late',
        })
        .then((r) => ({ r, attempts }));
    };
    const { r } = await slow(1);
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'conflict', conflicts: [{ path: ['a'], written: ['a'] }] },
    });

    let calls = 0;
    const spoiled = await bb.transact(
      (d) => {
        calls += 1;
        // Spoil this attempt: a rival commit is queued ahead of ours, on the key we read.
        void bb.commit({
          baseVersion: bb.version,
          reads: [],
          patches: [{ op: 'replace', path: ['a'], value: calls * 1000 }],
          author: 'rival',
        });
        d.b = d.a + 1;
      },
      { author: 'victim', maxAttempts: 3 },
    );
    expect(calls).toBe(3);
    expect(spoiled).toMatchObject({
      ok: false,
      attempts: 3,
      error: { code: 'too_many_conflicts', last: { code: 'conflict' } },
    });
  });

  it('lets writers of different entries of a keyed collection commit from the same base', async () => {
    const bb = await board();
    const results = await Promise.all(
      ['t1', 't2'].map((id) =>
        bb.transact(
          (d) => {
            d.tasks.get(id)!.owner = id;
          },
          { author: id, maxAttempts: 1 },
        ),
      ),
    );
    expect(results.every((r) => r.ok && r.attempts === 1)).toBe(true);
  });

  it('lets inserters of different new keys commit from the same base', async () => {
    const bb = await board();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        bb.transact(
          (d) => {
            d.tasks.set(`new${i}`, { status: 'open' });
          },
          { author: `w${i}`, maxAttempts: 1 },
        ),
      ),
    );
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(bb.state.tasks.size).toBe(22);
  });

  it('makes an enumeration of a collection conflict with any concurrent insert into it', async () => {
    const bb = await board();
    const count = bb.transact(
      (d) => {
        d.a = d.tasks.size;
      },
      { author: 'counter', maxAttempts: 1 },
    );
    const snap = bb.snapshot();
    const insert = bb.commit({
      baseVersion: snap.version,
      reads: [],
      patches: [{ op: 'add', path: ['tasks', 't9'], value: { status: 'open' } }],
      author: 'i',
    });
    const [c, i] = await Promise.all([count, insert]);
    expect(c.ok && i.ok).toBe(true);
    // The counter committed first (it was queued first); the insert was based on version 0 and touches only tasks.t9,
    // so it is accepted; a stale *count* is what must never be accepted:
    const recount = await bb.commit({
      baseVersion: 0,
      reads: [['tasks']],
      patches: [{ op: 'replace', path: ['a'], value: 2 }],
      author: 'stale',
    });
    expect(recount).toMatchObject({ ok: false, error: { code: 'conflict' } });
  });

  it('passes schema rejections through without retrying', async () => {
    const bb = await board();
    let calls = 0;
    const r = await bb.transact(
      (d) => {
        calls += 1;
        (d as { a: unknown }).a = 'not a number';
      },
      { author: 'x' },
    );
    expect(calls).toBe(1);
    expect(r).toMatchObject({ ok: false, error: { code: 'schema' } });
  });
});

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { prepareCommit } from '../../src/blackboard/index.js';
import { createBlackboard, keyed, MemoryStore } from '../../src/index.js';

const Schema = z.object({
  a: z.number(),
  b: z.number(),
  tasks: keyed(z.object({ status: z.string(), owner: z.string().optional() })),
  list: z.array(z.string()),
});
const initial = { a: 1, b: 2, tasks: { t1: { status: 'open' }, t2: { status: 'open' } }, list: [] };
/** Two boards on one store and run, as two processes would be; the first has already set `a`. */
async function twoWritersAfterOneSetsA(a: number) {
  const store = new MemoryStore();
  const one = await createBlackboard({ schema: Schema, initial, store, runId: 'shared' });
  const two = await createBlackboard({ schema: Schema, initial, store, runId: 'shared' });
  await one.commit({
    baseVersion: 0,
    reads: [],
    patches: [{ op: 'replace', path: ['a'], value: a }],
    author: 'one',
  });
  return { one, two };
}

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

  it('prevents write skew: a commit prepared from a snapshot that read a conflicts with a later write to a', async () => {
    const bb = await board();
    const seen = bb.snapshot(); // an agent reads the board, then works for a while
    await bb.commit({
      baseVersion: 0,
      reads: [],
      patches: [{ op: 'replace', path: ['a'], value: 100 }],
      author: 'w',
    });
    const { commit } = prepareCommit(
      seen,
      (d) => {
        d.b = d.a * 3;
      },
      { author: 'copier' },
    );
    expect(commit?.reads).toEqual([['a']]);
    const r = await bb.commit(commit!);
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'conflict', conflicts: [{ path: ['a'], written: ['a'], version: 1 }] },
    });
    expect(bb.state).toMatchObject({ a: 100, b: 2 });
  });

  it("runs in turn with the board's other commits, so transactions in one process never conflict", async () => {
    const bb = await board();
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        bb.transact(
          (d) => {
            d.b = d.a + d.b;
            d.a = i;
          },
          { author: `t${i}`, maxAttempts: 1 },
        ),
      ),
    );
    expect(results.every((r) => r.ok && r.attempts === 1)).toBe(true);
    expect(bb.version).toBe(30);
  });

  it('retries with fresh state when another writer of the same run (another process) got there first', async () => {
    const { one, two } = await twoWritersAfterOneSetsA(50);
    let calls = 0;
    const r = await two.transact(
      (d) => {
        calls += 1;
        d.b = d.a + 100;
      },
      { author: 'two' },
    );
    expect(calls).toBe(2); // first on the stale a = 1, then on a = 50 after catching up
    expect(r).toMatchObject({ ok: true, attempts: 2, version: 2 });
    expect(two.state).toMatchObject({ a: 50, b: 150 });

    await one.commit({
      baseVersion: 1,
      reads: [],
      patches: [{ op: 'replace', path: ['a'], value: 60 }],
      author: 'one',
    });
    const giveUp = await two.transact(
      (d) => {
        d.b = d.a * 2;
      },
      { author: 'two', maxAttempts: 1 },
    );
    expect(giveUp).toMatchObject({
      ok: false,
      attempts: 1,
      error: { code: 'too_many_conflicts', last: { code: 'conflict' } },
    });
  });

  it('applies what other writers appended before its own commit, in log order', async () => {
    const { one, two } = await twoWritersAfterOneSetsA(7);
    await one.publish('note', 'hi', { author: 'one' });
    const seen: number[] = [];
    two.subscribe({}, (e) => seen.push(e.seq));
    const r = await two.commit({
      baseVersion: 0,
      reads: [],
      patches: [{ op: 'replace', path: ['b'], value: 9 }],
      author: 'two',
    });
    expect(r.ok && r.event.seq).toBe(3);
    expect(two.state).toMatchObject({ a: 7, b: 9 });
    expect(seen).toEqual([1, 2, 3]);
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
    // It writes `b`, which nobody else wrote: only its read of the whole collection can make it conflict.
    const recount = await bb.commit({
      baseVersion: 0,
      reads: [['tasks']],
      patches: [{ op: 'replace', path: ['b'], value: 2 }],
      author: 'stale',
    });
    expect(recount).toMatchObject({
      ok: false,
      error: { code: 'conflict', conflicts: [{ path: ['tasks'], written: ['tasks', 't9'] }] },
    });
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

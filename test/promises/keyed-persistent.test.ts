/**
 * A committed board never changes under its readers: a collection made from it with `with`/`without`
 * shares its leaves, so it is frozen too, and `set` on it throws instead of writing into the board's entries.
 */
import { createBlackboard, Keyed, keyed } from 'hearsay';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

describe('Keyed with/without on a committed board', () => {
  it('gives frozen collections: the board keeps its entries', async () => {
    const Board = z.object({ tasks: keyed(z.number()) });
    const board = await createBlackboard({ schema: Board, initial: { tasks: { a: 1, b: 2, c: 3 } } });
    const added = board.state.tasks.with('zz', 5);
    const removed = board.state.tasks.without('b');
    for (const k of [added, removed]) {
      expect(Object.isFrozen(k)).toBe(true);
      expect(() => k.set('a', 99)).toThrow(/frozen/);
      expect(() => k.delete('c')).toThrow(/frozen/);
    }
    expect(board.state.tasks.get('a')).toBe(1);
    expect(board.state.tasks.get('c')).toBe(3);
    expect(added.get('zz')).toBe(5);
    expect(removed.has('b')).toBe(false);
    expect([added.size, removed.size, board.state.tasks.size]).toEqual([4, 2, 3]);
    // A fresh collection is still built freely.
    const fresh = Keyed.from<number>({});
    fresh.set('x', 1);
    expect(fresh.get('x')).toBe(1);
    // …without writing into the empty parts every collection shares.
    expect(Keyed.empty<number>().has('x')).toBe(false);
    expect(Keyed.from<number>({ y: 2 }).has('x')).toBe(false);
    expect(board.state.tasks.has('x')).toBe(false);
  });
});

describe('Keyed read through a recipe draft', () => {
  const Board = z.object({ tasks: keyed(z.object({ status: z.string() })), n: z.number() });
  const initial = { tasks: { a: { status: 'open' }, b: { status: 'done' }, c: { status: 'open' } }, n: 0 };

  it('hands out writable entries while unchanged, and sees the recipe’s own changes after', async () => {
    const board = await createBlackboard({ schema: Board, initial });
    const r = await board.transact(
      (d) => {
        const before = d.tasks.size;
        for (const t of d.tasks.values()) if (t.status === 'open') t.status = 'claimed';
        d.tasks.set('z', { status: 'new' });
        const keys = [...d.tasks.keys()].sort();
        d.n = before * 10 + d.tasks.size;
        return keys;
      },
      { author: 'tester' },
    );
    expect(r.ok && r.value).toEqual(['a', 'b', 'c', 'z']);
    expect(board.state.n).toBe(34);
    expect([...board.state.tasks.entries()].map(([k, t]) => `${k}:${t.status}`).sort()).toEqual([
      'a:claimed',
      'b:done',
      'c:claimed',
      'z:new',
    ]);
  });
});

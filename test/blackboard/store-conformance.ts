import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type CommitDraft, createBlackboard, keyed, type Store } from '../../src/index.js';
import {
  conflictRuleProperty,
  linearizabilityProperty,
  type StoreFactory,
  serializabilityProperty,
} from './support/properties.js';

const draft = (over: Partial<CommitDraft> & Pick<CommitDraft, 'baseVersion' | 'writes'>): CommitDraft => ({
  reads: [],
  patches: [],
  author: 'tester',
  time: 1,
  ...over,
});

/**
 * The one suite every Store runs: memory, file and PostgreSQL alike. `makeStore` returns a fresh,
 * empty store each time; `runs` scales the property tests (1,000 interleavings by default).
 */
export function describeStoreConformance(name: string, makeStore: StoreFactory, runs = 1000): void {
  describe(`Store conformance: ${name}`, () => {
    let store: Store;
    let dispose: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      ({ store, dispose } = await makeStore());
    });
    afterEach(async () => {
      await dispose?.();
    });

    it('creates a run at version 0 and finds it again on a second open', async () => {
      const first = await store.openRun('r', { n: 1 });
      expect(first).toMatchObject({
        created: true,
        head: { seq: 0, version: 0 },
        snapshot: { version: 0, seq: 0 },
      });
      expect(first.snapshot.state).toEqual({ n: 1 });
      await store.commit('r', draft({ baseVersion: 0, writes: [['n']] }), [['n']]);
      const again = await store.openRun('r', { n: 99 });
      expect(again.created).toBe(false);
      expect(again.head).toEqual({ seq: 1, version: 1 });
      expect(again.snapshot.state).toEqual({ n: 1 });
    });

    it('numbers commits and messages in one sequence, and only commits bump the version', async () => {
      await store.openRun('r', {});
      const c1 = await store.commit('r', draft({ baseVersion: 0, writes: [['a']] }), [['a']]);
      const m = await store.append('r', { topic: 't', payload: { hi: 1 }, author: 'x', time: 2 });
      const c2 = await store.commit('r', draft({ baseVersion: 1, writes: [['b']] }), [['b']]);
      expect(c1.ok && c1.event).toMatchObject({ seq: 1, version: 1 });
      expect(m).toMatchObject({ type: 'message', seq: 2, version: 1, topic: 't', payload: { hi: 1 } });
      expect(c2.ok && c2.event).toMatchObject({ seq: 3, version: 2 });
      expect((await store.read('r', 1)).map((e) => e.seq)).toEqual([1, 2, 3]);
      expect((await store.read('r', 2, 2)).map((e) => e.type)).toEqual(['message']);
      expect(await store.read('r', 4)).toEqual([]);
    });

    it('rejects a stale writer of an overlapping path with a conflict naming both paths and the version', async () => {
      await store.openRun('r', {});
      await store.commit('r', draft({ baseVersion: 0, writes: [['tasks', 't1', 'status']] }), [
        ['tasks', 't1', 'status'],
      ]);
      const r = await store.commit('r', draft({ baseVersion: 0, writes: [['tasks', 't1']] }), [
        ['tasks', 't1'],
      ]);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.conflict).toMatchObject({
        code: 'conflict',
        reason: 'overlap',
        baseVersion: 0,
        headVersion: 1,
        conflicts: [{ path: ['tasks', 't1'], written: ['tasks', 't1', 'status'], version: 1 }],
      });
      expect(await store.checkConflicts('r', 0, [['tasks', 't2']])).toBeUndefined();
      expect(await store.checkConflicts('r', 1, [['tasks', 't1']])).toBeUndefined();
    });

    it('returns the original event for a repeated idempotency key, and writes nothing', async () => {
      await store.openRun('r', {});
      const first = await store.commit('r', draft({ baseVersion: 0, writes: [['a']], idempotencyKey: 'k' }), [
        ['a'],
      ]);
      const again = await store.commit('r', draft({ baseVersion: 0, writes: [['a']], idempotencyKey: 'k' }), [
        ['a'],
      ]);
      expect(first.ok && !first.duplicate).toBe(true);
      expect(again).toEqual({ ok: true, duplicate: true, event: first.ok ? first.event : undefined });
      expect(await store.read('r', 1)).toHaveLength(1);
      expect((await store.findCommit('r', 'k'))?.seq).toBe(1);
      expect(await store.findCommit('r', 'other')).toBeUndefined();
    });

    it('keeps snapshots and answers with the newest at or before a version', async () => {
      await store.openRun('r', { v: 0 });
      await store.saveSnapshot('r', { version: 5, seq: 7, state: { v: 5 } });
      await store.saveSnapshot('r', { version: 2, seq: 2, state: { v: 2 } });
      expect((await store.loadSnapshot('r', 1))?.state).toEqual({ v: 0 });
      expect((await store.loadSnapshot('r', 4))?.state).toEqual({ v: 2 });
      expect((await store.loadSnapshot('r', 9))?.state).toEqual({ v: 5 });
    });

    it('keeps runs apart', async () => {
      await store.openRun('r1', {});
      await store.openRun('r2', {});
      await store.commit('r1', draft({ baseVersion: 0, writes: [['a']] }), [['a']]);
      const r2 = await store.commit('r2', draft({ baseVersion: 0, writes: [['a']] }), [['a']]);
      expect(r2.ok && r2.event.version).toBe(1);
      expect(await store.read('r2', 1)).toHaveLength(1);
    });

    it('reopens a board from its log: same state, same version', async () => {
      const schema = z.object({ n: z.number(), items: keyed(z.string()) });
      const board = await createBlackboard({
        schema,
        initial: { n: 0, items: {} },
        store,
        runId: 'b',
        snapshotEvery: 3,
      });
      for (let i = 0; i < 7; i++) {
        await board.transact(
          (d) => {
            d.n += 1;
            d.items.set(`i${i}`, `v${i}`);
          },
          { author: 'w' },
        );
      }
      const reopened = await createBlackboard({ schema, initial: { n: -1, items: {} }, store, runId: 'b' });
      expect(reopened.version).toBe(7);
      expect(JSON.stringify(reopened.state)).toBe(JSON.stringify(board.state));
      expect(reopened.state.items.get('i6')).toBe('v6');
      expect(JSON.stringify(await reopened.at(4))).toBe(JSON.stringify(await board.at(4)));
    });

    it('gives exact results to 50 concurrent callers making 20 increments each (1000)', async () => {
      const board = await createBlackboard({
        schema: z.object({ count: z.number() }),
        initial: { count: 0 },
        store,
        runId: 'c',
      });
      const caller = async (id: number) => {
        for (let i = 0; i < 20; i++) {
          const r = await board.transact(
            (d) => {
              d.count += 1;
            },
            { author: `c${id}`, maxAttempts: 1000 },
          );
          if (!r.ok) throw new Error(r.error.message);
        }
      };
      await Promise.all(Array.from({ length: 50 }, (_, i) => caller(i)));
      expect(board.state.count).toBe(1000);
      expect(board.version).toBe(1000);
    });

    it('deletes a run: its log, snapshots and ended mark are gone, other runs stay, reopening starts afresh', async () => {
      await store.openRun('gone', { n: 1 });
      await store.openRun('kept', { n: 2 });
      await store.commit('gone', draft({ baseVersion: 0, writes: [['n']], idempotencyKey: 'k' }), [['n']]);
      await store.saveSnapshot('gone', { version: 1, seq: 1, state: { n: 5 } });
      await store.commit('kept', draft({ baseVersion: 0, writes: [['n']] }), [['n']]);
      await store.markEnded('gone', 10);
      await store.markEnded('kept', 20);
      expect(await store.deleteRun('gone')).toBe(true);
      expect(await store.deleteRun('gone')).toBe(false);
      expect(await store.deleteRun('never-was')).toBe(false);
      if (store.listRuns) expect((await store.listRuns()).sort()).toEqual(['kept']);
      expect((await store.endedRuns()).map((r) => r.runId)).toEqual(['kept']);
      await expect(store.read('gone', 1)).rejects.toThrow();
      // Opening it again creates a new run: nothing of the old one comes back.
      const again = await store.openRun('gone', { n: 99 });
      expect(again).toMatchObject({ created: true, head: { seq: 0, version: 0 } });
      expect(again.snapshot.state).toEqual({ n: 99 });
      expect(await store.findCommit('gone', 'k')).toBeUndefined();
      expect(await store.read('kept', 1)).toHaveLength(1);
    });

    it('lists the runs marked ended, oldest first; marking again moves a run; an unknown run is refused', async () => {
      for (const id of ['a', 'b', 'c']) await store.openRun(id, {});
      await store.markEnded('b', 200);
      await store.markEnded('a', 300);
      await store.markEnded('c', 100);
      expect(await store.endedRuns()).toEqual([
        { runId: 'c', endedAt: 100 },
        { runId: 'b', endedAt: 200 },
        { runId: 'a', endedAt: 300 },
      ]);
      await store.markEnded('c', 400);
      expect((await store.endedRuns()).map((r) => r.runId)).toEqual(['b', 'a', 'c']);
      await expect(store.markEnded('nobody', 1)).rejects.toThrow();
    });

    it('keeps an ended run readable and reopenable until it is deleted', async () => {
      const schema = z.object({ n: z.number() });
      for (let i = 0; i < 70; i++) {
        const board = await createBlackboard({ schema, initial: { n: 0 }, store, runId: `e${i}` });
        await board.transact(
          (d) => {
            d.n = i + 1;
          },
          { author: 'w' },
        );
        await store.markEnded(`e${i}`, i);
      }
      const first = await createBlackboard({ schema, initial: { n: -1 }, store, runId: 'e0' });
      expect(first.version).toBe(1);
      expect((await store.read('e0', 1)).map((e) => e.type)).toEqual(['commit']);
      expect(await store.endedRuns()).toHaveLength(70);
      expect(await store.deleteRun('e0')).toBe(true);
      const fresh = await createBlackboard({ schema, initial: { n: -1 }, store, runId: 'e0' });
      expect(fresh.version).toBe(0);
      expect(fresh.state.n).toBe(-1);
    });

    it('refuses every call after close', async () => {
      await store.openRun('r', {});
      await store.close();
      await expect(store.read('r', 1)).rejects.toThrow();
      await expect(store.deleteRun('r')).rejects.toThrow();
      await expect(store.endedRuns()).rejects.toThrow();
      await expect(store.openRun('other', {})).rejects.toThrow();
    });

    it('decides every commit by the path rule (property)', async () => {
      await fc.assert(conflictRuleProperty(makeStore), { numRuns: Math.max(50, runs / 5) });
    });

    it(`stays serializable under ${runs} scheduler interleavings (property)`, async () => {
      await fc.assert(serializabilityProperty(makeStore), { numRuns: runs });
    });

    it('gives linearizable histories of increments and reads (property)', async () => {
      await fc.assert(linearizabilityProperty(makeStore), { numRuns: Math.max(100, runs / 2) });
    });
  });
}

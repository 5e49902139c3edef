import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBlackboard, type LogEvent, MemoryStore } from '../../src/index.js';
import { InterleavedStore } from './support/interleaved-store.js';

const Schema = z.object({ n: z.number() });

async function board(store = new MemoryStore()) {
  return createBlackboard({ schema: Schema, initial: { n: 0 }, store, runId: 's' });
}

const inc = (bb: Awaited<ReturnType<typeof board>>, author = 'w') =>
  bb.transact(
    (d) => {
      d.n += 1;
    },
    { author, maxAttempts: 100 },
  );

describe('subscribe', () => {
  it('follows live events from now on when no `from` is given', async () => {
    const bb = await board();
    await inc(bb);
    const seen: number[] = [];
    bb.subscribe({}, (e) => seen.push(e.seq));
    await inc(bb);
    await bb.publish('t', { x: 1 }, { author: 'p' });
    expect(seen).toEqual([2, 3]);
  });

  it('replays from `from`, then follows live, with no gap and no duplicate under concurrent appends (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.nat(6),
        fc.nat(8),
        fc.integer({ min: 1, max: 12 }),
        async (s, before, during, from) => {
          const store = new InterleavedStore(new MemoryStore(), s);
          const bb = await board(store as never);
          const writes: Promise<unknown>[] = [];
          for (let i = 0; i < before; i++) writes.push(i % 2 ? inc(bb) : bb.publish('m', i, { author: 'p' }));
          await s.waitFor(Promise.all(writes));
          const seen: number[] = [];
          // Subscribe while more appends are in flight, and some land during the replay's read.
          const more = Array.from({ length: during }, (_, i) =>
            s
              .schedule(Promise.resolve(), `append ${i}`)
              .then((): Promise<unknown> => (i % 2 ? inc(bb) : bb.publish('m', i, { author: 'p' }))),
          );
          bb.subscribe({ from }, (e) => seen.push(e.seq));
          await s.waitFor(Promise.all(more));
          await s.waitIdle();
          const total = before + during;
          const expected = Array.from({ length: Math.max(0, total - from + 1) }, (_, i) => from + i);
          expect(seen).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('filters by type, topic and author', async () => {
    const bb = await board();
    const got: LogEvent[] = [];
    bb.subscribe({ types: ['message'], topics: ['a'] }, (e) => got.push(e));
    const notMine: LogEvent[] = [];
    bb.subscribe({ excludeAuthor: 'me' }, (e) => notMine.push(e));
    await bb.publish('a', 1, { author: 'me' });
    await bb.publish('b', 2, { author: 'other' });
    await inc(bb, 'me');
    expect(got.map((e) => e.type === 'message' && e.payload)).toEqual([1]);
    expect(notMine.map((e) => e.seq)).toEqual([2]);
  });

  it('stops after unsubscribe', async () => {
    const bb = await board();
    const seen: number[] = [];
    const stop = bb.subscribe({}, (e) => seen.push(e.seq));
    await inc(bb);
    stop();
    await inc(bb);
    expect(seen).toEqual([1]);
  });

  it('contains a throwing handler: it is reported, and everyone else keeps receiving', async () => {
    const errors: unknown[] = [];
    const bb = await createBlackboard({
      schema: Schema,
      initial: { n: 0 },
      onSubscriberError: (error) => errors.push(error),
    });
    const seen: number[] = [];
    bb.subscribe({}, () => {
      throw new Error('handler bug');
    });
    bb.subscribe({}, (e) => seen.push(e.seq));
    await inc(bb);
    await inc(bb);
    expect(seen).toEqual([1, 2]);
    expect(errors).toHaveLength(2);
    expect(bb.state.n).toBe(2);
  });

  it('rejects a message whose payload is not JSON, and appends nothing', async () => {
    const bb = await board();
    const r = await bb.publish('t', { when: new Date() }, { author: 'p' });
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'invalid_commit', reason: 'not_serializable', path: ['when'] },
    });
    expect(bb.seq).toBe(0);
  });

  it('refuses a fenced message on a store that leases no activations, and appends nothing', async () => {
    const bb = await board();
    const fence = { activationId: 'a#1', attempt: 1, token: 1 };
    await expect(bb.publish('t', {}, { author: 'p', fence })).rejects.toMatchObject({
      code: 'unsupported',
    });
    expect(bb.seq).toBe(0);
  });
});

describe('at(version)', () => {
  it('returns every past state, from snapshots plus the log', async () => {
    const bb = await createBlackboard({ schema: Schema, initial: { n: 0 }, snapshotEvery: 4 });
    for (let i = 0; i < 11; i++) {
      await inc(bb);
      if (i % 3 === 0) await bb.publish('tick', i, { author: 'clock' });
    }
    for (let v = 0; v <= 11; v++) expect((await bb.at(v)).n).toBe(v);
  });

  it('throws for a version that does not exist', async () => {
    const bb = await board();
    await expect(bb.at(1)).rejects.toMatchObject({ code: 'version_out_of_range' });
    await expect(bb.at(-1)).rejects.toMatchObject({ code: 'version_out_of_range' });
    await expect(bb.at(0.5)).rejects.toMatchObject({ code: 'version_out_of_range' });
  });
});

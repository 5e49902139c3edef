/**
 * The file store writes the events accepted while a write is under way together (a group commit): each
 * append still resolves only once its event is on disk, in acceptance order, and a reopened store replays
 * exactly what was acknowledged.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBlackboard, FileStore } from 'hearsay';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('FileStore group commit', () => {
  it.each(['always', 'never'] as const)(
    'keeps every concurrent append, in order (fsync %s)',
    async (fsync) => {
      const dir = await mkdtemp(join(tmpdir(), 'hearsay-batch-'));
      dirs.push(dir);
      const Board = z.object({ n: z.number() });
      const board = await createBlackboard({
        schema: Board,
        initial: { n: 0 },
        store: new FileStore({ dir, fsync }),
        runId: 'batched',
      });
      const sent = Array.from({ length: 200 }, (_, i) => board.publish('note', { i }, { author: 'tester' }));
      const commits = Array.from({ length: 20 }, (_, i) =>
        board.transact(
          (d) => {
            d.n = i + 1;
          },
          { author: 'tester' },
        ),
      );
      const events = (await Promise.all(sent)).map((r) => {
        if (!r.ok) throw new Error('a publish was refused');
        return r.event;
      });
      const committed = await Promise.all(commits);
      expect(committed.every((r) => r.ok)).toBe(true);
      await board.close();
      const reopened = await createBlackboard({
        schema: Board,
        initial: { n: 0 },
        store: new FileStore({ dir, fsync }),
        runId: 'batched',
      });
      const notes: number[] = [];
      // The replay ends with the last event the store holds (seq of the last commit or note written).
      const lastSeq = Math.max(reopened.seq, ...events.map((e) => e.seq));
      await new Promise<void>((resolve) => {
        reopened.subscribe({ from: 1 }, (e) => {
          if (e.type === 'message' && e.topic === 'note') notes.push((e.payload as { i: number }).i);
          if (e.seq === lastSeq) resolve();
        });
      });
      expect(notes).toEqual(events.map((e) => (e.payload as { i: number }).i));
      expect(notes).toHaveLength(200);
      expect(reopened.state.n).toBe(20);
      await reopened.close();
    },
  );

  it('keeps every run whole when more runs write at once than it keeps files open (64)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearsay-many-'));
    dirs.push(dir);
    const Board = z.object({ n: z.number() });
    const store = new FileStore({ dir, fsync: 'never' });
    const boards = await Promise.all(
      Array.from({ length: 80 }, (_, r) =>
        createBlackboard({ schema: Board, initial: { n: 0 }, store, runId: `run-${r}` }),
      ),
    );
    for (let round = 0; round < 3; round++)
      await Promise.all(boards.map((b, r) => b.publish('note', { r, round }, { author: 'tester' })));
    await store.close();
    const again = new FileStore({ dir, fsync: 'never' });
    for (let r = 0; r < 80; r++) {
      await again.openRun(`run-${r}`, { n: 0 });
      const events = await again.read(`run-${r}`, 1);
      const notes = events.filter((e) => e.type === 'message' && e.topic === 'note');
      expect(notes.map((e) => (e as { payload: { round: number } }).payload.round)).toEqual([0, 1, 2]);
    }
    await again.close();
  });
});

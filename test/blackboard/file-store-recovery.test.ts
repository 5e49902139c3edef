import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBlackboard, keyed } from '../../src/blackboard/index.js';
import { FileStore, type RecoveryReport } from '../../src/blackboard/stores/file-store.js';

const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hearsay-rec-'));
  dirs.push(dir);
  return dir;
};
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true, maxRetries: 5 })));
});

const Schema = z.object({ n: z.number(), items: keyed(z.string()) });
const initial = { n: 0, items: {} };

/** A run of `commits` increments in `dir`, acknowledged one by one (fsync always). */
async function writeRun(dir: string, commits: number) {
  const board = await createBlackboard({
    schema: Schema,
    initial,
    store: new FileStore({ dir }),
    runId: 'r',
  });
  const sizes: number[] = [];
  for (let i = 1; i <= commits; i++) {
    const r = await board.commit({
      baseVersion: board.version,
      reads: [],
      idempotencyKey: `k${i}`,
      patches: [
        { op: 'replace', path: ['n'], value: i },
        { op: 'add', path: ['items', `i${i}`], value: `v${i}` },
      ],
      author: 'w',
    });
    if (!r.ok) throw new Error(r.error.message);
    sizes.push((await readFile(join(dir, 'r.log'))).length);
  }
  return { board, sizes };
}

/** A copy of `dir` whose log is replaced by `log`. */
async function withLog(dir: string, log: Buffer) {
  const copy = await tempDir();
  for (const name of await readdir(dir))
    if (name !== 'r.log') await copyFile(join(dir, name), join(copy, name));
  await writeFile(join(copy, 'r.log'), log);
  return copy;
}

async function reopen(dir: string) {
  const reports: RecoveryReport[] = [];
  const store = new FileStore({ dir, onRecover: (r) => reports.push(r) });
  const board = await createBlackboard({ schema: Schema, initial, store, runId: 'r' });
  return { board, store, reports };
}

describe('FileStore durability', () => {
  it('reopens a run from disk in a new process: same board, same version, idempotency keys remembered', async () => {
    const dir = await tempDir();
    const { board } = await writeRun(dir, 5);
    const { board: again, reports } = await reopen(dir);
    expect(reports).toEqual([]);
    expect(again.version).toBe(5);
    expect(JSON.stringify(again.state)).toBe(JSON.stringify(board.state));
    const repeat = await again.commit({
      baseVersion: 0,
      reads: [],
      idempotencyKey: 'k3',
      patches: [{ op: 'replace', path: ['n'], value: 99 }],
      author: 'w',
    });
    expect(repeat).toMatchObject({ ok: true, duplicate: true, event: { version: 3 } });
    expect(again.state.n).toBe(5);
    expect(JSON.stringify(await again.at(2))).toBe(JSON.stringify(await board.at(2)));
  });

  it('recovers exactly the acknowledged prefix when the log is cut at any byte of its last records', async () => {
    const dir = await tempDir();
    const { sizes } = await writeRun(dir, 4);
    const full = await readFile(join(dir, 'r.log'));
    for (let cut = sizes[1]!; cut <= full.length; cut++) {
      const copy = await withLog(dir, full.subarray(0, cut));
      const { board, reports } = await reopen(copy);
      const whole = sizes.filter((s) => s <= cut).length;
      expect(board.version, `cut at ${cut}`).toBe(whole);
      expect(board.state.n).toBe(whole);
      expect(reports.length, `cut at ${cut}`).toBe(sizes.includes(cut) ? 0 : 1);
      if (reports[0])
        expect(reports[0]).toMatchObject({ records: whole, truncatedBytes: cut - sizes[whole - 1]! });
      // What was cut stays cut: the file now ends at the last intact record.
      expect((await readFile(join(copy, 'r.log'))).length).toBe(sizes[whole - 1]);
    }
  });

  it('truncates a corrupt last record (a flipped byte in the tail), keeping every record before it', async () => {
    const dir = await tempDir();
    const { sizes } = await writeRun(dir, 4);
    const full = await readFile(join(dir, 'r.log'));
    for (const at of [sizes[2]! + 1, sizes[2]! + 9, sizes[2]! + 20, full.length - 1]) {
      const damaged = Buffer.from(full);
      damaged[at] = damaged[at]! ^ 0x40;
      const { board, reports } = await reopen(await withLog(dir, damaged));
      expect(board.version, `flip at ${at}`).toBe(3);
      expect(reports).toEqual([
        expect.objectContaining({ records: 3, truncatedBytes: full.length - sizes[2]! }),
      ]);
    }
  });

  it('refuses loudly to open a log damaged in the middle', async () => {
    const dir = await tempDir();
    const { sizes } = await writeRun(dir, 4);
    const full = await readFile(join(dir, 'r.log'));
    for (const at of [0, 5, 10, sizes[0]! + 3, sizes[1]! + 30]) {
      const damaged = Buffer.from(full);
      damaged[at] = damaged[at]! ^ 0x01;
      await expect(reopen(await withLog(dir, damaged)), `flip at ${at}`).rejects.toMatchObject({
        name: 'BlackboardError',
        code: 'corrupt_log',
      });
    }
  });

  it('finishes creating a run that crashed between its first snapshot and its log', async () => {
    // Found by the SIGKILL test: a kill right after snapshot 0 was written, before the empty log was.
    const dir = await tempDir();
    await writeRun(dir, 1);
    await rm(join(dir, 'r.log'));
    const { board, reports } = await reopen(dir);
    expect(board.version).toBe(0);
    expect(reports).toEqual([]);
    const r = await board.commit({
      baseVersion: 0,
      reads: [],
      patches: [{ op: 'replace', path: ['n'], value: 1 }],
      author: 'w',
    });
    expect(r.ok).toBe(true);
  });

  it('compacts: the log keeps only what follows the newest snapshot, and reopens the same', async () => {
    const dir = await tempDir();
    const store = new FileStore({ dir });
    const board = await createBlackboard({ schema: Schema, initial, store, runId: 'r', snapshotEvery: 10 });
    for (let i = 1; i <= 25; i++) {
      await board.transact(
        (d) => {
          d.n += 1;
          d.items.set(`i${i}`, `v${i}`);
        },
        { author: 'w' },
      );
    }
    const before = await store.logSize('r');
    const { removedRecords } = await store.compact('r');
    expect(removedRecords).toBe(20);
    expect(await store.logSize('r')).toBeLessThan(before / 3);
    expect((await readdir(dir)).filter((n) => n.includes('.snap-'))).toEqual(['r.snap-000000000020.json']);
    const { board: again } = await reopen(dir);
    expect(again.version).toBe(25);
    expect(JSON.stringify(again.state)).toBe(JSON.stringify(board.state));
    expect((await again.at(22)).n).toBe(22);
    const stale = await again.commit({
      baseVersion: 5,
      reads: [['n']],
      patches: [{ op: 'replace', path: ['n'], value: 0 }],
      author: 'late',
    });
    expect(stale).toMatchObject({ ok: false, error: { code: 'conflict', reason: 'base_too_old' } });
  });

  it('numbers events after a compaction on from the head, in the same process and after reopening', async () => {
    const dir = await tempDir();
    const store = new FileStore({ dir });
    const board = await createBlackboard({ schema: Schema, initial, store, runId: 'r', snapshotEvery: 10 });
    const bump = (d: { n: number }) => {
      d.n += 1;
    };
    for (let i = 1; i <= 25; i++) await board.transact(bump, { author: 'w' });
    await store.compact('r');
    const next = await board.transact(bump, { author: 'w' });
    expect(next).toMatchObject({ ok: true, event: { seq: 26, version: 26 } });
    const note = await board.publish('t', 'after', { author: 'w' });
    expect(note).toMatchObject({ ok: true, event: { seq: 27 } });
    expect((await store.read('r', 26)).map((e) => e.seq)).toEqual([26, 27]);
    const { board: again } = await reopen(dir);
    expect(again.seq).toBe(27);
    expect(again.state.n).toBe(26);
  });
});

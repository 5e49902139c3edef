import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  type BoardEvent,
  createRuntime,
  defineAgent,
  FileStore,
  MemoryStore,
  type RuntimeConfig,
  type Store,
  stepMachine,
} from 'hearsay';
import { connect } from 'hearsay/client';
import { VirtualClock } from 'hearsay/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

const Board = z.object({ go: z.boolean(), n: z.number() });
type B = z.output<typeof Board>;
const initial = { go: false, n: 0 };

/** Sets n once `go` holds: a short run of one activation. */
const setter = defineAgent<B>({
  id: 'setter',
  watches: [['go']],
  writes: [['n']],
  machine: stepMachine<B, number>({
    when: (b) => b.go && b.n === 0,
    work: async () => 1,
    done: (d, n) => {
      d.n = n;
    },
  }),
});

/** Waits until cancelled once `go` holds: keeps a run in progress. */
const waiter = defineAgent<B>({
  id: 'waiter',
  watches: [['go']],
  writes: [['n']],
  machine: stepMachine<B, null>({
    when: (b) => b.go && b.n === 0,
    work: async (event: BoardEvent<B>) => {
      await event.tools.sleep(3_600_000);
      return null;
    },
    done: (d) => {
      d.n = 2;
    },
  }),
});

type Extra = Partial<Pick<RuntimeConfig<typeof Board>, 'store' | 'retention' | 'clock'>>;
const make = (extra: Extra = {}, agents = [setter]) =>
  createRuntime({ board: { schema: Board, initial }, agents, goal: (b) => b.n === 1, ...extra });

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('a long-lived runtime keeps a bounded number of finished runs', () => {
  it('serves 2,000 runs through one runtime with the default in-memory store: at most 1,000 stay, nothing else grows', async () => {
    const runtime = make();
    cleanups.push(() => runtime.close());
    let most = 0;
    for (let i = 1; i <= 2000; i++) {
      const r = await runtime.run({ go: true });
      expect(r.outcome).toBe('completed');
      if (i % 100 === 0) {
        const f = await runtime.footprint();
        most = Math.max(most, f.storedRuns);
        expect(f.storedRuns).toBe(Math.min(i, 1000));
        expect(f.endedRuns).toBe(Math.min(i, 1000));
        expect({ live: f.live, schedulers: f.schedulers, opening: f.opening, ord: f.childOrdinals }).toEqual({
          live: 0,
          schedulers: 0,
          opening: 0,
          ord: 0,
        });
      }
    }
    expect(most).toBe(1000);
    await runtime.close();
    // The runtime made its store: closing it let go of every run.
    expect((await runtime.footprint()).storedRuns).toBe(0);
  }, 120_000);

  it('keeps the newest maxRuns of a store it was given, and close() on the store frees everything', async () => {
    const store = new MemoryStore();
    const runtime = make({ store, retention: { maxRuns: 20 } });
    const ids: string[] = [];
    for (let i = 0; i < 300; i++) {
      ids.push((await runtime.run({ go: true })).runId);
      expect((await store.listRuns()).length).toBeLessThanOrEqual(20);
    }
    expect(store.runCount).toBe(20);
    expect((await store.listRuns()).sort()).toEqual(ids.slice(-20).sort());
    await runtime.close();
    await store.close();
    expect(store.runCount).toBe(0);
    expect(await store.listRuns()).toEqual([]);
  });

  it('whatever runs end and are deleted, the store holds exactly the newest maxRuns not deleted (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: 5 }),
        fc.array(fc.oneof(fc.constant('run' as const), fc.nat({ max: 30 })), { maxLength: 25 }),
        async (maxRuns, steps) => {
          const store = new MemoryStore();
          const runtime = make({ store, retention: { maxRuns } });
          // The model: finished runs in the order they ended, less the deleted ones.
          const kept: string[] = [];
          try {
            for (const step of steps) {
              if (step === 'run') {
                kept.push((await runtime.run({ go: true })).runId);
                while (kept.length > maxRuns) kept.shift();
              } else {
                const target = kept[step % Math.max(1, kept.length)] ?? 'none';
                const r = await runtime.deleteRun(target);
                expect(r.ok).toBe(kept.includes(target));
                if (!r.ok) expect(r.code).toBe('unknown_run');
                kept.splice(kept.indexOf(target), kept.includes(target) ? 1 : 0);
              }
              expect((await store.listRuns()).sort()).toEqual([...kept].sort());
              expect((await store.endedRuns()).map((e) => e.runId).sort()).toEqual([...kept].sort());
            }
          } finally {
            await runtime.close();
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('100 runs at once under maxRuns 5: exactly the 5 that ended last stay, none dropped while running', async () => {
    const store = new MemoryStore();
    const runtime = make({ store, retention: { maxRuns: 5 } });
    cleanups.push(() => runtime.close());
    const ended: string[] = [];
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        const r = await runtime.run({ go: true });
        // Every run finished with its board intact: none was deleted under it.
        expect(r.board.n).toBe(1);
        ended.push(r.runId);
      }),
    );
    expect(await store.listRuns()).toHaveLength(5);
    expect((await runtime.footprint()).live).toBe(0);
    const marked = (await store.endedRuns()).map((e) => e.runId);
    expect(marked.sort()).toEqual((await store.listRuns()).sort());
  });

  it('drops runs older than maxAgeMs, on the runtime clock, when a run ends or prune() is called', async () => {
    const clock = new VirtualClock(0);
    const runtime = make({ clock, retention: { maxAgeMs: 1000 } });
    cleanups.push(() => runtime.close());
    const old = await runtime.run({ go: true });
    clock.advanceTo(600);
    const mid = await runtime.run({ go: true });
    clock.advanceTo(1500);
    const late = await runtime.run({ go: true });
    // `old` ended at 0, more than 1000 ms before 1500; `mid` at 600 is still young.
    const held = async () => (await runtime.footprint()).storedRuns;
    expect(await held()).toBe(2);
    clock.advanceTo(1700);
    expect(await runtime.prune()).toEqual([mid.runId]);
    expect(await held()).toBe(1);
    expect(old.runId).not.toBe(late.runId);
  });

  it('never drops a run that is still in progress, however many finish after it', async () => {
    const store = new MemoryStore();
    const runtime = createRuntime({
      board: { schema: Board, initial },
      agents: [setter],
      goal: (b) => b.n === 1,
      store,
      retention: { maxRuns: 2 },
    });
    const blocking = createRuntime({
      board: { schema: Board, initial },
      agents: [waiter],
      store,
      retention: { maxRuns: 2 },
    });
    cleanups.push(
      () => runtime.close(),
      () => blocking.close(),
    );
    const running = await blocking.start({ go: true }, { runId: 'long' });
    for (let i = 0; i < 10; i++) await runtime.run({ go: true });
    expect(await store.listRuns()).toContain('long');
    expect((await blocking.deleteRun('long')).ok).toBe(false);
    running.cancel();
    await running.result;
  });
});

describe('deleting a run', () => {
  it('refuses a running run with a typed result, and an unknown one', async () => {
    const runtime = make({}, [waiter]);
    cleanups.push(() => runtime.close());
    const handle = await runtime.start({ go: true });
    expect(await runtime.deleteRun(handle.runId)).toMatchObject({ ok: false, code: 'running' });
    expect(runtime.runs.has(handle.runId)).toBe(true);
    expect(await runtime.deleteRun('no-such-run')).toMatchObject({ ok: false, code: 'unknown_run' });
    handle.cancel();
    await handle.result;
    expect(await runtime.deleteRun(handle.runId)).toMatchObject({ ok: true, deleted: [handle.runId] });
  });

  it('a deleted run is gone from every listing, and its board can no longer be opened', async () => {
    const store = new MemoryStore();
    const runtime = make({ store, retention: 'keep-all' });
    cleanups.push(() => runtime.close());
    const listening = await runtime.listen({ insecureDevMode: true, inspector: false, log: () => {} });
    const client = await connect(listening.url, { reconnect: false });
    cleanups.push(() => client.close());
    const stream = client.follow('*');
    const kept = await runtime.run({ go: true });
    const gone = await runtime.run({ go: true });
    // The hub has cached what it knows of both.
    expect((await client.runs()).map((r) => r.runId).sort()).toEqual([kept.runId, gone.runId].sort());
    expect(await client.boardAt(gone.runId, 1)).toEqual({ go: true, n: 0 });

    expect(await runtime.deleteRun(gone.runId)).toEqual({
      ok: true,
      runId: gone.runId,
      deleted: [gone.runId],
    });

    expect(await store.listRuns()).toEqual([kept.runId]);
    expect((await store.endedRuns()).map((r) => r.runId)).toEqual([kept.runId]);
    expect((await client.runs()).map((r) => r.runId)).toEqual([kept.runId]);
    await expect(client.boardAt(gone.runId, 1)).rejects.toMatchObject({ code: 'unknown_run' });
    await expect(runtime.resume(gone.runId)).rejects.toThrow(/holds no run/);
    await expect(store.read(gone.runId, 1)).rejects.toThrow();
    expect(await runtime.deleteRun(gone.runId)).toMatchObject({ ok: false, code: 'unknown_run' });
    expect((await runtime.footprint()).hubCache).toBeLessThanOrEqual(2);
    stream.close();
  });

  it('a hub serving many runs keeps a bounded cache as retention deletes them', async () => {
    const runtime = make({ retention: { maxRuns: 10 } });
    cleanups.push(() => runtime.close());
    const listening = await runtime.listen({ insecureDevMode: true, inspector: false, log: () => {} });
    const client = await connect(listening.url, { reconnect: false });
    cleanups.push(() => client.close());
    const stream = client.follow('*');
    for (let i = 0; i < 100; i++) {
      await runtime.run({ go: true });
      if (i % 10 === 9) expect((await client.runs()).length).toBeLessThanOrEqual(10);
    }
    const f = await runtime.footprint();
    expect(f.storedRuns).toBe(10);
    // Per run at most its info and its start time.
    expect(f.hubCache).toBeLessThanOrEqual(20);
    stream.close();
  });
});

describe('durable stores keep their data unless asked', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  const fileStore = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearsay-retention-'));
    dirs.push(dir);
    return { dir, store: new FileStore({ dir, fsync: 'never' }) };
  };
  const logs = async (dir: string) => (await readdir(dir)).filter((n) => n.endsWith('.log')).length;

  it('a FileStore keeps every run on disk by default, but not every run in memory', async () => {
    const { dir, store } = await fileStore();
    const runtime = make({ store: store as unknown as Store });
    cleanups.push(() => runtime.close());
    for (let i = 0; i < 100; i++) await runtime.run({ go: true });
    expect(await logs(dir)).toBe(100);
    expect((await store.endedRuns()).length).toBe(100);
    // Ended runs beyond the 64 most recent are read back from disk when asked for, not held.
    expect(store.runCount).toBeLessThanOrEqual(64);
    expect((await runtime.resume('run-1')).runId).toBe('run-1');
    await runtime.close();
    await store.close();
    expect(store.runCount).toBe(0);
    expect(await logs(dir)).toBe(100);
  });

  it('a FileStore with a retention policy deletes the dropped runs’ files', async () => {
    const { dir, store } = await fileStore();
    const runtime = make({ store: store as unknown as Store, retention: { maxRuns: 5 } });
    cleanups.push(() => runtime.close());
    for (let i = 0; i < 30; i++) await runtime.run({ go: true });
    expect(await logs(dir)).toBe(5);
    expect((await readdir(dir)).filter((n) => n.includes('run-1.')).length).toBe(0);
  });
});

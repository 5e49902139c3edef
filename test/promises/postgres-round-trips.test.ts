/**
 * Round trips on PostgreSQL, counted (never timed): every statement the store sends through its pool is
 * recorded and sorted by what it does.
 * - A commit is one statement; its notification is not part of it (inside it, NOTIFY held the database's one
 *   notification lock through the commit, WAL flush included, so every commit of every run waited for the
 *   others) and is shared by the commits made while one is being sent. A watcher still hears the newest.
 * - A worker's step ends in one statement that records its result and announces its end.
 * - A dispatcher waiting for its steps reads them all in one statement per poll, not one each per poll.
 * - `findCommit` is one statement.
 */
import { createRuntime, defineAgent, itemMachine, keyed, type Path, statusPool, stepMachine } from 'hearsay';
import { PostgresStore } from 'hearsay/postgres';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { StepMessage } from '../../src/workers/index.js';
import { useCluster } from '../support/cluster-suite.js';
import { postgresAvailable } from '../support/postgres.js';

const available = postgresAvailable('PostgreSQL round trips');

/** A pool that records the text of every statement sent through `query`; `hold` delays the matching ones. */
function countingPool(connectionString: string) {
  const pool = new pg.Pool({ connectionString, max: 8 });
  pool.on('error', () => undefined);
  const sent: string[] = [];
  let gate: { match: RegExp; open: Promise<void> } | undefined;
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  (pool as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args) => {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text: string }).text;
    sent.push(text);
    const held = gate;
    if (held?.match.test(text)) return held.open.then(() => query(...args));
    return query(...args);
  };
  return {
    pool,
    sent,
    count: (match: RegExp) => sent.filter((s) => match.test(s)).length,
    /** Holds the statements matching `match` until the returned function is called. */
    hold(match: RegExp): () => void {
      let open!: () => void;
      gate = { match, open: new Promise<void>((r) => (open = r)) };
      return () => {
        gate = undefined;
        open();
      };
    },
  };
}

const draft = (baseVersion: number, path: Path) => ({
  baseVersion,
  reads: [],
  writes: [path],
  patches: [{ op: 'add' as const, path, value: 1 }],
  author: 'a',
  time: 0,
});

const COMMIT = /"commit_event"\(/;
const ANNOUNCE = /^SELECT pg_notify\(/;

const Item = z.object({ status: z.enum(['open', 'claimed', 'done']), count: z.number() });
const Board = z.object({ n: z.number(), items: keyed(Item), total: z.number().optional() });
type B = z.output<typeof Board>;

/** A feeder puts `n` items on the board, a pooled worker takes each (`workMs` of simulated model call), a closer sums them. */
function team(store: PostgresStore, workMs: number, role: 'dispatcher' | 'worker') {
  const feeder = defineAgent<B>({
    id: 'feeder',
    watches: [['n']],
    writes: [['items']],
    machine: stepMachine<B, null>({
      when: (b) => b.n > 0 && b.items.size === 0,
      work: async () => null,
      done: (d) => {
        for (let i = 0; i < d.n; i++) d.items.set(`i${i}`, { status: 'open', count: 0 });
      },
    }),
  });
  const worker = defineAgent<B>({
    id: 'worker',
    watches: [['items']],
    writes: [['items']],
    concurrency: 16,
    pool: statusPool((b: B) => b.items),
    machine: itemMachine<B, void>({
      work: ({ event }) => event.tools.sleep(workMs),
      done: (d, { key }) => {
        const item = d.items.get(key)!;
        item.count += 1;
        item.status = 'done';
      },
    }),
  });
  const closer = defineAgent<B>({
    id: 'closer',
    watches: [['items']],
    writes: [['total']],
    machine: stepMachine<B, null>({
      when: (b) =>
        b.total === undefined && b.items.size > 0 && [...b.items.values()].every((t) => t.status === 'done'),
      work: async () => null,
      done: (d) => {
        d.total = [...d.items.values()].reduce((n, t) => n + t.count, 0);
      },
    }),
  });
  return createRuntime({
    board: { schema: Board, initial: { n: 0, items: {} } },
    agents: [feeder, worker, closer],
    store,
    goal: (b) => b.total !== undefined,
    role,
    ...(role === 'worker' ? { worker: { id: 'w', concurrency: 1 } } : {}),
  });
}

describe.runIf(available)('PostgreSQL round trips', () => {
  const clusterOf = useCluster();

  it('commits in one statement each, and announces them after, together, to a watcher that hears the newest', async () => {
    const counted = countingPool(clusterOf().connectionString);
    const store = await PostgresStore.open({ pool: counted.pool, schema: 'rt_commit' });
    const listener = new pg.Client({ connectionString: clusterOf().connectionString });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (n) => {
      if (n.channel === store.channel) heard.push(n.payload ?? '');
    });
    await listener.query(`LISTEN "${store.channel}"`);
    try {
      await store.openRun('r', {});
      const before = counted.sent.length;
      // Announcements are held on their way: the commits go on, each one statement.
      const release = counted.hold(ANNOUNCE);
      for (let i = 0; i < 10; i++) {
        const r = await store.commit('r', draft(i, [`k${i}`]), [[`k${i}`]]);
        expect(r.ok).toBe(true);
      }
      expect(counted.count(COMMIT)).toBe(10);
      // The commits notified no one themselves (a round trip on the listener delivers what was notified).
      await listener.query('SELECT 1');
      expect(heard).toEqual([]);
      release();
      // The first announcement (the commits of its first 5 ms), then one for those made while it was held.
      await expect.poll(() => heard.at(-1)).toBe('r\n10');
      expect(heard.length).toBeLessThanOrEqual(2);
      expect(counted.count(ANNOUNCE)).toBe(heard.length);
      expect(counted.sent.length - before).toBe(10 + heard.length);

      // Concurrent commits on eight runs: one statement each, and at most one announcement per commit.
      for (let r = 0; r < 8; r++) await store.openRun(`c${r}`, {});
      const start = counted.sent.length;
      const announcedBefore = counted.count(ANNOUNCE);
      await Promise.all(
        Array.from({ length: 8 }, async (_, r) => {
          for (let i = 0; i < 5; i++)
            expect((await store.commit(`c${r}`, draft(i, [`k${i}`]), [[`k${i}`]])).ok).toBe(true);
        }),
      );
      // (Run r's first announcement may have said `r\n5`: only the eight runs' last ones count here.)
      await expect.poll(() => new Set(heard.filter((p) => /^c\d\n5$/.test(p))).size).toBe(8);
      const commits = counted.sent.slice(start).filter((s) => COMMIT.test(s)).length;
      expect(commits).toBe(40);
      expect(counted.count(ANNOUNCE) - announcedBefore).toBeLessThanOrEqual(40);
    } finally {
      await listener.end();
      await store.close();
      await counted.pool.end();
    }
  });

  it('finds a commit by its key in one statement, and still tells a missing run', async () => {
    const counted = countingPool(clusterOf().connectionString);
    const store = await PostgresStore.open({ pool: counted.pool, schema: 'rt_find' });
    try {
      await store.openRun('r', {});
      const committed = await store.commit('r', { ...draft(0, ['a']), idempotencyKey: 'k1' }, [['a']]);
      expect(committed.ok).toBe(true);
      const reads = () => counted.count(/^SELECT/) - counted.count(ANNOUNCE) - counted.count(COMMIT);
      const before = reads();
      expect((await store.findCommit('r', 'k1'))?.seq).toBe(1);
      expect(await store.findCommit('r', 'k2')).toBeUndefined();
      expect(reads() - before).toBe(2);
      await expect(store.findCommit('nope', 'k1')).rejects.toMatchObject({ code: 'run_mismatch' });
    } finally {
      await store.close();
      await counted.pool.end();
    }
  });

  it('runs a worker step in four statements or fewer, ends it in one, and polls waiting steps in one', async () => {
    const dispatching = countingPool(clusterOf().connectionString);
    const working = countingPool(clusterOf().connectionString);
    // The dispatcher polls often: before, each poll read every waiting step's row, one statement each.
    const dispatcherStore = await PostgresStore.open({
      pool: dispatching.pool,
      schema: 'rt_steps',
      pollMs: 40,
    });
    const workerStore = await PostgresStore.open({ pool: working.pool, schema: 'rt_steps' });
    const worker = team(workerStore, 120, 'worker');
    const dispatcher = team(dispatcherStore, 120, 'dispatcher');
    const N = 6;
    try {
      const result = await dispatcher.run({ n: N }, { runId: 'steps' });
      expect(result.outcome).toBe('completed');
      // Exactly once: every item counted once.
      expect(result.board.total).toBe(N);
      expect([...result.board.items.values()].every((t) => t.count === 1)).toBe(true);
      const steps = N + 2;
      const stats = worker.worker!.stats;
      // The closer's end may be recorded after the run has ended (or refused, the run having cancelled it).
      await expect.poll(() => stats.completed + stats.fenced).toBe(steps);

      const worked = (match: RegExp) => working.count(match);
      // Each step's end: one statement that records it and announces it; never a notification of its own.
      expect(worked(/^WITH u AS \(\s*UPDATE/)).toBe(steps);
      expect(working.sent.filter((s) => ANNOUNCE.test(s) && s.includes('hearsay_activations_'))).toEqual([]);
      // Per step on the worker: a claim, a read of the board, a commit, the completion; and at most one
      // announcement of the step's commit, shared with others or carried by the completion.
      const claims = worked(/^WITH c AS \(\s*SELECT run, activation/);
      const commits = worked(COMMIT);
      expect(commits).toBe(steps);
      const perStep = claims + worked(/^SELECT e\.body/) + commits + worked(/^WITH u AS/);
      // Claims that found nothing (a hint or a poll with the queue empty) are the only extra ones, beside
      // the read of the run's board as it opens.
      expect(perStep - (claims - steps)).toBeLessThanOrEqual(4 * steps + 1);
      expect(worked(ANNOUNCE)).toBeLessThanOrEqual(commits);
      console.log(
        'READS',
        worked(/^SELECT e\.body/),
        'CLAIMS',
        claims,
        'ANN',
        worked(ANNOUNCE),
        'STEPS',
        steps,
      );

      // The dispatcher read each step's row at most twice (when it began waiting, and once it ended),
      // however many polls passed while the worker ran the steps one after another.
      const rowReads = dispatching.count(/^SELECT status, result FROM/);
      expect(rowReads).toBeLessThanOrEqual(2 * steps);
      const polls = dispatching.count(/WITH ORDINALITY AS k\(run, activation, attempt, i\)/);
      expect(polls).toBeGreaterThan(0);
    } finally {
      await dispatcher.close();
      await worker.close();
      await dispatcherStore.close();
      await workerStore.close();
      await dispatching.pool.end();
      await working.pool.end();
    }
  });

  it("brings, with a claimed step, the run's events after the seq the worker's board has", async () => {
    const counted = countingPool(clusterOf().connectionString);
    const store = await PostgresStore.open({ pool: counted.pool, schema: 'rt_claim' });
    const step = (activationId: string): StepMessage => ({
      runId: 'r',
      activationId,
      agentId: 'a',
      version: 0,
      changed: [[]],
      depth: 1,
      attempt: 1,
    });
    const request = (seen?: Map<string, number>) => ({
      queue: 'q',
      owner: 'w',
      agents: ['a'],
      limit: 10,
      leaseMs: 10_000,
      maxClaims: 3,
      ...(seen ? { seen } : {}),
    });
    try {
      await store.openRun('r', {});
      for (let i = 0; i < 3; i++)
        expect((await store.commit('r', draft(i, [`k${i}`]), [[`k${i}`]])).ok).toBe(true);
      await store.dispatch('q', step('s1'));
      await store.dispatch('q', step('s2'));
      // Two steps of the run, one statement: the events after seq 1 come once, on one of them.
      const before = counted.sent.length;
      const claims = await store.claim(request(new Map([['r', 1]])));
      expect(counted.sent.slice(before).filter((s) => !ANNOUNCE.test(s)).length).toBeLessThanOrEqual(2);
      expect(claims).toHaveLength(2);
      const withEvents = claims.filter((c) => c.events !== undefined);
      expect(withEvents).toHaveLength(1);
      expect(withEvents[0]!.events!.map((e) => e.seq)).toEqual([2, 3]);
      expect(withEvents[0]!.events).toEqual(await store.read('r', 2));
      // A run the worker has no board of: nothing comes.
      await store.dispatch('q', step('s3'));
      const [bare] = await store.claim(request());
      expect(bare?.events).toBeUndefined();
      // A board at the head: an empty list.
      await store.dispatch('q', step('s4'));
      const [current] = await store.claim(request(new Map([['r', 3]])));
      expect(current?.events).toEqual([]);
    } finally {
      await store.close();
      await counted.pool.end();
    }
  });

  it("claims a worker's next step while the last one's end is still being recorded", async () => {
    const dispatching = countingPool(clusterOf().connectionString);
    const working = countingPool(clusterOf().connectionString);
    const dispatcherStore = await PostgresStore.open({ pool: dispatching.pool, schema: 'rt_overlap' });
    const workerStore = await PostgresStore.open({ pool: working.pool, schema: 'rt_overlap' });
    const END = /^WITH u AS \(\s*UPDATE/;
    const CLAIM = /^WITH c AS \(\s*SELECT run, activation/;
    // Every step's end is held on its way to the server: with one slot, the next claim must not wait for it.
    const release = working.hold(END);
    const worker = team(workerStore, 1, 'worker');
    const dispatcher = team(dispatcherStore, 1, 'dispatcher');
    try {
      const run = dispatcher.run({ n: 3 }, { runId: 'overlap' });
      await expect
        .poll(() => working.sent.findIndex((s) => END.test(s)), { timeout: 20_000 })
        .toBeGreaterThan(-1);
      const firstEnd = working.sent.findIndex((s) => END.test(s));
      await expect
        .poll(() => working.sent.slice(firstEnd).some((s) => CLAIM.test(s)), { timeout: 20_000 })
        .toBe(true);
      release();
      const result = await run;
      expect(result.outcome).toBe('completed');
      expect(result.board.total).toBe(3);
    } finally {
      release();
      await dispatcher.close();
      await worker.close();
      await dispatcherStore.close();
      await workerStore.close();
      await dispatching.pool.end();
      await working.pool.end();
    }
  });
});

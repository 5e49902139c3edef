import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { createBlackboard } from '../../src/blackboard/index.js';
import { PostgresStore } from '../../src/postgres/index.js';
import type { Claim, StepMessage } from '../../src/workers/index.js';
import { fenceOf } from '../../src/workers/index.js';
import { type Cluster, postgresAvailable, startCluster } from '../support/postgres.js';

const available = postgresAvailable('PostgresStore activation queue');
const Counter = z.object({ n: z.number() });

const step = (runId: string, activationId: string, agentId = 'a', attempt = 1): StepMessage => ({
  runId,
  activationId,
  agentId,
  version: 0,
  changed: [[]],
  depth: 1,
  attempt,
});

describe.runIf(available)('the activation queue on PostgreSQL', () => {
  let cluster: Cluster;
  const stores: PostgresStore[] = [];
  const open = async () => {
    const s = await PostgresStore.open({
      connectionString: cluster.connectionString,
      schema: 'queue',
      pollMs: 100,
    });
    stores.push(s);
    return s;
  };
  beforeAll(async () => {
    cluster = await startCluster();
  }, 120_000);
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await cluster?.stop();
  });

  /**
   * Waits until an activation's lease has expired by the database's clock (the clock leases are timed by),
   * reading the row without touching it: a heartbeat would renew the lease it asks about.
   */
  const leaseExpired = async (runId: string, activationId: string) => {
    const client = new pg.Client({ connectionString: cluster.connectionString });
    await client.connect();
    try {
      await vi.waitFor(
        async () => {
          const { rows } = await client.query<{ expired: boolean }>(
            `SELECT lease_until < clock_timestamp() AS expired FROM "queue".activations
              WHERE run = $1 AND activation = $2`,
            [runId, activationId],
          );
          expect(rows).toEqual([{ expired: true }]);
        },
        { timeout: 30_000, interval: 20 },
      );
    } finally {
      await client.end();
    }
  };

  const claimOne = async (store: PostgresStore, owner: string, leaseMs: number): Promise<Claim> => {
    const [claim] = await store.claim({ queue: 'q', owner, agents: ['a'], limit: 1, leaseMs, maxClaims: 5 });
    expect(claim).toBeDefined();
    return claim!;
  };

  it('fences a worker whose lease expired: its heartbeat, commit and completion are refused', async () => {
    const a = await open();
    const b = await open();
    const board = await createBlackboard({ schema: Counter, initial: { n: 0 }, store: a, runId: 'fence' });
    await a.dispatch('q', step('fence', 'inc#1'));
    const first = await claimOne(a, 'worker-a', 60_000);
    expect(first).toMatchObject({ activationId: 'inc#1', token: 1, claims: 1 });
    expect(await a.heartbeat(first, 60_000)).toBe(true);
    // Nobody else can take it while the lease holds (a minute: however slow the machine, it still holds).
    expect(
      await b.claim({ queue: 'q', owner: 'worker-b', agents: ['a'], limit: 5, leaseMs: 300, maxClaims: 5 }),
    ).toEqual([]);
    // A last heartbeat shortens the lease to 1 ms; the worker then stalls past it.
    expect(await a.heartbeat(first, 1)).toBe(true);
    await leaseExpired('fence', 'inc#1');
    // Expired, not yet reclaimed: already refused.
    expect(await a.heartbeat(first, 300)).toBe(false);
    const late = await board.commit({
      baseVersion: 0,
      reads: [],
      patches: [{ op: 'replace', path: ['n'], value: 1 }],
      author: 'a',
      activationId: 'inc#1',
      idempotencyKey: 'inc#1:1',
      fence: fenceOf(first),
    });
    expect(late.ok).toBe(false);
    expect(!late.ok && late.error).toMatchObject({
      code: 'fenced',
      fence: { activationId: 'inc#1', token: 1 },
    });
    // Its messages are refused too, and the log does not grow.
    const seqBefore = board.seq;
    const note = await board.publish('progress', { step: 1 }, { author: 'a', fence: fenceOf(first) });
    expect(!note.ok && note.error).toMatchObject({ code: 'fenced', fence: { token: 1 } });
    expect(board.seq).toBe(seqBefore);
    const second = await claimOne(b, 'worker-b', 5_000);
    expect(second).toMatchObject({ token: 2, claims: 2 });
    const noted = await board.publish('progress', { step: 1 }, { author: 'a', fence: fenceOf(second) });
    expect(noted.ok && noted.event).toMatchObject({ topic: 'progress', seq: seqBefore + 1 });
    const now = await board.commit({
      baseVersion: 0,
      reads: [],
      patches: [{ op: 'replace', path: ['n'], value: 1 }],
      author: 'a',
      activationId: 'inc#1',
      idempotencyKey: 'inc#1:1',
      fence: fenceOf(second),
    });
    expect(now.ok).toBe(true);
    // The first worker wakes up and reports: too late, its result is dropped.
    expect(await a.complete(first, { status: 'settled' })).toBe('fenced');
    const waited = a.awaitResult(
      { runId: 'fence', activationId: 'inc#1', attempt: 1 },
      new AbortController().signal,
    );
    expect(await b.complete(second, { status: 'settled', transitions: [['idle', 'done', 'board']] })).toBe(
      'completed',
    );
    // Asked again (its first answer was lost): the same result is recorded already; another one is not.
    expect(await b.complete(second, { status: 'settled', transitions: [['idle', 'done', 'board']] })).toBe(
      'completed',
    );
    expect(await b.complete(second, { status: 'failed', error: 'late' })).toBe('fenced');
    expect(await waited).toEqual({ status: 'settled', transitions: [['idle', 'done', 'board']] });
    expect(board.state.n).toBe(1);
    expect(board.version).toBe(1);
    await board.close();
  });

  it('takes back a released claim at once, without counting it, and fences its old holder', async () => {
    const s = await open();
    await createBlackboard({ schema: Counter, initial: { n: 0 }, store: s, runId: 'given' }).then((b) =>
      b.close(),
    );
    await s.dispatch('q', step('given', 'g#1'));
    const first = await claimOne(s, 'closing', 60_000);
    expect(first).toMatchObject({ activationId: 'g#1', claims: 1 });
    await s.release(first);
    // The lease was a minute long: only the release lets another worker take it now.
    const second = await claimOne(s, 'other', 60_000);
    expect(second).toMatchObject({ activationId: 'g#1', claims: 1, token: first.token + 1 });
    expect(await s.heartbeat(first, 60_000)).toBe(false);
    // A stale release does nothing to the new holder's claim.
    await s.release(first);
    expect(await s.heartbeat(second, 60_000)).toBe(true);
    // A result with any character in it (\u0000 included, which jsonb refuses) is recorded, and again.
    const odd = { status: 'failed' as const, error: 'nul \u0000 "quoted" \\ é' };
    expect(await s.complete(second, odd)).toBe('completed');
    expect(await s.complete(second, odd)).toBe('completed');
    expect(await s.awaitResult(second, AbortSignal.timeout(5_000))).toEqual(odd);
  });

  it('gives each step to exactly one of several claimers (FOR UPDATE SKIP LOCKED)', async () => {
    const queue = await open();
    await createBlackboard({ schema: Counter, initial: { n: 0 }, store: queue, runId: 'many' }).then((b) =>
      b.close(),
    );
    for (let i = 0; i < 200; i++) await queue.dispatch('q', step('many', `s#${i}`));
    const claimers = await Promise.all(Array.from({ length: 4 }, () => open()));
    const taken = await Promise.all(
      claimers.map(async (s, w) => {
        const mine: string[] = [];
        for (;;) {
          const claims = await s.claim({
            queue: 'q',
            owner: `w${w}`,
            agents: ['a'],
            limit: 7,
            leaseMs: 60_000,
            maxClaims: 3,
          });
          if (claims.length === 0) return mine;
          mine.push(...claims.map((c) => c.activationId));
        }
      }),
    );
    const all = taken.flat();
    expect(all).toHaveLength(200);
    expect(new Set(all).size).toBe(200);
    // Contention was real: more than one claimer got work.
    expect(taken.filter((t) => t.length > 0).length).toBeGreaterThan(1);
  });

  it('fails a step whose lease expired maxClaims times, and queues a cancelled step again', async () => {
    const s = await open();
    await createBlackboard({ schema: Counter, initial: { n: 0 }, store: s, runId: 'poison' }).then((b) =>
      b.close(),
    );
    await s.dispatch('q', step('poison', 'p#1'));
    const key = { runId: 'poison', activationId: 'p#1', attempt: 1 };
    for (let i = 1; i <= 2; i++) {
      const [c] = await s.claim({
        queue: 'q',
        owner: 'w',
        agents: ['a'],
        limit: 1,
        leaseMs: 100,
        maxClaims: 2,
      });
      expect(c?.claims).toBe(i);
      await leaseExpired('poison', 'p#1');
    }
    // Each store looks for such steps at most every 500 ms per queue, by the process's clock: a claim on
    // another queue of the same store (a child team's) just before does not put off this queue's look (it
    // once did, and the step then waited for ever). Only Date is faked: the pg client keeps its timers.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      vi.setSystemTime(Date.now() + 500);
      await s.claim({ queue: 'other', owner: 'w', agents: ['a'], limit: 1, leaseMs: 100, maxClaims: 2 });
      expect(
        await s.claim({ queue: 'q', owner: 'w', agents: ['a'], limit: 1, leaseMs: 100, maxClaims: 2 }),
      ).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
    const result = await s.awaitResult(key, AbortSignal.timeout(10_000));
    expect(result?.status).toBe('failed');
    expect(result?.error).toMatch(/lease expired 2 times/);

    await s.dispatch('q', step('poison', 'c#1'));
    const ckey = { runId: 'poison', activationId: 'c#1', attempt: 1 };
    await s.cancel(ckey, 'stopped');
    expect(await s.awaitResult(ckey, new AbortController().signal)).toBeUndefined();
    await s.dispatch('q', step('poison', 'c#1'));
    const [again] = await s.claim({
      queue: 'q',
      owner: 'w',
      agents: ['a'],
      limit: 1,
      leaseMs: 5_000,
      maxClaims: 2,
    });
    expect(again).toMatchObject({ activationId: 'c#1', claims: 1 });
    // A cancelled step's worker learns it at its next heartbeat.
    await s.cancel(ckey, 'stopped');
    expect(await s.heartbeat(again!, 5_000)).toBe(false);
  });
});

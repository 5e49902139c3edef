/**
 * What an attacker's pass over issue 22 broke, each kept broken by a test: two starts of one run racing,
 * a failed start deleting another process's run, a board telling a worker that lost its lease that its
 * commit is a duplicate, a runtime closed during an outage, and boards holding on to a long-lived signal.
 */
import { getEventListeners } from 'node:events';
import {
  type BoardEvent,
  createBlackboard,
  createRuntime,
  defineAgent,
  MemoryStore,
  type MessageDraft,
  type Store,
  stepMachine,
} from 'hearsay';
import { PostgresStore } from 'hearsay/postgres';
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { StepMessage } from '../../src/workers/index.js';
import { useCluster } from '../support/cluster-suite.js';
import { postgresAvailable } from '../support/postgres.js';

const Board = z.object({ go: z.boolean(), who: z.string(), done: z.number() });
type B = z.output<typeof Board>;

/** One agent that, once the run has its input, counts how many times it ran (on its own, per process). */
function team(store: Store, ran: { n: number }) {
  const agent = defineAgent<B>({
    id: 'agent',
    watches: [['go']],
    writes: [['done']],
    machine: stepMachine<B, null>({
      when: (b) => b.go && b.done === 0,
      work: async () => {
        ran.n += 1;
        return null;
      },
      done: (d) => {
        d.done = 1;
      },
    }),
  });
  return createRuntime({
    board: { schema: Board, initial: { go: false, who: '', done: 0 } },
    agents: [agent],
    store,
    goal: (b) => b.done === 1,
  });
}

const step = (runId: string, activationId: string): StepMessage => ({
  runId,
  activationId,
  agentId: 'a',
  version: 0,
  changed: [[]],
  depth: 1,
  attempt: 1,
});

describe.runIf(postgresAvailable('issue 22 review on PostgreSQL'))('issue 22 review (PostgreSQL)', () => {
  const clusterOf = useCluster();
  const open = (schema: string) =>
    PostgresStore.open({ connectionString: clusterOf().connectionString, schema });

  it('lets exactly one of two racing starts of the same run win', async () => {
    const [sa, sb] = await Promise.all([open('race'), open('race')]);
    const ran = { n: 0 };
    const [a, b] = [team(sa, ran), team(sb, ran)];
    for (let i = 0; i < 8; i++) {
      const runId = `race-${i}`;
      const starts = await Promise.allSettled([
        a.start({ go: true, who: 'alice' }, { runId }),
        b.start({ go: true, who: 'bob' }, { runId }),
      ]);
      const won = starts.filter((s) => s.status === 'fulfilled');
      expect(won).toHaveLength(1);
      const result = await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof a.start>>>).value
        .result;
      expect(result.outcome).toBe('completed');
      // The loser was told, and its input is nowhere: one input on the log.
      const refused = starts.find((s) => s.status === 'rejected') as PromiseRejectedResult;
      expect(String(refused.reason)).toMatch(/started by another process|already holds/);
      const inputs = (await sa.read(runId, 1)).filter((e) => e.type === 'commit' && e.author === 'input');
      expect(inputs).toHaveLength(1);
    }
    expect(ran.n).toBe(8);
    await Promise.all([a.close(), b.close()]);
    await Promise.all([sa.close(), sb.close()]);
  });

  it("refuses a fenced board commit once the lease is lost, even when the successor's commit has the key", async () => {
    const store = await open('fenced_board');
    const board = await createBlackboard({
      schema: z.object({ n: z.number() }),
      initial: { n: 0 },
      store,
      runId: 'r',
    });
    await store.dispatch('q', step('r', 'a1'));
    const request = { queue: 'q', owner: 'w', agents: ['a'], limit: 1, leaseMs: 100, maxClaims: 5 };
    const [first] = await store.claim(request);
    // Lost once the lease has expired by the database's clock (the row is read, not renewed).
    const client = new pg.Client({ connectionString: clusterOf().connectionString });
    await client.connect();
    try {
      await vi.waitFor(
        async () => {
          const { rows } = await client.query(
            `SELECT lease_until < clock_timestamp() AS expired FROM "fenced_board".activations
              WHERE run = 'r' AND activation = 'a1'`,
          );
          expect(rows).toEqual([{ expired: true }]);
        },
        { timeout: 30_000, interval: 20 },
      );
    } finally {
      await client.end();
    }
    const [second] = await store.claim({ ...request, leaseMs: 60_000 });
    expect(second!.token).toBeGreaterThan(first!.token);
    const commit = (token: number) =>
      board.commit({
        baseVersion: board.version,
        reads: [],
        patches: [{ op: 'replace', path: ['n'], value: 1 }],
        author: 'a',
        idempotencyKey: 'a1:1',
        fence: { activationId: 'a1', attempt: 1, token },
      });
    const successor = await commit(second!.token);
    expect(successor.ok, JSON.stringify(successor)).toBe(true);
    const late = await commit(first!.token);
    expect(late.ok).toBe(false);
    if (!late.ok) expect(late.error.code).toBe('fenced');
    await board.close();
    await store.close();
  });

  it('bounds worker.leaseMs, and says once (not never) why a worker cannot claim', async () => {
    const store = await PostgresStore.open({
      connectionString: clusterOf().connectionString,
      schema: 'claims',
      pollMs: 100,
    });
    expect(() =>
      createRuntime({
        board: { schema: Board, initial: { go: false, who: '', done: 0 } },
        agents: [],
        store,
        role: 'worker',
        worker: { leaseMs: 1e16 },
      }),
    ).toThrow(/one day/);
    // A store whose claims fail with what waiting will not mend (a permission, a read-only server).
    let tries = 0;
    const refusing = new Proxy(store, {
      get(target, key, receiver) {
        if (key === 'claim')
          return () => {
            tries += 1;
            return Promise.reject(new Error('permission denied for table activations'));
          };
        const value = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args.map(String).join(' '));
    try {
      const worker = createRuntime({
        board: { schema: Board, initial: { go: false, who: '', done: 0 } },
        agents: [],
        store: refusing,
        role: 'worker',
        worker: { id: 'w-refused' },
      });
      // Tried again and again (every poll), said once.
      await expect.poll(() => tries, { timeout: 20_000 }).toBeGreaterThanOrEqual(3);
      await worker.close();
    } finally {
      console.warn = warn;
    }
    expect(warnings.filter((w) => w.includes('permission denied'))).toHaveLength(1);
    await store.close();
  });

  it('deletes, for a failed start, only a run that is still empty in the store', async () => {
    const store = await open('ifempty');
    await store.openRun('busy', {});
    await store.append('busy', { topic: 't', payload: 1, author: 'x', time: 0 });
    await store.openRun('empty', {});
    expect(await store.deleteRun('busy', { ifEmpty: true })).toBe(false);
    expect(await store.deleteRun('empty', { ifEmpty: true })).toBe(true);
    expect((await store.listRuns()).sort()).toEqual(['busy']);
    await store.close();
  });
});

describe('issue 22 review (any store)', () => {
  it("does not delete another start's run when its own start fails", async () => {
    const shared = new MemoryStore();
    // B's view of the store fails its commits (a statement timeout, say); A's works.
    const failing = new Proxy(shared, {
      get(target, key, receiver) {
        if (key === 'commit')
          return () => Promise.reject(new Error('canceling statement due to statement timeout'));
        const value = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const ran = { n: 0 };
    const [a, b] = [team(shared, ran), team(failing, ran)];
    const [sa, sb] = await Promise.allSettled([
      a.start({ go: true, who: 'alice' }, { runId: 'X' }),
      b.start({ go: true, who: 'bob' }, { runId: 'X' }),
    ]);
    expect(sb.status).toBe('rejected');
    expect(sa.status).toBe('fulfilled');
    const result = await (sa as PromiseFulfilledResult<Awaited<ReturnType<typeof a.start>>>).value.result;
    expect(result.outcome).toBe('completed');
    expect(await shared.listRuns()).toEqual(['X']);
    await Promise.all([a.close(), b.close()]);
  });

  it('ends a run cleanly when its runtime closes while the store is unreachable', async () => {
    const outage = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    class Down extends MemoryStore {
      down = false;
      isOutage = (e: unknown) => (e as { code?: string } | null)?.code === 'ECONNRESET';
      override append(...args: Parameters<MemoryStore['append']>) {
        return this.down ? Promise.reject(outage()) : super.append(...args);
      }
      async appendMany(runId: string, drafts: readonly MessageDraft[]) {
        if (this.down) throw outage();
        const out = [];
        for (const d of drafts) out.push(await super.append(runId, d));
        return out;
      }
    }
    const store = new Down();
    const release = { go: () => {} };
    // The runtime closes while the activation is in flight: once its work has started.
    let started!: () => void;
    const working = new Promise<void>((r) => {
      started = r;
    });
    const agent = defineAgent<B>({
      id: 'agent',
      watches: [['go']],
      writes: [['done']],
      machine: stepMachine<B, null>({
        when: (b) => b.go && b.done === 0,
        work: (event: BoardEvent<B>) =>
          new Promise<null>((resolve) => {
            release.go = () => resolve(null);
            event.tools.signal.addEventListener('abort', () => resolve(null));
            started();
          }),
        done: (d) => {
          d.done = 1;
        },
      }),
    });
    const runtime = createRuntime({
      board: { schema: Board, initial: { go: false, who: '', done: 0 } },
      agents: [agent],
      store,
      goal: (b) => b.done === 1,
    });
    const handle = await runtime.start({ go: true, who: 'x' });
    await working;
    store.down = true;
    await runtime.close();
    // The result resolves (no unhandled rejection from the outcome record that could not be written).
    const result = await handle.result;
    expect(result.outcome).toBe('cancelled');
  });

  it('lets go of a long-lived signal when its boards close', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 30; i++) {
      const board = await createBlackboard({
        schema: z.object({ n: z.number() }),
        initial: { n: 0 },
        runId: `b${i}`,
        signal: controller.signal,
      });
      await board.close();
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

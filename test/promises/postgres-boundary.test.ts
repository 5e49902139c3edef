/**
 * Issue 22, item 4: raw database errors at the boundary. A run id holding NUL gave `pg`'s DatabaseError
 * 22021, one over ~8,000 bytes gave 22023 from NOTIFY. Now ids are checked with documented bounds and typed
 * errors before they reach SQL; what PostgreSQL still refuses reaches the caller as a `BlackboardError`
 * (`store_failure`) with the original as `cause`; an outage stays what `isOutage` recognises. Also: each
 * store's connections carry an `application_name` naming the process or worker.
 */
import { spawn } from 'node:child_process';
import { BlackboardError, createBlackboard, createRuntime } from 'hearsay';
import { isPostgresOutage, PostgresStore } from 'hearsay/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Board, interruptTeam } from '../fixtures/interrupted-runs.js';
import { workerTeam } from '../fixtures/worker-team.js';
import { type Cluster, postgresAvailable, startCluster } from '../support/postgres.js';

const root = new URL('../..', import.meta.url).pathname;

const caught = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

/** Ids no PostgreSQL store takes, each with what was wrong with it, and whether every store refuses it. */
const badRunIds: [string, string, boolean][] = [
  ['a NUL', 'nul\u0000id', true],
  ['a newline (the notifications separator)', 'a\nb', true],
  ['9,000 characters (over NOTIFY payload limit)', 'x'.repeat(9000), true],
  ['400 three-byte characters (over the PostgreSQL store byte bound)', '€'.repeat(400), false],
  ['a lone surrogate', 'ab\udc00', true],
  ['nothing', '', true],
];

describe.runIf(postgresAvailable('PostgreSQL boundary'))('PostgreSQL at the boundary', () => {
  let cluster: Cluster;
  let pool: pg.Pool;
  beforeAll(async () => {
    cluster = await startCluster();
    pool = new pg.Pool({ connectionString: cluster.connectionString });
  }, 120_000);
  afterAll(async () => {
    await pool?.end();
    await cluster?.stop();
  });

  const runRows = async (schema: string) =>
    Number((await pool.query(`SELECT count(*) AS n FROM "${schema}".runs`)).rows[0].n);

  it.each(badRunIds)(
    'refuses a run id with %s as invalid_id, wherever it enters, leaving no row',
    async (_what, runId, everywhere) => {
      const store = await PostgresStore.open({ connectionString: cluster.connectionString, schema: 'ids' });
      const runtime = interruptTeam(store, async () => 1);
      const before = await runRows('ids');
      for (const attempt of [
        () => runtime.start({ go: true }, { runId }),
        () => runtime.run(undefined, { runId }),
        // An id within the shared bound is looked for, and not found (a TypeError, as for any run not held).
        ...(everywhere ? [() => runtime.resume(runId)] : []),
        () => createBlackboard({ schema: Board, initial: { go: false, n: 0 }, store, runId }),
        () => store.openRun(runId, { go: false, n: 0 }),
      ]) {
        const error = await caught(attempt());
        expect(error).toBeInstanceOf(BlackboardError);
        expect(error).toMatchObject({ code: 'invalid_id', details: { id: 'runId' } });
        expect((error as Error).message).toMatch(/run id/);
      }
      expect(await runRows('ids')).toBe(before);
      await runtime.close();
      await store.close();
    },
  );

  it('wraps what PostgreSQL refuses in a store_failure with the database error as cause', async () => {
    const store = await PostgresStore.open({ connectionString: cluster.connectionString, schema: 'wrapped' });
    const board = await createBlackboard({
      schema: z.object({ n: z.number() }),
      initial: { n: 0 },
      store,
      runId: 'r',
    });
    // An idempotency key reaches a text column: PostgreSQL cannot hold its NUL.
    const error = await caught(
      board.commit({
        baseVersion: 0,
        reads: [],
        patches: [{ op: 'replace', path: ['n'], value: 1 }],
        author: 'me',
        idempotencyKey: 'key\u0000',
      }),
    );
    expect(error).toBeInstanceOf(BlackboardError);
    expect(error).toMatchObject({ code: 'store_failure', details: { sqlState: '22021' } });
    expect((error as Error).message).toMatch(/NUL/);
    const cause = (error as Error).cause as { code?: string; name?: string };
    expect(cause).toBeInstanceOf(Error);
    expect(cause.code).toBe('22021');
    // A refusal is not an outage: nothing waits for it to pass.
    expect(store.isOutage(error)).toBe(false);
    expect(isPostgresOutage(error)).toBe(false);
    // Nothing was written; the board goes on.
    expect(
      (
        await board.commit({
          baseVersion: 0,
          reads: [],
          patches: [{ op: 'replace', path: ['n'], value: 2 }],
          author: 'me',
        })
      ).ok,
    ).toBe(true);
    await board.close();
    await store.close();
  });

  it('refuses worker queue names and ids the database cannot hold when the runtime is created', () => {
    const open = PostgresStore.open({ connectionString: cluster.connectionString, schema: 'names' });
    return open.then(async (store) => {
      for (const worker of [{ id: 'w\u0000' }, { queue: 'q'.repeat(5000) }, { queue: '' }, { id: 'a\nb' }]) {
        let error: unknown;
        try {
          workerTeam(store as never, { role: 'worker', worker }).close();
        } catch (e) {
          error = e;
        }
        expect(error).toMatchObject({ name: 'BlackboardError', code: 'invalid_id' });
      }
      await store.close();
    });
  });

  it('completes a pooled step whose activation id is over NOTIFY payload limit (an item key of 8,100 bytes)', async () => {
    const store = await PostgresStore.open({
      connectionString: cluster.connectionString,
      schema: 'longkeys',
      pollMs: 200,
    });
    const runtime = workerTeam(store as never, {
      role: 'worker',
      worker: { id: 'long-keys', leaseMs: 5_000 },
    });
    const key = '€'.repeat(2700);
    const result = await runtime.run({ n: 1, items: { [key]: { status: 'open', count: 0 } } } as never);
    expect(result.outcome).toBe('completed');
    expect((result.board as { total?: number }).total).toBe(1);
    // Each step's completion was recorded and announced (a refused NOTIFY failed the item's, silently).
    const done = Number(
      (await pool.query(`SELECT count(*) AS n FROM longkeys.activations WHERE status = 'done'`)).rows[0].n,
    );
    expect(runtime.worker!.stats.completed).toBe(done);
    await runtime.close();
    await store.close();
  });

  it("names each store's connections after its process, or the worker given", async () => {
    const named = await PostgresStore.open({
      connectionString: cluster.connectionString,
      schema: 'appname',
      applicationName: 'hearsay-worker-7',
    });
    const plain = await PostgresStore.open({ connectionString: cluster.connectionString, schema: 'appname' });
    await Promise.all([named.listRuns(), plain.listRuns()]);
    const names = (
      await pool.query<{ application_name: string }>('SELECT application_name FROM pg_stat_activity')
    ).rows.map((r) => r.application_name);
    expect(names).toContain('hearsay-worker-7');
    expect(names).toContain(`hearsay-${process.pid}`);
    // A pool the user gives is named by the user.
    await expect(PostgresStore.open({ pool, applicationName: 'x' })).rejects.toThrow(
      /application_name on your pool/,
    );
    await expect(
      PostgresStore.open({ connectionString: cluster.connectionString, applicationName: 'é' }),
    ).rejects.toThrow(/printable ASCII/);
    await Promise.all([named.close(), plain.close()]);
  });

  it('a worker process of the worker team shows its worker id in pg_stat_activity', async () => {
    const proc = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/fixtures/worker-team.ts',
        cluster.connectionString,
        'team',
        'named-worker-1',
        '5000',
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((r) => proc.on('exit', r));
    await new Promise<void>((resolve) => {
      let out = '';
      proc.stdout.on('data', (d) => {
        out += d;
        if (out.includes('ready')) resolve();
      });
    });
    // Its worker claims (through its pool) as soon as it is ready: the connection is there.
    let seen = 0;
    for (let i = 0; i < 50 && seen === 0; i++) {
      seen = Number(
        (
          await pool.query(
            `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'named-worker-1'`,
          )
        ).rows[0].n,
      );
      if (seen === 0) await new Promise((r) => setTimeout(r, 100));
    }
    proc.kill('SIGTERM');
    await exited;
    expect(seen).toBeGreaterThan(0);
  });
});

describe.runIf(postgresAvailable('PostgreSQL outages at the boundary'))(
  'PostgreSQL outages stay outages',
  () => {
    it('leaves an outage as isOutage and isPostgresOutage recognise it, from the store and from a run start', async () => {
      const cluster = await startCluster();
      const store = await PostgresStore.open({ connectionString: cluster.connectionString, schema: 'down' });
      const runtime = createRuntime({
        board: { schema: Board, initial: { go: false, n: 0 } },
        agents: [],
        store,
      });
      await runtime.run({ go: true }, { runId: 'before' });
      await cluster.stop();
      // A run start waits the outage out (until the runtime closes: then it fails with the outage's error).
      let settled = false;
      const starting = caught(runtime.start({ go: true }, { runId: 'during' })).finally(() => {
        settled = true;
      });
      const outages = [await caught(store.listRuns()), await caught(store.read('before', 1))];
      expect(settled).toBe(false);
      await runtime.close().catch(() => undefined);
      outages.push(await starting);
      for (const error of outages) {
        expect(error).toBeInstanceOf(Error);
        expect(store.isOutage(error)).toBe(true);
        expect(isPostgresOutage(error)).toBe(true);
        // Not one of the store's own errors, which a worker never waits out.
        expect(error).not.toBeInstanceOf(BlackboardError);
      }
      await store.close();
    }, 120_000);
  },
);

/**
 * No client of the store holds a lock the run needs past `lockTimeoutMs`: a store whose process stops in
 * the middle of a transaction (here: compacting a run, holding the run's row) is ended by the server once
 * idle that long, its transaction rolled back, and another process's commit to the run goes through.
 * Counts and invariants only.
 */
import type { Path } from 'hearsay';
import { isPostgresOutage, PostgresStore } from 'hearsay/postgres';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster-suite.js';
import { postgresAvailable } from '../support/postgres.js';

const available = postgresAvailable('the PostgreSQL lock bound');

describe.runIf(available)("a client paused inside one of the store's transactions", () => {
  const clusterOf = useCluster();

  const draft = (baseVersion: number, writes: Path[], author: string) => ({
    baseVersion,
    reads: [],
    writes,
    patches: [],
    author,
    time: 0,
  });

  it('holds the run only until lockTimeoutMs: then the server ends it and other commits go on', async () => {
    const schema = 'lockbound';
    // The paused process's store, on a pool whose clients this test can hold between two statements.
    const pausedPool = new pg.Pool({ connectionString: clusterOf().connectionString });
    pausedPool.on('error', () => undefined);
    const paused = await PostgresStore.open({ pool: pausedPool, schema, lockTimeoutMs: 300 });
    const other = await PostgresStore.open({
      connectionString: clusterOf().connectionString,
      schema,
      lockTimeoutMs: 300,
    });
    await other.openRun('r', {});
    for (let v = 0; v < 3; v++)
      expect((await other.commit('r', draft(v, [['a']], 'w'), [['a']])).ok).toBe(true);
    await other.saveSnapshot('r', { version: 3, seq: 3, state: {} });

    // Hold the paused store's client before the first DELETE of its compaction: by then it has locked the
    // run's row, and the server sees it idle in its transaction.
    const ours = new Set<unknown>();
    pausedPool.on('acquire', (c) => ours.add(c));
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let held = 0;
    const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      if (
        ours.has(this as pg.PoolClient) &&
        typeof args[0] === 'string' &&
        args[0].startsWith('DELETE FROM')
      ) {
        held += 1;
        return gate.then(() => query.apply(this, args));
      }
      return query.apply(this, args);
    } as typeof pg.Client.prototype.query;
    try {
      const compacting = paused.compact('r');
      await expect.poll(() => held, { timeout: 10_000 }).toBe(1);
      // The run's row is locked by a transaction nobody will finish; a commit still gets through, once
      // the server has ended it.
      const r = await other.commit('r', draft(3, [['b']], 'other'), [['b']]);
      expect(r.ok).toBe(true);
      expect(held).toBe(1);
      release();
      const error = await compacting.then(
        () => undefined,
        (e: unknown) => e,
      );
      // The stopped compaction failed as an outage (its session was ended) and changed nothing.
      expect(error).toBeInstanceOf(Error);
      expect(isPostgresOutage(error)).toBe(true);
      expect((await other.read('r', 1)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      // After the outage the paused store works again (a new connection).
      expect((await paused.commit('r', draft(4, [['c']], 'paused'), [['c']])).ok).toBe(true);
    } finally {
      pg.Client.prototype.query = query as typeof pg.Client.prototype.query;
      release();
      await Promise.all([paused.close(), other.close()]);
      await pausedPool.end();
    }
  }, 60_000);
});

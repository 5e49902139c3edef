/**
 * A database the store migrated before the one-statement commit (migrations 1–3), holding commits, is
 * brought up to date by opening it: commits made before the upgrade are keyed for the conflict rule, and a
 * stale commit overlapping one of them is still refused, while one beside them is accepted.
 */
import { MIGRATIONS, PostgresStore } from 'hearsay/postgres';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster-suite.js';
import { postgresAvailable } from '../support/postgres.js';

describe.runIf(postgresAvailable('the PostgreSQL upgrade'))('a store upgraded in place', () => {
  const clusterOf = useCluster();

  it('decides conflicts against commits made before the upgrade', async () => {
    const schema = 'upgraded';
    const client = new pg.Client({ connectionString: clusterOf().connectionString });
    await client.connect();
    // The schema as an older store left it, with two commits of run r: v1 wrote tasks.t1.status, v2 notes.
    await client.query(`CREATE SCHEMA "${schema}"`);
    await client.query(
      `CREATE TABLE "${schema}".migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    for (const [version, sql] of MIGRATIONS.filter(([v]) => v <= 3)) {
      await client.query(sql.replaceAll('"hearsay".', `"${schema}".`));
      await client.query(`INSERT INTO "${schema}".migrations (version) VALUES ($1)`, [version]);
    }
    await client.query(`INSERT INTO "${schema}".runs (id, seq, version) VALUES ('r', 2, 2)`);
    await client.query(
      `INSERT INTO "${schema}".snapshots (run, version, seq, state) VALUES ('r', 0, 0, '{}')`,
    );
    const old = [
      [1, [['tasks', 't1', 'status']]],
      [2, [['notes', 0]]],
    ] as const;
    for (const [v, writes] of old)
      await client.query(
        `INSERT INTO "${schema}".events (run, seq, type, version, writes, body) VALUES ('r', $1, 'commit', $1, $2, $3)`,
        [
          v,
          JSON.stringify(writes),
          JSON.stringify({
            type: 'commit',
            runId: 'r',
            seq: v,
            version: v,
            baseVersion: v - 1,
            reads: [],
            writes,
            patches: [],
            author: 'old',
            time: 0,
          }),
        ],
      );
    await client.end();

    const store = await PostgresStore.open({ connectionString: clusterOf().connectionString, schema });
    const commit = (touched: (string | number)[][]) =>
      store.commit(
        'r',
        { baseVersion: 0, reads: [], writes: touched, patches: [], author: 'new', time: 0 },
        touched,
      );
    // Over an ancestor, a descendant, the same path and (as text) the same index: refused.
    for (const touched of [[['tasks']], [['tasks', 't1', 'status', 'x']], [['notes', '0']], [['notes', 0]]]) {
      const r = await commit(touched);
      expect(r.ok, JSON.stringify(touched)).toBe(false);
    }
    // Beside them: accepted.
    expect((await commit([['tasks', 't2']])).ok).toBe(true);
    expect((await commit([['notes', 1]])).ok).toBe(true);
    await store.close();
  });
});

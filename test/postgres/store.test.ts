import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBlackboard } from '../../src/blackboard/index.js';
import { MIGRATIONS, PostgresStore } from '../../src/postgres/index.js';
import { describeStoreConformance } from '../blackboard/store-conformance.js';
import { type Cluster, postgresAvailable, startCluster } from '../support/postgres.js';

const available = postgresAvailable('PostgresStore');

describe.runIf(available)('PostgresStore', () => {
  let cluster: Cluster;
  let pool: pg.Pool;
  let n = 0;

  beforeAll(async () => {
    cluster = await startCluster();
    pool = new pg.Pool({ connectionString: cluster.connectionString, max: 20 });
  }, 120_000);
  afterAll(async () => {
    await pool?.end();
    await cluster?.stop();
  });

  // A fresh, empty store each time: its own schema in the throwaway cluster.
  describeStoreConformance(
    'PostgresStore',
    async () => {
      const schema = `conformance_${++n}`;
      const store = await PostgresStore.open({ pool, schema });
      return {
        store,
        dispose: async () => {
          await store.close();
          await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
        },
      };
    },
    60,
  );

  it('migrates once, whichever of several processes opens the store first, and keeps its data', async () => {
    const stores = await Promise.all(
      Array.from({ length: 4 }, () =>
        PostgresStore.open({ connectionString: cluster.connectionString, schema: 'shared' }),
      ),
    );
    await stores[0]!.openRun('r', { n: 0 });
    const c = await stores[1]!.commit(
      'r',
      {
        baseVersion: 0,
        reads: [],
        writes: [['n']],
        patches: [{ op: 'replace', path: ['n'], value: 1 }],
        author: 'a',
        time: 1,
      },
      [['n']],
    );
    expect(c.ok).toBe(true);
    const again = await PostgresStore.open({ connectionString: cluster.connectionString, schema: 'shared' });
    expect((await again.read('r', 1)).map((e) => e.seq)).toEqual([1]);
    const { rows } = await pool.query('SELECT version FROM "shared".migrations');
    expect(rows).toEqual(MIGRATIONS.map(([version]) => ({ version })));
    await Promise.all([...stores, again].map((s) => s.close()));
  });

  it('reads back every event byte for byte, strings with any character included', async () => {
    const store = await PostgresStore.open({ pool, schema: 'bytes' });
    await store.openRun('r', { s: '' });
    const odd = 'nul \u0000, emoji 🧠, quote ", backslash \\, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢';
    const r = await store.commit(
      'r',
      {
        baseVersion: 0,
        reads: [],
        writes: [['s']],
        patches: [{ op: 'replace', path: ['s'], value: odd }],
        author: 'a',
        time: 1,
      },
      [['s']],
    );
    expect(r.ok).toBe(true);
    const [event] = await store.read('r', 1);
    expect(JSON.stringify(event)).toBe(JSON.stringify(r.ok ? r.event : undefined));
    await store.close();
  });

  it('compacts a run to its newest snapshot, as the file store does, and numbers on from the head', async () => {
    const store = await PostgresStore.open({ pool, schema: 'compact' });
    const Schema = z.object({ n: z.number() });
    const board = await createBlackboard({
      schema: Schema,
      initial: { n: 0 },
      store,
      runId: 'r',
      snapshotEvery: 10,
    });
    const bump = (d: { n: number }) => {
      d.n += 1;
    };
    for (let i = 1; i <= 25; i++) await board.transact(bump, { author: 'w' });
    expect(await store.compact('r')).toEqual({ removedRecords: 20 });
    const again = await createBlackboard({ schema: Schema, initial: { n: 0 }, store, runId: 'r' });
    expect(again.version).toBe(25);
    expect(again.state).toEqual({ n: 25 });
    expect((await again.at(22)).n).toBe(22);
    const stale = await again.commit({
      baseVersion: 5,
      reads: [['n']],
      patches: [{ op: 'replace', path: ['n'], value: 0 }],
      author: 'late',
    });
    expect(stale).toMatchObject({ ok: false, error: { code: 'conflict', reason: 'base_too_old' } });
    expect(await again.transact(bump, { author: 'w' })).toMatchObject({
      ok: true,
      event: { seq: 26, version: 26 },
    });
    expect((await store.read('r', 1)).map((e) => e.seq)).toEqual([21, 22, 23, 24, 25, 26]);
    await Promise.all([board.close(), again.close()]);
    await store.close();
  });

  it('reads an empty tail of a run in one query, and refuses a run it does not hold', async () => {
    const store = await PostgresStore.open({ pool, schema: 'reads' });
    await store.openRun('r', {});
    expect(await store.read('r', 1)).toEqual([]);
    await store.append('r', { topic: 't', payload: 1, author: 'a', time: 1 });
    expect((await store.read('r', 1)).map((e) => e.seq)).toEqual([1]);
    expect(await store.read('r', 2)).toEqual([]);
    await expect(store.read('ghost', 1)).rejects.toThrow(/No run "ghost"/);
    await store.close();
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    await expect(PostgresStore.open({ pool, schema: 'x"; DROP TABLE y; --' })).rejects.toThrow(
      /lower-case letters/,
    );
  });
});

describe('the documented schema', () => {
  it('is exactly what the store migrates, migration by migration', async () => {
    const { readFileSync } = await import('node:fs');

    const sql = readFileSync(new URL('../../docs/postgres-schema.sql', import.meta.url), 'utf8');
    for (const [version, migration] of MIGRATIONS) {
      expect(sql).toContain(`-- migration ${version}${migration}`);
      expect(sql).toContain(`VALUES (${version});`);
    }
  });
});

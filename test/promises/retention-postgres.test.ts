import { createRuntime, defineAgent, stepMachine } from 'hearsay';
import { PostgresStore } from 'hearsay/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Cluster, postgresAvailable, startCluster } from '../support/postgres.js';

const Board = z.object({ go: z.boolean(), n: z.number() });
type B = z.output<typeof Board>;
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

describe.runIf(postgresAvailable('retention on PostgreSQL'))('retention on PostgreSQL', () => {
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

  const rows = async (schema: string, table: string) =>
    Number((await pool.query(`SELECT count(*) AS n FROM "${schema}"."${table}"`)).rows[0].n);

  it('keeps every run by default: durable data is deleted only when the user asks', async () => {
    const store = await PostgresStore.open({ pool, schema: 'keep_all' });
    const runtime = createRuntime({
      board: { schema: Board, initial: { go: false, n: 0 } },
      agents: [setter],
      store,
    });
    for (let i = 0; i < 12; i++) await runtime.run({ go: true });
    expect(await rows('keep_all', 'runs')).toBe(12);
    expect((await store.endedRuns()).length).toBe(12);
    // Asked: one run goes, with its events and snapshots.
    expect(await runtime.deleteRun('run-3')).toMatchObject({ ok: true });
    expect(await rows('keep_all', 'runs')).toBe(11);
    expect(
      Number((await pool.query(`SELECT count(*) AS n FROM keep_all.events WHERE run = 'run-3'`)).rows[0].n),
    ).toBe(0);
    await runtime.close();
    await store.close();
  });

  it('with a policy, holds the newest maxRuns: their rows and nothing of the others', async () => {
    const store = await PostgresStore.open({ pool, schema: 'bounded' });
    const runtime = createRuntime({
      board: { schema: Board, initial: { go: false, n: 0 } },
      agents: [setter],
      store,
      retention: { maxRuns: 4 },
    });
    for (let i = 0; i < 25; i++) {
      await runtime.run({ go: true });
      expect(await rows('bounded', 'runs')).toBeLessThanOrEqual(4);
    }
    expect((await store.listRuns()).sort()).toEqual(['run-22', 'run-23', 'run-24', 'run-25']);
    const runsOfEvents = (await pool.query('SELECT DISTINCT run FROM bounded.events ORDER BY run')).rows.map(
      (r: { run: string }) => r.run,
    );
    expect(runsOfEvents).toEqual(['run-22', 'run-23', 'run-24', 'run-25']);
    expect(await rows('bounded', 'snapshots')).toBeLessThanOrEqual(4 * 2);
    await runtime.close();
    await store.close();
  });
});

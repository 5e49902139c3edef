import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/blackboard/index.js';
import { PostgresStore } from '../../src/postgres/index.js';
import { workerTeam } from '../fixtures/worker-team.js';
import { type Cluster, postgresAvailable, startCluster } from '../support/postgres.js';

const available = postgresAvailable('workers on PostgreSQL');
const root = new URL('../..', import.meta.url).pathname;

describe.runIf(available)('runs shared by worker processes', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('runs a team on workers in this process as it runs locally', async () => {
    const dispatcherStore = await PostgresStore.open({
      connectionString: cluster.connectionString,
      schema: 'inproc',
      pollMs: 200,
    });
    const workerStores = await Promise.all(
      [1, 2].map(() =>
        PostgresStore.open({ connectionString: cluster.connectionString, schema: 'inproc', pollMs: 200 }),
      ),
    );
    const workers = workerStores.map((store, i) =>
      workerTeam(store, { role: 'worker', worker: { id: `w${i}`, leaseMs: 5_000 } }),
    );
    const dispatcher = workerTeam(dispatcherStore, { role: 'dispatcher' });
    const result = await dispatcher.run({ n: 40 });
    const local = await workerTeam(new MemoryStore()).run({ n: 40 });
    expect(result.outcome).toBe('completed');
    expect(result.board).toEqual(local.board);
    expect(result.board.total).toBe(40);
    const completed = workers.reduce((n, w) => n + w.worker!.stats.completed, 0);
    // 40 items, the feeder and the closer: every step ran on a worker, none twice.
    expect(completed).toBe(42);
    expect(workers.every((w) => w.worker!.stats.completed > 0)).toBe(true);
    await Promise.all([dispatcher, ...workers].map((r) => r.close()));
    await Promise.all([dispatcherStore, ...workerStores].map((s) => s.close()));
  });
});

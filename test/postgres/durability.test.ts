import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBlackboard } from '../../src/blackboard/index.js';
import { PostgresStore } from '../../src/postgres/index.js';
import { type Cluster, postgresAvailable, startCluster } from '../support/postgres.js';

const available = postgresAvailable('PostgresStore durability');
const Counter = z.object({ n: z.number() });

describe.runIf(available)('PostgresStore across processes and restarts', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('loses no update when several processes increment one counter at once', async () => {
    // Four stores on four pools: four processes as PostgreSQL sees them, each with 25 concurrent writers.
    const stores = await Promise.all(
      Array.from({ length: 4 }, () =>
        PostgresStore.open({ connectionString: cluster.connectionString, schema: 'counter' }),
      ),
    );
    const boards = await Promise.all(
      stores.map((store) => createBlackboard({ schema: Counter, initial: { n: 0 }, store, runId: 'c' })),
    );
    let retries = 0;
    await Promise.all(
      boards.flatMap((board) =>
        Array.from({ length: 25 }, async () => {
          for (;;) {
            const r = await board.transact(
              (d) => {
                d.n += 1;
              },
              { author: 'inc' },
            );
            retries += r.attempts - 1;
            if (r.ok) return;
          }
        }),
      ),
    );
    const reader = await PostgresStore.open({
      connectionString: cluster.connectionString,
      schema: 'counter',
    });
    const final = await createBlackboard({ schema: Counter, initial: { n: 0 }, store: reader, runId: 'c' });
    expect(final.state.n).toBe(100);
    expect(final.version).toBe(100);
    // Contention was real: some commits conflicted with another process's and were retried on a newer board.
    expect(retries).toBeGreaterThan(0);
    await Promise.all([...boards, final].map((b) => b.close()));
    await Promise.all([...stores, reader].map((s) => s.close()));
  });

  it('keeps every acknowledged commit through an immediate stop and restart of the server', async () => {
    const store = await PostgresStore.open({ connectionString: cluster.connectionString, schema: 'restart' });
    const board = await createBlackboard({ schema: Counter, initial: { n: 0 }, store, runId: 'r' });
    for (let i = 1; i <= 50; i++)
      expect(
        (
          await board.transact(
            (d) => {
              d.n = i;
            },
            { author: 'w' },
          )
        ).ok,
      ).toBe(true);
    await board.close();
    await store.close();
    await cluster.restart();
    const again = await PostgresStore.open({ connectionString: cluster.connectionString, schema: 'restart' });
    const reopened = await createBlackboard({ schema: Counter, initial: { n: 0 }, store: again, runId: 'r' });
    expect(reopened.version).toBe(50);
    expect(reopened.state.n).toBe(50);
    // And it takes commits again.
    expect(
      (
        await reopened.transact(
          (d) => {
            d.n = 51;
          },
          { author: 'w' },
        )
      ).ok,
    ).toBe(true);
    await reopened.close();
    await again.close();
  });
});

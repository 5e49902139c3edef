/**
 * PostgreSQL: commits per second on one run and spread over eight, through PostgresStore against a
 * throwaway cluster started here (initdb/pg_ctl on loopback, fsync off, as the tests do). Every committer
 * writes a path never written before, so nothing conflicts: the numbers are the store's, not the conflict
 * rule's (which reads the writes after the base version: each committer bases on its own last commit).
 */
import pg from 'pg';
import { PostgresStore } from '../src/postgres/index.js';
import { postgresBin, startCluster } from '../test/support/postgres.js';
import { type BenchCase, type BenchLine, summarize } from './harness.js';

const COMMITTERS = 16;
const PER_COMMITTER = 100;

async function commitsPerSecond(store: PostgresStore, runs: number, tag: string): Promise<number> {
  const ids = Array.from({ length: runs }, (_, i) => `${tag}-${i}`);
  for (const id of ids) await store.openRun(id, {});
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: COMMITTERS }, async (_, w) => {
      const runId = ids[w % runs]!;
      // Like a board: each commit is based on the last version this committer saw (its previous commit).
      let seen = 0;
      for (let i = 0; i < PER_COMMITTER; i++) {
        // A path never written before: no conflict, whatever the order.
        const path = [`w${w}_${i}`];
        const r = await store.commit(
          runId,
          {
            baseVersion: seen,
            reads: [],
            writes: [path],
            patches: [{ op: 'add', path, value: i }],
            author: 'bench',
            time: i,
          },
          [path],
        );
        if (!r.ok) throw new Error(`unexpected refusal: ${(r.conflict ?? r.fenced).message}`);
        seen = r.event.version;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return (COMMITTERS * PER_COMMITTER) / seconds;
}

export const postgresCases: BenchCase[] = [
  {
    group: 'postgres',
    name: 'commit.run1 / commit.runs8',
    async run(): Promise<BenchLine[]> {
      if (!postgresBin())
        throw new Error('postgres benchmarks need PostgreSQL (apt-get install -y postgresql, or PG_BIN)');
      const cluster = await startCluster();
      const pool = new pg.Pool({ connectionString: cluster.connectionString, max: COMMITTERS + 4 });
      try {
        const store = await PostgresStore.open({ pool, schema: 'bench' });
        const one: number[] = [];
        const eight: number[] = [];
        await commitsPerSecond(store, 1, 'warm');
        // Interleaved, so both see the same machine.
        for (let k = 0; k < 5; k++) {
          one.push(await commitsPerSecond(store, 1, `one${k}`));
          eight.push(await commitsPerSecond(store, 8, `eight${k}`));
        }
        const extra = { committers: COMMITTERS, commits: COMMITTERS * PER_COMMITTER };
        return [
          { group: 'postgres', case: 'commit.run1', metric: 'ops_per_s', ...summarize(one), ...extra },
          { group: 'postgres', case: 'commit.runs8', metric: 'ops_per_s', ...summarize(eight), ...extra },
        ];
      } finally {
        await pool.end();
        await cluster.stop();
      }
    },
  },
];

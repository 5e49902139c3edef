/**
 * PostgreSQL: activations per second on 1, 2 and 4 worker processes (8 runs of the worker team at once,
 * each step a 20 ms simulated model call), and
 * commits per second on one run and spread over eight, through PostgresStore against a
 * throwaway cluster started here (initdb/pg_ctl on loopback, fsync off, as the tests do). Every committer
 * writes a path never written before, so nothing conflicts: the numbers are the store's, not the conflict
 * rule's (which reads the writes after the base version: each committer bases on its own last commit).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import pg from 'pg';
import { PostgresStore } from '../src/postgres/index.js';
import { workerTeam } from '../test/fixtures/worker-team.js';
import { postgresBin, startCluster } from '../test/support/postgres.js';
import { type BenchCase, type BenchLine, root, scriptArgs, summarize } from './harness.js';

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

const RUNS = 8;
const ITEMS = 60;
/**
 * Each worker runs one step at a time, so what a worker process adds is what is measured: on this 2-core
 * machine PostgreSQL, the dispatcher and every worker share the cores, and with more slots per worker
 * the whole system's ceiling (about 80 steps/s here) is reached by one or two workers already.
 */
const WORKER_SLOTS = 1;
const WORK_MS = 20;

/** Starts a worker process of the worker team and resolves once it claims. */
async function startWorker(connectionString: string, schema: string, id: string): Promise<ChildProcess> {
  const proc = spawn(
    process.execPath,
    [...scriptArgs('test/fixtures/worker-team'), connectionString, schema, id, '10000'],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, WORK_MS: String(WORK_MS), WORKER_CONCURRENCY: String(WORKER_SLOTS) },
    },
  );
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    proc.on('exit', (code) => reject(new Error(`worker ${id} exited with ${code}`)));
  });
  return proc;
}

/** Steps per second: RUNS runs of the worker team at once, on `workers` worker processes. */
async function activationsPerSecond(connectionString: string, workers: number, tag: string): Promise<number> {
  const schema = `act_${tag}`;
  const store = await PostgresStore.open({ connectionString, schema, pollMs: 200 });
  const procs = await Promise.all(
    Array.from({ length: workers }, (_, i) => startWorker(connectionString, schema, `${tag}-w${i}`)),
  );
  const dispatcher = workerTeam(store, { role: 'dispatcher' });
  try {
    const start = process.hrtime.bigint();
    const results = await Promise.all(
      Array.from({ length: RUNS }, (_, i) => dispatcher.run({ n: ITEMS }, { runId: `${tag}-${i}` })),
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    for (const r of results)
      if (r.outcome !== 'completed' || r.board.total !== ITEMS)
        throw new Error(`run ${r.runId} ended ${r.outcome}: ${r.reason}`);
    // The items, the feeder and the closer of every run.
    return (RUNS * (ITEMS + 2)) / seconds;
  } finally {
    await dispatcher.close();
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(
      procs.map((p) => new Promise((r) => (p.exitCode === null ? p.on('exit', r) : r(null)))),
    );
    await store.close();
  }
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
  {
    group: 'postgres',
    name: 'activations.workers1 / workers2 / workers4',
    async run(): Promise<BenchLine[]> {
      if (!postgresBin())
        throw new Error('postgres benchmarks need PostgreSQL (apt-get install -y postgresql, or PG_BIN)');
      const cluster = await startCluster();
      try {
        const counts = [1, 2, 4] as const;
        const samples = new Map<number, number[]>(counts.map((n) => [n, []]));
        await activationsPerSecond(cluster.connectionString, 1, 'warm');
        // Interleaved, so every count sees the same machine.
        for (let k = 0; k < 3; k++)
          for (const n of counts)
            samples.get(n)!.push(await activationsPerSecond(cluster.connectionString, n, `n${n}k${k}`));
        const extra = { teamRuns: RUNS, items: ITEMS, slotsPerWorker: WORKER_SLOTS, latencyMs: WORK_MS };
        return counts.map((n) => ({
          group: 'postgres',
          case: `activations.workers${n}`,
          metric: 'ops_per_s',
          ...summarize(samples.get(n)!),
          ...extra,
        }));
      } finally {
        await cluster.stop();
      }
    },
  },
];

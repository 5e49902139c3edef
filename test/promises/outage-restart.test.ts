import { type LogEvent, TOPICS } from 'hearsay';
import { PostgresStore } from 'hearsay/postgres';
import { describe, expect, it } from 'vitest';
import { pooledTeam } from '../fixtures/pooled-team.js';
import { useCluster } from '../support/cluster-suite.js';
import { postgresAvailable } from '../support/postgres.js';
import { startWorkerProcess, until } from '../support/worker-process.js';

// Issue 22, item 2: a database restart (`pg_ctl restart -m fast`) mid-run is waited out by every part that
// talks to the database (worker commits and completions, the dispatcher's claims, records and dispatches,
// board reads): with every agent's retries set to 1 attempt, a step failed by the outage would leave its
// item uncommitted and the run failed.

const available = postgresAvailable('outage-restart on PostgreSQL');

describe.runIf(available)('a database restarted mid-run', () => {
  const clusterOf = useCluster();

  it('is waited out: the run completes with every item committed exactly once, with no agent retries', async () => {
    const cluster = clusterOf();
    const schema = 'restart_fast';
    const n = 200;
    // Leases longer than the restart: a lost lease is not what this test is about (a reclaim is, though,
    // allowed: the fence keeps it exactly-once).
    const workers = ['o1', 'o2', 'o3'].map((id) =>
      startWorkerProcess('test/fixtures/pooled-team.ts', [cluster.connectionString, schema, id, '5000']),
    );
    await Promise.all(workers.map((w) => w.ready));
    const store = await PostgresStore.open({
      connectionString: cluster.connectionString,
      schema,
      pollMs: 200,
    });
    const dispatcher = pooledTeam(store, { role: 'dispatcher' });
    const handle = await dispatcher.start({ n });
    let ended = false;
    const settled = handle.result.finally(() => {
      ended = true;
    });
    const done = () => [...handle.board.state.items.values()].filter((i) => i.status === 'done').length;

    // Restarted three times while steps are in flight: early, about the middle, near the end.
    let restarts = 0;
    for (const at of [30, 100, 160]) {
      await until(() => done() >= at || ended, 20_000).catch(async () => {
        throw new Error(
          `the run stalled at ${done()} items done: ${await stateOf(cluster.connectionString, store, handle.runId)}`,
        );
      });
      if (ended) break;
      await cluster.restart({ mode: 'fast', downMs: 700 });
      restarts += 1;
    }
    const result = await settled;
    const stats = await Promise.all(workers.map((w) => w.stop()));

    // A fast machine may finish the run before the third: two restarts in the middle of it are the minimum.
    expect(restarts).toBeGreaterThanOrEqual(2);
    expect(result.outcome, `${result.reason} ${JSON.stringify(result.failures)}`).toBe('completed');
    expect(result.failures).toEqual([]);
    const items = [...result.board.items.values()];
    expect(items).toHaveLength(n);
    expect(items.filter((i) => i.count !== 1)).toEqual([]);
    expect(result.board.total).toBe(n);

    // From the log: each item claimed once by the scheduler and incremented once by a worker.
    const log = await store.read(handle.runId, 1);
    const workerCommits = log.filter((e) => e.type === 'commit' && e.author === 'worker');
    const claims = workerCommits.filter((e) => e.type === 'commit' && e.idempotencyKey?.endsWith(':claim'));
    const increments = workerCommits.filter(
      (e) => e.type === 'commit' && !e.idempotencyKey?.endsWith(':claim'),
    );
    expect(claims).toHaveLength(n);
    expect(increments).toHaveLength(n);
    expect(new Set(increments.map((e) => e.type === 'commit' && e.activationId)).size).toBe(n);
    // Every idempotency key on the log once.
    const keys = log.flatMap((e) => (e.type === 'commit' && e.idempotencyKey ? [e.idempotencyKey] : []));
    expect(keys.length - new Set(keys).size).toBe(0);

    // The scheduler's records, retried through the outage, are on the log once each: no activation
    // started, completed or failed twice under one attempt.
    const phases = records(log, TOPICS.activation)
      .filter((r) => r.phase !== 'refused')
      .map((r) => `${String(r.activationId)}/${String(r.attempt ?? '')}/${String(r.phase)}`);
    const completed = records(log, TOPICS.activation).filter((r) => r.phase === 'completed');
    // Every item's step completed, except those whose completion was still on its way (delayed by an
    // outage) when the closer's commit ended the run: their commits are on the log (above), and they were
    // stopped with the run, not failed.
    const workerCompleted = completed.filter((r) => r.agentId === 'worker').length;
    expect(workerCompleted).toBeLessThanOrEqual(n);
    expect(workerCompleted).toBeGreaterThanOrEqual(n - 3 * 32); // at most every slot of the three workers
    expect(phases.length - new Set(phases).size).toBe(0);
    expect(records(log, TOPICS.activation).filter((r) => r.phase === 'failed')).toEqual([]);
    expect(records(log, TOPICS.outcome)).toHaveLength(1);

    // The workers ran the steps (each at least one), and none was recorded as failed.
    expect(stats.reduce((s, w) => s + w.completed, 0)).toBeGreaterThanOrEqual(n);
    await dispatcher.close();
    await store.close();
  }, 90_000);
});

/** What the queue and the log hold, for a failure's message. */
async function stateOf(connectionString: string, store: PostgresStore, runId: string): Promise<string> {
  const log = await store.read(runId, 1);
  const failed = records(log, TOPICS.activation).filter((r) => r.phase === 'failed');
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const rows = await client.query(
      `SELECT status, count(*)::int AS n FROM "restart_fast".activations GROUP BY status`,
    );
    return JSON.stringify({ seq: log.length, failed, activations: rows.rows });
  } finally {
    await client.end();
  }
}

function records(log: readonly LogEvent[], topic: string): Record<string, unknown>[] {
  return log.flatMap((e) =>
    e.type === 'message' && e.topic === topic ? [e.payload as Record<string, unknown>] : [],
  );
}

/**
 * A worker paused inside its commit (SIGSTOP at each point of it, in turn) past its lease: its step is
 * taken over by another worker, the run goes on and completes while it is still stopped (it holds no lock
 * the run needs), and once continued its late commit is refused as fenced (or, paused after the commit had
 * landed, its completion is). Every item is committed once. Counts and invariants only.
 */
import { readFileSync } from 'node:fs';
import { PostgresStore } from 'hearsay/postgres';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { pooledTeam } from '../fixtures/pooled-team.js';
import { useCluster } from '../support/cluster-suite.js';
import { postgresAvailable } from '../support/postgres.js';
import { startWorkerProcess } from '../support/worker-process.js';

const available = postgresAvailable('a paused PostgreSQL worker');
const LEASE_MS = '1000';

/** The process's state letter in /proc: `T` while stopped. */
const stateOf = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[0];

describe.runIf(available)('a worker paused mid-commit past its lease', () => {
  const clusterOf = useCluster();

  /** One trial: worker A stops before the k-th query of its first commit; B does the rest. */
  async function trial(k: number): Promise<{ queries: number }> {
    const cluster = clusterOf();
    const schema = `paused_${k}`;
    const dispatcherStore = await PostgresStore.open({
      connectionString: cluster.connectionString,
      schema,
      pollMs: 100,
    });
    const dispatcher = pooledTeam(dispatcherStore, { role: 'dispatcher' });
    const worker = (id: string, env: Record<string, string> = {}) =>
      startWorkerProcess(
        'test/fixtures/pooled-team.ts',
        [cluster.connectionString, schema, id, LEASE_MS],
        env,
      );
    const a = worker('a', { PAUSE_AT: String(k), WORKER_CONCURRENCY: '1' });
    await a.ready;
    const handle = await dispatcher.start({ n: 6 });
    await a.until(/^paused /m);
    // A is stopped inside its commit; B starts only now, so A had the step and B must take it over.
    const b = worker('b');
    try {
      const result = await Promise.race([
        handle.result,
        new Promise<never>((_, reject) =>
          setTimeout(
            () => reject(new Error(`k=${k}: the run stalled while worker a was paused (${a.out()})`)),
            60_000,
          ),
        ),
      ]);
      // The run completed while A was still stopped: it held nothing the run needed.
      expect(stateOf(a.proc.pid!)).toBe('T');
      expect(result.outcome).toBe('completed');
      expect(result.board.total).toBe(6);
      expect([...result.board.items.values()].every((t) => t.count === 1)).toBe(true);

      a.proc.kill('SIGCONT');
      const [, queries, outcome] = await a.until(/^commit (\d+) (\w+)$/m);
      const statsA = await a.stop();
      const statsB = await b.stop();
      const pausedBefore = !a.out().includes('paused after the commit');
      // Paused before its statement reached the server: refused when it did, the lease having expired.
      if (pausedBefore) expect(outcome).toBe('fenced');
      else expect(outcome).toBe('ok');
      // Either way nothing of A's late work was recorded: the store refused it (fenced), or A found its
      // lease lost first and stopped.
      // (A may have run other steps before it, e.g. the feeder's: all but the paused one were recorded.)
      expect(statsA.completed, `a: ${a.out()}`).toBe(statsA.claimed - 1);
      expect(statsA.fenced + statsA.leaseLost, `a: ${JSON.stringify(statsA)}`).toBeGreaterThanOrEqual(1);
      // Each step: done once, or cancelled as the run ended.
      const c = new pg.Client({ connectionString: cluster.connectionString });
      await c.connect();
      const rows = (
        await c.query<{ activation: string; fence: string; claims: number; status: string }>(
          `SELECT activation, fence, claims, status FROM "${schema}".activations`,
        )
      ).rows;
      await c.end();
      expect(rows.every((r) => r.status === 'done' || r.status === 'cancelled')).toBe(true);
      const takenOver = rows.filter((r) => r.claims === 2);
      if (pausedBefore) {
        // A's item was done by B, who took A's step over once A's lease expired.
        expect(statsB.reclaimed, `b: ${JSON.stringify(statsB)}`).toBe(1);
        expect(takenOver).toHaveLength(1);
        expect(takenOver[0]!.status).toBe('done');
      } else {
        // A's commit had landed: the run could end before anyone took A's step over (it is then cancelled).
        expect(takenOver.length).toBeLessThanOrEqual(1);
      }
      // Each item records, from `done`, the activation that did it and the fence of the lease it held.
      // (A step taken over after its commit had landed keeps the first holder's fence: the commit was a
      // duplicate for the second.)
      const byActivation = new Map(rows.map((r) => [r.activation, r]));
      for (const item of result.board.items.values()) {
        const row = byActivation.get(item.by!)!;
        expect(row).toBeDefined();
        if (row.claims === 1 || pausedBefore) expect(item.fence).toBe(Number(row.fence));
        else expect(item.fence).toBeLessThan(Number(row.fence));
      }
      return { queries: Number(queries) };
    } finally {
      a.proc.kill('SIGCONT');
      a.proc.kill('SIGKILL');
      b.proc.kill('SIGKILL');
      await dispatcher.close();
      await dispatcherStore.close();
    }
  }

  it('is taken over, never stalls the run, and its late commit is refused — at every point of the commit', async () => {
    // First paused before anything reached the database; that trial also counts the commit's queries.
    const { queries } = await trial(0);
    expect(queries).toBeGreaterThanOrEqual(1);
    // Then before each later query, and after the last one returned.
    for (let k = 1; k <= queries; k++) await trial(k);
  }, 300_000);
});

import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/blackboard/index.js';
import { connect } from '../../src/client/index.js';
import { PostgresStore } from '../../src/postgres/index.js';
import { workerTeam } from '../fixtures/worker-team.js';
import { type Cluster, postgresAvailable, startCluster } from '../support/postgres.js';
import { startWorkerProcess, until, type WorkerProcess } from '../support/worker-process.js';

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
    // 40 items, the feeder and the closer: each step dispatched once, and run by a worker once. The run
    // ends as the closer commits the goal, so its step may be stopped before it reports.
    const rows = await sql<{ status: string; claims: number }>(
      cluster.connectionString,
      'SELECT status, claims FROM "inproc".activations',
      [],
    );
    expect(rows).toHaveLength(42);
    expect(rows.every((r) => r.claims === 1 && (r.status === 'done' || r.status === 'cancelled'))).toBe(true);
    const completed = workers.reduce((n, w) => n + w.worker!.stats.completed, 0);
    expect(completed).toBe(rows.filter((r) => r.status === 'done').length);
    expect(workers.every((w) => w.worker!.stats.completed > 0)).toBe(true);
    await Promise.all([dispatcher, ...workers].map((r) => r.close()));
    await Promise.all([dispatcherStore, ...workerStores].map((s) => s.close()));
  });

  it('gives back the steps of a worker that closes, for another worker to take at once', async () => {
    const open = () =>
      PostgresStore.open({ connectionString: cluster.connectionString, schema: 'handover', pollMs: 200 });
    const [dispatcherStore, firstStore, secondStore] = await Promise.all([open(), open(), open()]);
    // Leases of a minute: a step left to its lease would hold the run up far past this test's timeout.
    const first = workerTeam(firstStore, { role: 'worker', worker: { id: 'first', leaseMs: 60_000 } });
    const dispatcher = workerTeam(dispatcherStore, { role: 'dispatcher' });
    const running = dispatcher.run({ n: 100 });
    await until(() => first.worker!.stats.completed >= 10);
    await first.close();
    const { claimed, completed } = first.worker!.stats;
    expect(claimed).toBeGreaterThan(completed);
    const second = workerTeam(secondStore, { role: 'worker', worker: { id: 'second', leaseMs: 60_000 } });
    const result = await running;
    expect(result.outcome).toBe('completed');
    expect(result.board.total).toBe(100);
    // What the first worker gave back was claimed again as if for the first time: no lease expired.
    const rows = await sql<{ claims: number }>(
      cluster.connectionString,
      `SELECT claims FROM "handover".activations WHERE status = 'done'`,
      [],
    );
    expect(rows.length).toBeGreaterThan(100);
    expect(rows.every((r) => r.claims === 1)).toBe(true);
    await Promise.all([dispatcher, second].map((r) => r.close()));
    await Promise.all([dispatcherStore, firstStore, secondStore].map((s) => s.close()));
  }, 30_000);

  it('serves a run from a hub in a process that neither started it nor runs its steps', async () => {
    const schema = 'hubs';
    const open = () =>
      PostgresStore.open({ connectionString: cluster.connectionString, schema, pollMs: 200 });
    const [runStore, workStore, hubStore] = await Promise.all([open(), open(), open()]);
    const worker = workerTeam(workStore, { role: 'worker', worker: { id: 'h0' } });
    const starter = workerTeam(runStore, { role: 'dispatcher' });
    const elsewhere = workerTeam(hubStore, { role: 'dispatcher' });
    const hub = await elsewhere.listen({ insecureDevMode: true, inspector: false, log: () => {} });
    const client = await connect(hub.url);
    const handle = await starter.start({ n: 30 });
    const versions: number[] = [];
    let outcome: string | undefined;
    for await (const m of client.follow([handle.runId], {}, { after: { [handle.runId]: 0 } })) {
      if (m.type === 'commit') versions.push(m.version);
      if (m.type === 'outcome') {
        outcome = m.outcome;
        break;
      }
    }
    const result = await handle.result;
    expect(result.outcome).toBe('completed');
    expect(outcome).toBe(result.outcome);
    // Every commit of the run, in order, once: from the database, as other processes made them.
    expect(versions).toEqual(Array.from({ length: result.version }, (_, i) => i + 1));
    client.close();
    await hub.close();
    await Promise.all([starter, worker, elsewhere].map((r) => r.close()));
    await Promise.all([runStore, workStore, hubStore].map((s) => s.close()));
  }, 60_000);

  it('resumes in another process a run whose scheduler was killed, adopting the steps it had dispatched', async () => {
    const schema = 'adopt';
    const open = () =>
      PostgresStore.open({ connectionString: cluster.connectionString, schema, pollMs: 200 });
    const [workStore, store] = await Promise.all([open(), open()]);
    const worker = workerTeam(workStore, { role: 'worker', worker: { id: 'a0', leaseMs: 2_000 } });
    const first = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/fixtures/worker-team.ts',
        cluster.connectionString,
        schema,
        '-',
        '0',
        'dispatch',
        'adopted',
        '200',
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((r) => first.on('exit', r));
    const doneSteps = async () =>
      Number(
        (
          await sql<{ n: string }>(
            cluster.connectionString,
            `SELECT count(*) AS n FROM "${schema}".activations WHERE status = 'done'`,
            [],
          )
        )[0]!.n,
      );
    await until(async () => (await doneSteps()) >= 60);
    // Steps the first scheduler has dispatched and is waiting for, just before it dies: it never sees their
    // results, whether they end before or after it.
    let waiting: { activation: string; attempt: number }[] = [];
    await until(async () => {
      waiting = await sql<{ activation: string; attempt: number }>(
        cluster.connectionString,
        `SELECT activation, attempt FROM "${schema}".activations WHERE status IN ('queued', 'running')`,
        [],
      );
      return waiting.length > 0;
    });
    first.kill('SIGKILL');
    await exited;
    const resumer = workerTeam(store, { role: 'dispatcher' });
    const result = await (await resumer.resume('adopted')).result;
    expect(result.outcome, result.reason).toBe('completed');
    expect(result.board.total).toBe(200);
    expect([...result.board.items.values()].every((i) => i.count === 1)).toBe(true);
    // Each item's work was committed once, across the two schedulers.
    const log = await store.read('adopted', 1);
    const increments = log.filter(
      (e) => e.type === 'commit' && e.author === 'worker' && !e.idempotencyKey?.endsWith(':claim'),
    );
    expect(increments).toHaveLength(200);
    // What the first scheduler had dispatched was taken up, none left behind (the last step, stopped as the
    // goal was reached, is cancelled as the run ends).
    const rows = () =>
      sql<{ activation: string; attempt: number; status: string }>(
        cluster.connectionString,
        `SELECT activation, attempt, status FROM "${schema}".activations WHERE run = 'adopted'`,
        [],
      );
    await until(
      async () => (await rows()).every((r) => r.status !== 'queued' && r.status !== 'running'),
      10_000,
    );
    // Each was adopted under its key: the same row ran to an end, and most of them ran to completion.
    const after = new Map((await rows()).map((r) => [`${r.activation}@${r.attempt}`, r.status]));
    const ends = waiting.map((o) => after.get(`${o.activation}@${o.attempt}`));
    expect(ends.every((status) => status === 'done' || status === 'cancelled')).toBe(true);
    expect(ends.filter((status) => status === 'done').length).toBeGreaterThanOrEqual(waiting.length - 1);
    await Promise.all([resumer, worker].map((r) => r.close()));
    await Promise.all([workStore, store].map((s) => s.close()));
  }, 120_000);

  it('goes on through terminated LISTEN connections and an immediate restart of the server', async () => {
    const schema = 'restarts';
    const open = () =>
      PostgresStore.open({ connectionString: cluster.connectionString, schema, pollMs: 200 });
    const stores = await Promise.all([open(), open(), open()]);
    const workers = stores
      .slice(1)
      .map((store, i) => workerTeam(store, { role: 'worker', worker: { id: `r${i}`, leaseMs: 2_000 } }));
    const dispatcher = workerTeam(stores[0]!, { role: 'dispatcher' });
    const handle = await dispatcher.start({ n: 150 });
    const done = () => [...handle.board.state.items.values()].filter((i) => i.status === 'done').length;
    await until(() => done() >= 30);
    // Every process's LISTEN connection is cut: notifications are lost until they reconnect.
    const cut = await sql<{ n: string }>(
      cluster.connectionString,
      "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name LIKE 'hearsay-listen-%'",
      [],
    );
    expect(Number(cut[0]!.n)).toBe(3);
    await until(() => done() >= 70);
    // The server stops at once (no checkpoint) and comes back: every pool reconnects.
    await cluster.restart();
    const result = await handle.result;
    expect(result.outcome, result.reason).toBe('completed');
    expect(result.board.total).toBe(150);
    expect([...result.board.items.values()].every((i) => i.count === 1)).toBe(true);
    await Promise.all([dispatcher, ...workers].map((r) => r.close()));
    await Promise.all(stores.map((s) => s.close()));
  }, 120_000);

  it('completes a 500-step run on three worker processes, one killed mid-lease and one paused past its lease', async () => {
    const schema = 'procs';
    const leaseMs = 1_000;
    // Steps spend most of their lease in their (simulated) model call: a worker paused while holding
    // leases is paused in the middle of steps, which it then tries to finish when woken.
    const procs = ['w1', 'w2', 'w3'].map((id) =>
      startWorker(cluster.connectionString, schema, id, leaseMs, 150),
    );
    await Promise.all(procs.map((p) => p.ready));
    const store = await PostgresStore.open({
      connectionString: cluster.connectionString,
      schema,
      pollMs: 200,
    });
    const dispatcher = workerTeam(store, { role: 'dispatcher' });
    const handle = await dispatcher.start({ n: 500 });
    const done = () => [...handle.board.state.items.values()].filter((i) => i.status === 'done').length;
    const leasesOf = async (owner: string) =>
      Number(
        (
          await sql<{ n: string }>(
            cluster.connectionString,
            `SELECT count(*) AS n FROM "${schema}".activations WHERE lease_owner = $1 AND status = 'running'`,
            [owner],
          )
        )[0]!.n,
      );
    await until(() => done() >= 100);
    // w1 dies holding leases: its steps are reclaimed once they expire.
    await until(async () => (await leasesOf('w1')) > 0);
    procs[0]!.proc.kill('SIGKILL');
    await until(() => done() >= 200);
    // w2 freezes holding leases, past their expiry; when it wakes, whatever it tries is fenced out.
    await until(async () => (await leasesOf('w2')) >= 5);
    procs[1]!.proc.kill('SIGSTOP');
    // A completion w2 sent just before it stopped may still land: let it, then see what w2 holds.
    await new Promise((r) => setTimeout(r, 300));
    const frozen = await sql<{ activation: string; attempt: number }>(
      cluster.connectionString,
      `SELECT activation, attempt FROM "${schema}".activations WHERE lease_owner = 'w2' AND status = 'running'`,
      [],
    );
    await new Promise((r) => setTimeout(r, leaseMs * 2.5));
    procs[1]!.proc.kill('SIGCONT');
    const result = await handle.result;
    // The woken worker's stale steps try, and fail: it says so once it has found one refused.
    await procs[1]!.until(/^refused [1-9]/m);
    const stats = await Promise.all([procs[1]!.stop(), procs[2]!.stop()]);

    expect(result.outcome).toBe('completed');
    const local = await workerTeam(new MemoryStore()).run({ n: 500 });
    expect(result.board).toEqual(local.board);
    expect(result.board.total).toBe(500);
    expect([...result.board.items.values()].every((i) => i.count === 1)).toBe(true);
    // Each item's work was committed once: one claim by the scheduler, one increment by a worker.
    const log = await store.read(handle.runId, 1);
    const increments = log.filter(
      (e) => e.type === 'commit' && e.author === 'worker' && !e.idempotencyKey?.endsWith(':claim'),
    );
    expect(increments).toHaveLength(500);
    expect(new Set(increments.map((e) => e.type === 'commit' && e.activationId)).size).toBe(500);
    // Steps were taken over after their leases expired, and the paused worker lost its leases.
    const reclaimed = await sql<{ n: string }>(
      cluster.connectionString,
      `SELECT count(*) AS n FROM "${schema}".activations WHERE run = $1 AND claims > 1`,
      [handle.runId],
    );
    expect(Number(reclaimed[0]!.n)).toBeGreaterThan(0);
    expect(stats[0]!.leaseLost + stats[0]!.fenced).toBeGreaterThan(0);
    // Every step the paused worker held was claimed again under a new fence: its own lease could not end it.
    expect(frozen.length).toBeGreaterThan(0);
    const frozenClaims = await sql<{ claims: number; status: string }>(
      cluster.connectionString,
      `SELECT a.claims, a.status FROM "${schema}".activations a
         JOIN unnest($2::text[], $3::int[]) AS f(activation, attempt)
           ON a.activation = f.activation AND a.attempt = f.attempt
        WHERE a.run = $1`,
      [handle.runId, frozen.map((f) => f.activation), frozen.map((f) => f.attempt)],
    );
    expect(frozenClaims).toHaveLength(frozen.length);
    for (const row of frozenClaims) expect(row.claims).toBeGreaterThan(1);
    await dispatcher.close();
    await store.close();
  }, 120_000);
});

/** A worker process of the worker team, each step taking `workMs`. */
function startWorker(
  connectionString: string,
  schema: string,
  id: string,
  leaseMs: number,
  workMs: number,
): WorkerProcess {
  return startWorkerProcess('test/fixtures/worker-team.ts', [connectionString, schema, id, String(leaseMs)], {
    WORK_MS: String(workMs),
  });
}

async function sql<R>(connectionString: string, text: string, values: unknown[]): Promise<R[]> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as R[];
  } finally {
    await client.end();
  }
}

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBlackboard, type LogEvent } from '../../src/blackboard/index.js';
import { PostgresStore } from '../../src/postgres/index.js';
import { type Cluster, postgresAvailable, startCluster } from '../support/postgres.js';

const available = postgresAvailable('PostgresStore change feed');
const Board = z.object({ n: z.number(), seen: z.array(z.number()) });

describe.runIf(available)('the PostgreSQL change feed', () => {
  let cluster: Cluster;
  let admin: pg.Pool;

  beforeAll(async () => {
    cluster = await startCluster();
    admin = new pg.Pool({ connectionString: cluster.connectionString, max: 2 });
  }, 120_000);
  afterAll(async () => {
    await admin?.end();
    await cluster?.stop();
  });

  it("shows each process every other process's commits, in order and once, across a terminated LISTEN connection", async () => {
    // Two stores on separate pools: two processes, as far as PostgreSQL can tell.
    const writerStore = await PostgresStore.open({
      connectionString: cluster.connectionString,
      schema: 'feed',
    });
    const readerStore = await PostgresStore.open({
      connectionString: cluster.connectionString,
      schema: 'feed',
      pollMs: 200,
    });
    const writer = await createBlackboard({
      schema: Board,
      initial: { n: 0, seen: [] },
      store: writerStore,
      runId: 'r',
    });
    const reader = await createBlackboard({
      schema: Board,
      initial: { n: 0, seen: [] },
      store: readerStore,
      runId: 'r',
    });
    const received: LogEvent[] = [];
    reader.subscribe({ from: 1 }, (e) => received.push(e));
    const listener = async () =>
      (
        await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
          readerStore.listenerName,
        ])
      ).rows.map((r) => r.pid);
    await expect.poll(listener).toHaveLength(1);

    const N = 200;
    let killed = 0;
    for (let i = 1; i <= N; i++) {
      const r = await writer.transact(
        (d) => {
          d.n = i;
          d.seen.push(i);
        },
        { author: 'writer' },
      );
      expect(r.ok).toBe(true);
      if (i === 60 || i === 140) {
        // The server ends the reader's LISTEN connection: it reconnects and catches up.
        const before = await listener();
        for (const pid of before) {
          await admin.query('SELECT pg_terminate_backend($1)', [pid]);
          killed += 1;
        }
        // Commits go on while it reconnects; the next termination waits for the new connection.
        await expect
          .poll(async () => (await listener()).filter((pid) => !before.includes(pid)), { timeout: 15_000 })
          .toHaveLength(1);
      }
    }
    expect(killed).toBe(2);
    await expect.poll(() => reader.version, { timeout: 15_000 }).toBe(writer.version);
    // Every commit once, in order; and the same board.
    expect(received.map((e) => e.seq)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(reader.state).toEqual(writer.state);
    // It listens again.
    await expect.poll(listener, { timeout: 15_000 }).toHaveLength(1);
    await Promise.all([writer.close(), reader.close()]);
    await Promise.all([writerStore.close(), readerStore.close()]);
    await expect.poll(listener).toHaveLength(0);
  });

  it('catches up by polling where notifications never come (a pooler that drops LISTEN)', async () => {
    const readerStore = await PostgresStore.open({
      connectionString: cluster.connectionString,
      schema: 'poll',
      pollMs: 100,
    });
    const reader = await createBlackboard({
      schema: Board,
      initial: { n: 0, seen: [] },
      store: readerStore,
      runId: 'p',
    });
    // A commit written straight into the tables announces nothing: only the poll can find it.
    const event = {
      type: 'commit',
      runId: 'p',
      seq: 1,
      version: 1,
      baseVersion: 0,
      reads: [],
      writes: [['n']],
      patches: [{ op: 'replace', path: ['n'], value: 7 }],
      author: 'elsewhere',
      time: 1,
    };
    await admin.query(
      `INSERT INTO "poll".events (run, seq, type, version, writes, body) VALUES ('p', 1, 'commit', 1, $1, $2)`,
      [JSON.stringify(event.writes), JSON.stringify(event)],
    );
    await admin.query(`UPDATE "poll".runs SET seq = 1, version = 1 WHERE id = 'p'`);
    await expect.poll(() => reader.version, { timeout: 5_000 }).toBe(1);
    expect(reader.state.n).toBe(7);
    await reader.close();
    await readerStore.close();
  });
});

/**
 * A commit reaches PostgreSQL as one message: a client stopped or cut off anywhere in sending it has run
 * nothing and holds no lock (a parameterized query is several messages, and the server held the function's
 * locks from Execute until the last byte of Sync arrived). Its arguments travel as dollar-quoted literals:
 * any text the store is given comes back exactly as it went in. Counts and invariants only.
 */
import fc from 'fast-check';
import type { Path } from 'hearsay';
import { PostgresStore } from 'hearsay/postgres';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster-suite.js';
import { postgresAvailable } from '../support/postgres.js';

const available = postgresAvailable('one-message PostgreSQL commits');

const draft = (baseVersion: number, writes: Path[], author: string, idempotencyKey?: string) => ({
  baseVersion,
  reads: [],
  writes,
  patches: [],
  author,
  time: 0,
  ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
});

describe.runIf(available)('a PostgreSQL commit is one message', () => {
  const clusterOf = useCluster();

  it('holds nothing when its sender stops one byte short of the end', async () => {
    const schema = 'onemessage';
    // The stopped sender's store, on a pool of one connection whose writes this test can cut short.
    const stoppedPool = new pg.Pool({ connectionString: clusterOf().connectionString, max: 1 });
    stoppedPool.on('error', () => undefined);
    const stopped = await PostgresStore.open({ pool: stoppedPool, schema, lockTimeoutMs: 200 });
    const other = await PostgresStore.open({
      connectionString: clusterOf().connectionString,
      schema,
      lockTimeoutMs: 200,
    });
    await other.openRun('r', {});

    // Everything the next request writes reaches the server but its last byte, held until released.
    let armed = false;
    let held: Buffer | undefined;
    let release!: () => void;
    stoppedPool.on('acquire', (client) => {
      const stream = (client as unknown as { connection: { stream: { write: (b: Buffer) => boolean } } })
        .connection.stream;
      const write = stream.write.bind(stream);
      const pending: Buffer[] = [];
      stream.write = (chunk: Buffer) => {
        if (!armed) return write(chunk);
        pending.push(Buffer.from(chunk));
        if (pending.length === 1)
          setImmediate(() => {
            armed = false;
            const all = Buffer.concat(pending);
            write(all.subarray(0, -1));
            held = all.subarray(-1);
            release = () => write(held!);
          });
        return true;
      };
    });
    armed = true;
    const late = stopped.commit('r', draft(0, [['a']], 'stopped'), [['a']]);
    await expect.poll(() => held !== undefined).toBe(true);
    // The run is not held: another commit, and another after it, go through at once.
    expect((await other.commit('r', draft(0, [['b']], 'other'), [['b']])).ok).toBe(true);
    expect((await other.commit('r', draft(1, [['b']], 'other'), [['b']])).ok).toBe(true);
    // The stopped commit, once its last byte arrives, is judged then: after the others.
    release();
    const r = await late;
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.event.version).toBe(3);
    expect((await other.read('r', 1)).map((e) => e.seq)).toEqual([1, 2, 3]);

    // The same for messages.
    held = undefined;
    armed = true;
    const message = stopped.appendMany('r', [{ topic: 't', payload: 1, author: 'stopped', time: 0 }]);
    await expect.poll(() => held !== undefined).toBe(true);
    expect((await other.commit('r', draft(3, [['b']], 'other'), [['b']])).ok).toBe(true);
    release();
    expect((await message)[0]!.seq).toBe(5);
    expect((await other.read('r', 1)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    await Promise.all([stopped.close(), other.close()]);
    await stoppedPool.end();
  }, 60_000);

  it('takes any text as written: keys, authors and payloads that look like its own quoting', async () => {
    const store = await PostgresStore.open({
      connectionString: clusterOf().connectionString,
      schema: 'literals',
    });
    // Text built from the pieces of dollar quoting and of other quoting, without NUL (PostgreSQL refuses it).
    const piece = fc.constantFrom(
      '$',
      'h',
      '$h',
      '$h$',
      '$h0$',
      "'",
      '"',
      '\\',
      'E',
      '\n',
      'é',
      '\ud800',
      'x',
      '0',
    );
    const text = fc.array(piece, { maxLength: 12 }).map((p) => p.join(''));
    let n = 0;
    await fc.assert(
      fc.asyncProperty(text, text, text, async (key, author, payload) => {
        const runId = `lit-${n++}`;
        await store.openRun(runId, {});
        const c = await store.commit(runId, draft(0, [[key]], author, `k:${key}`), [[key]]);
        if (!c.ok) throw new Error(`refused: ${JSON.stringify(c)}`);
        const again = await store.commit(runId, draft(0, [[key]], author, `k:${key}`), [[key]]);
        expect(again.ok && again.duplicate).toBe(true);
        const [m] = await store.appendMany(runId, [
          { topic: payload, payload: { payload, key }, author, time: 1 },
        ]);
        const log = await store.read(runId, 1);
        // What was written reads back exactly as the events the store answered with.
        expect(JSON.stringify(log)).toBe(JSON.stringify([c.event, m]));
        expect(log[0]).toMatchObject({ author, writes: [[key]], idempotencyKey: `k:${key}` });
      }),
      { numRuns: 150 },
    );
    await store.close();
  }, 120_000);
});

/**
 * Issue 22, item 4, as a property: whatever string a careless or hostile caller gives as a run id, each store
 * either holds that very run (listed under that exact id, committed to, read back) or refuses it as a
 * `BlackboardError` `invalid_id`, leaving its runs as they were. Never a raw database or file-system error.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { BlackboardError, createBlackboard, FileStore, MemoryStore, type Store } from 'hearsay';
import { PostgresStore } from 'hearsay/postgres';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { useCluster } from '../support/cluster-suite.js';
import { postgresAvailable } from '../support/postgres.js';

const Counter = z.object({ n: z.number() });

/** Any UTF-16 code unit, weighted towards the ones that break things: NUL, separators, lone surrogates. */
const unit = fc.oneof(
  fc.constantFrom('\u0000', '\n', '\u001f', '\u007f', '\ud800', '\udc00', '😀', '€', '/', '.', '%', "'", ' '),
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('a', 'Z', '0', '-'),
);
/** A short prefix of anything, then a run of one character, short or long enough to cross every bound. */
const anyRunId = fc
  .tuple(
    fc.string({ unit, maxLength: 12 }),
    fc.constantFrom('a', '€', '😀', 'é'),
    fc.oneof(fc.nat({ max: 60 }), fc.nat({ max: 1100 })),
  )
  .map(([head, c, n]) => head + c.repeat(n));

/** The documented rule for any store (docs/production.md): 1 to 1,000 characters, none a control character or a lone surrogate. */
const documented = (id: string): boolean =>
  id.length >= 1 &&
  id.length <= 1000 &&
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the characters the rule refuses
  !/[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(id);

/** Opens `runId` on `store` and commits under it: 'held' if that worked, or the error it threw. */
async function tryRun(store: Store, runId: string): Promise<'held' | unknown> {
  try {
    const board = await createBlackboard({ schema: Counter, initial: { n: 0 }, store, runId });
    const r = await board.commit({
      baseVersion: board.version,
      reads: [],
      patches: [{ op: 'replace', path: ['n'], value: 1 }],
      author: 'w',
    });
    expect(r.ok).toBe(true);
    await board.close();
    return 'held';
  } catch (error) {
    return error;
  }
}

/** How many ids each store held and refused: the property must see both. */
const seen = { held: 0, refused: 0 };

async function holdsOrRefuses(store: Store, runId: string): Promise<void> {
  const before = (await store.listRuns!()).sort();
  const outcome = await tryRun(store, runId);
  seen[outcome === 'held' ? 'held' : 'refused'] += 1;
  if (outcome === 'held') {
    // Held under that very id: listed, readable, and deletable by it.
    expect(documented(runId)).toBe(true);
    expect(await store.listRuns!()).toContain(runId);
    const reopened = await createBlackboard({ schema: Counter, initial: { n: 0 }, store, runId });
    expect(reopened.state.n).toBe(1);
    await reopened.close();
    expect(await store.deleteRun(runId)).toBe(true);
  } else {
    expect(outcome).toBeInstanceOf(BlackboardError);
    expect(outcome).toMatchObject({ code: 'invalid_id' });
  }
  expect((await store.listRuns!()).sort()).toEqual(before);
}

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true, maxRetries: 5 })));
});

beforeEach(() => {
  seen.held = 0;
  seen.refused = 0;
});

describe('any string as a run id: held exactly, or refused as invalid_id', () => {
  it('MemoryStore', async () => {
    const store = new MemoryStore();
    await fc.assert(
      fc.asyncProperty(anyRunId, (id) => holdsOrRefuses(store, id)),
      { numRuns: 300 },
    );
    expect(seen.held).toBeGreaterThan(20);
    expect(seen.refused).toBeGreaterThan(20);
  });

  it('FileStore', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearsay-ids-'));
    dirs.push(dir);
    const store = new FileStore({ dir, fsync: 'never' });
    await fc.assert(
      fc.asyncProperty(anyRunId, (id) => holdsOrRefuses(store, id)),
      { numRuns: 200 },
    );
    expect(seen.held).toBeGreaterThan(20);
    expect(seen.refused).toBeGreaterThan(20);
    await store.close();
  });
});

describe.runIf(postgresAvailable('run ids on PostgreSQL (property)'))(
  'any string as a run id (PostgreSQL)',
  () => {
    const clusterOf = useCluster();

    it('PostgresStore', async () => {
      const store = await PostgresStore.open({
        connectionString: clusterOf().connectionString,
        schema: 'anyid',
      });
      await fc.assert(
        fc.asyncProperty(anyRunId, (id) => holdsOrRefuses(store, id)),
        { numRuns: 150 },
      );
      await store.close();
    });
  },
);

/**
 * Promise 7: a board rebuilt from its log equals the live board, schema regions (Keyed) included, through
 * every store and every way of reopening it (open, `at(version)`, catch-up of a following board).
 * Issue 23, item 1: a Keyed collection written by a commit came back from a FileStore (or PostgreSQL) as a
 * plain object.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { type Blackboard, createBlackboard, FileStore, Keyed, keyed, MemoryStore, type Store } from 'hearsay';
import { PostgresStore } from 'hearsay/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Keyed as SourceKeyed } from '../../src/blackboard/keyed.js';
import { type Cluster, postgresAvailable, startCluster } from '../support/postgres.js';

const OptA = z.object({ kind: z.literal('a'), items: keyed(z.number()) });
const OptB = z.object({ kind: z.literal('b') });
interface TreeNode {
  items: Keyed<number>;
  kids: TreeNode[];
}
const Tree: z.ZodType<TreeNode> = z.lazy(() => z.object({ items: keyed(z.number()), kids: z.array(Tree) }));
const Entry = z.object({ n: z.number(), tags: z.array(z.string()), note: z.string().optional() });
/** Every kind of region: plain objects, arrays, Keyed, nested Keyed, optional, records, refinements. */
const Board = z.object({
  title: z.string(),
  meta: z.object({ a: z.number(), b: z.string().optional() }),
  list: z.array(z.object({ v: z.number() })),
  items: keyed(Entry),
  groups: keyed(keyed(z.number())),
  byName: z.record(z.string(), z.object({ k: keyed(z.number()) })),
  opt: keyed(z.number()).optional(),
  refined: z.object({ inner: keyed(z.number()) }).refine(() => true),
  // Regions reached through schemas with no single child per path segment: the option of a union depends on
  // the value; tuples, lazy (recursive) schemas and intersections have to be stepped through.
  u: z.union([OptA, OptB]),
  du: z.discriminatedUnion('kind', [OptA, OptB]),
  arr: z.array(z.union([OptA, OptB])),
  tup: z.tuple([z.object({ items: keyed(z.number()) }), z.string()]),
  lz: Tree,
  inter: z.intersection(z.object({ items: keyed(z.number()) }), z.object({ n: z.number() })),
  // Two options that both accept the value's JSON: the live board and the replay must pick the same one.
  amb: z.union([
    z.object({ items: z.record(z.string(), z.number()) }),
    z.object({ items: keyed(z.number()) }),
  ]),
});
type B = z.output<typeof Board>;
type Entry = z.output<typeof Entry>;

const initial = {
  title: 't',
  meta: { a: 0 },
  list: [],
  items: { a: { n: 1, tags: [] } },
  groups: { g1: { x: 1 } },
  byName: {},
  refined: { inner: {} },
  u: { kind: 'a', items: {} },
  du: { kind: 'a', items: { x: 1 } },
  arr: [{ kind: 'a', items: {} }],
  tup: [{ items: {} }, 's'],
  lz: { items: {}, kids: [] },
  // A plain object for a keyed field inside an intersection was refused ("Expected a Keyed collection").
  inter: { items: {}, n: 1 },
  amb: { items: {} },
};

/** The regions reached through a union, a tuple, a lazy schema or an intersection: where each node is. */
const REGIONS = {
  u: ['u'],
  du: ['du'],
  arr0: ['arr', 0],
  tup: ['tup', 0],
  lz: ['lz'],
  lzKid: ['lz', 'kids', 0],
  inter: ['inter'],
  amb: ['amb'],
} as const;
type Region = keyof typeof REGIONS;
const region = fc.constantFrom(...(Object.keys(REGIONS) as Region[]));
const UNIONS = ['u', 'du', 'arr0'] as const;

/** The node at `path` inside a draft (or a board value), or undefined. */
function nodeAt(root: unknown, path: readonly (string | number)[]): Record<string, unknown> | undefined {
  let node = root;
  for (const seg of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string | number, unknown>)[seg];
  }
  return typeof node === 'object' && node !== null ? (node as Record<string, unknown>) : undefined;
}

const key = fc.constantFrom('a', 'b', 'c', 'd');
const entry: fc.Arbitrary<Entry> = fc.record(
  {
    n: fc.integer({ min: -5, max: 5 }),
    tags: fc.array(fc.constantFrom('x', 'y'), { maxLength: 2 }),
    note: fc.string({ maxLength: 3 }),
  },
  { requiredKeys: ['n', 'tags'] },
);
const numbers = fc.dictionary(key, fc.integer({ min: 0, max: 9 }), { maxKeys: 3 });
const via = fc.constantFrom('commit', 'transact' as const);

type Op =
  | { t: 'items'; value: Record<string, Entry>; asKeyed: boolean; via: 'commit' | 'transact' }
  | { t: 'items.set'; k: string; e: Entry }
  | { t: 'items.delete'; k: string }
  | { t: 'items.bump'; k: string }
  | { t: 'groups'; value: Record<string, Record<string, number>>; via: 'commit' | 'transact' }
  | { t: 'group'; g: string; value: Record<string, number>; asKeyed: boolean }
  | { t: 'group.inner'; g: string; k: string; n: number }
  | { t: 'byName'; name: string; value: Record<string, number>; via: 'commit' | 'transact' }
  | { t: 'byName.inner'; name: string; k: string; n: number }
  | { t: 'opt'; value: Record<string, number>; asKeyed: boolean }
  | { t: 'opt.remove' }
  | { t: 'list.push'; v: number }
  | { t: 'meta.b'; b: string | undefined }
  | { t: 'refined'; value: Record<string, number> }
  | { t: 'root'; items: Record<string, Entry>; groups: Record<string, Record<string, number>> }
  | { t: 'r.items'; r: Region; value: Record<string, number>; via: 'commit' | 'transact' }
  | { t: 'r.entry'; r: Region; k: string; n: number; via: 'commit' | 'transact' }
  | { t: 'r.kind'; r: (typeof UNIONS)[number]; kind: 'a' | 'b' }
  | { t: 'r.whole'; r: (typeof UNIONS)[number]; value: Record<string, number> | undefined }
  | { t: 'arr.push'; value: Record<string, number> | undefined }
  | { t: 'lz.kid'; value: Record<string, number> };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    t: fc.constant('items' as const),
    value: fc.dictionary(key, entry, { maxKeys: 3 }),
    asKeyed: fc.boolean(),
    via,
  }),
  fc.record({ t: fc.constant('items.set' as const), k: key, e: entry }),
  fc.record({ t: fc.constant('items.delete' as const), k: key }),
  fc.record({ t: fc.constant('items.bump' as const), k: key }),
  fc.record({ t: fc.constant('groups' as const), value: fc.dictionary(key, numbers, { maxKeys: 2 }), via }),
  fc.record({ t: fc.constant('group' as const), g: key, value: numbers, asKeyed: fc.boolean() }),
  fc.record({ t: fc.constant('group.inner' as const), g: key, k: key, n: fc.nat(9) }),
  fc.record({ t: fc.constant('byName' as const), name: key, value: numbers, via }),
  fc.record({ t: fc.constant('byName.inner' as const), name: key, k: key, n: fc.nat(9) }),
  fc.record({ t: fc.constant('opt' as const), value: numbers, asKeyed: fc.boolean() }),
  fc.record({ t: fc.constant('opt.remove' as const) }),
  fc.record({ t: fc.constant('list.push' as const), v: fc.nat(9) }),
  fc.record({
    t: fc.constant('meta.b' as const),
    b: fc.option(fc.string({ maxLength: 3 }), { nil: undefined }),
  }),
  fc.record({ t: fc.constant('refined' as const), value: numbers }),
  fc.record({
    t: fc.constant('root' as const),
    items: fc.dictionary(key, entry, { maxKeys: 2 }),
    groups: fc.dictionary(key, numbers, { maxKeys: 2 }),
  }),
  fc.record({ t: fc.constant('r.items' as const), r: region, value: numbers, via }),
  fc.record({ t: fc.constant('r.entry' as const), r: region, k: key, n: fc.nat(9), via }),
  fc.record({
    t: fc.constant('r.kind' as const),
    r: fc.constantFrom(...UNIONS),
    kind: fc.constantFrom('a', 'b'),
  }),
  fc.record({
    t: fc.constant('r.whole' as const),
    r: fc.constantFrom(...UNIONS),
    value: fc.option(numbers, { nil: undefined }),
  }),
  fc.record({ t: fc.constant('arr.push' as const), value: fc.option(numbers, { nil: undefined }) }),
  fc.record({ t: fc.constant('lz.kid' as const), value: numbers }),
);

/** A commit as a remote agent sends it: plain JSON values at a path. */
const replace = (board: Blackboard<B>, path: (string | number)[], value: unknown) =>
  board.commit({
    baseVersion: board.version,
    reads: [],
    author: 'remote',
    patches: [{ op: 'add', path, value }],
  });

const tx = (board: Blackboard<B>, recipe: (d: B) => void) =>
  board.transact((d) => recipe(d as B), { author: 'local' });

async function apply(board: Blackboard<B>, o: Op): Promise<void> {
  switch (o.t) {
    case 'items':
      if (o.via === 'commit') await replace(board, ['items'], o.asKeyed ? Keyed.from(o.value) : o.value);
      else
        await tx(board, (d) => {
          d.items = Keyed.from(o.value);
        });
      return;
    case 'items.set':
      return void (await tx(board, (d) => void d.items.set(o.k, o.e)));
    case 'items.delete':
      return void (await tx(board, (d) => void d.items.delete(o.k)));
    case 'items.bump':
      return void (await tx(board, (d) => {
        const e = d.items.get(o.k);
        if (e) e.n += 1;
      }));
    case 'groups':
      if (o.via === 'commit') await replace(board, ['groups'], o.value);
      else
        await tx(board, (d) => {
          d.groups = Keyed.from(Object.entries(o.value).map(([g, v]) => [g, Keyed.from(v)] as const));
        });
      return;
    case 'group':
      if (o.asKeyed) await tx(board, (d) => void d.groups.set(o.g, Keyed.from(o.value)));
      else await replace(board, ['groups', o.g], o.value);
      return;
    case 'group.inner':
      return void (await tx(board, (d) => void d.groups.get(o.g)?.set(o.k, o.n)));
    case 'byName':
      if (o.via === 'commit') await replace(board, ['byName', o.name], { k: o.value });
      else
        await tx(board, (d) => {
          d.byName[o.name] = { k: Keyed.from(o.value) };
        });
      return;
    case 'byName.inner':
      return void (await tx(board, (d) => void d.byName[o.name]?.k.set(o.k, o.n)));
    case 'opt':
      if (o.asKeyed)
        await tx(board, (d) => {
          d.opt = Keyed.from(o.value);
        });
      else await replace(board, ['opt'], o.value);
      return;
    case 'opt.remove':
      return void (await tx(board, (d) => void delete d.opt));
    case 'list.push':
      return void (await tx(board, (d) => void d.list.push({ v: o.v })));
    case 'meta.b':
      return void (await tx(board, (d) => {
        if (o.b === undefined) delete d.meta.b;
        else d.meta.b = o.b;
      }));
    case 'refined':
      return void (await replace(board, ['refined', 'inner'], o.value));
    case 'root':
      return void (await board.commit({
        baseVersion: board.version,
        reads: [],
        author: 'remote',
        patches: [{ op: 'replace', path: [], value: { ...initial, items: o.items, groups: o.groups } }],
      }));
    case 'r.items': {
      const path = REGIONS[o.r];
      if (o.via === 'commit') {
        if (nodeAt(board.state, path)) await replace(board, [...path, 'items'], o.value);
      } else
        await tx(board, (d) => {
          const node = nodeAt(d, path);
          if (node) node.items = Keyed.from(o.value);
        });
      return;
    }
    case 'r.entry': {
      const path = REGIONS[o.r];
      if (o.via === 'commit') {
        if (nodeAt(board.state, [...path, 'items'])) await replace(board, [...path, 'items', o.k], o.n);
      } else
        await tx(board, (d) => {
          const items = nodeAt(d, path)?.items;
          if (items instanceof Keyed) items.set(o.k, o.n);
          else if (typeof items === 'object' && items !== null) (items as Record<string, number>)[o.k] = o.n;
        });
      return;
    }
    case 'r.kind':
      return void (await tx(board, (d) => {
        const node = nodeAt(d, REGIONS[o.r]);
        if (node) node.kind = o.kind;
      }));
    case 'r.whole':
      return void (await replace(
        board,
        [...REGIONS[o.r]],
        o.value ? { kind: 'a', items: o.value } : { kind: 'b' },
      ));
    case 'arr.push':
      return void (await tx(board, (d) => {
        (d.arr as unknown[]).push(o.value ? { kind: 'a', items: Keyed.from(o.value) } : { kind: 'b' });
      }));
    case 'lz.kid':
      return void (await tx(board, (d) => {
        d.lz.kids.push({ items: Keyed.from(o.value), kids: [] });
      }));
  }
}

/**
 * A board value with its classes made visible: a Keyed collection becomes `{ $keyed: entries }`, any other
 * class instance `{ $class: name }`, so a plain object where a Keyed was is a difference.
 */
function canon(v: unknown): unknown {
  if (v instanceof Keyed)
    return { $keyed: Object.fromEntries([...v.entries()].map(([k, x]) => [k, canon(x)])) };
  if (Array.isArray(v)) return v.map(canon);
  if (typeof v === 'object' && v !== null) {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return { $class: proto?.constructor?.name };
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, canon(x)]));
  }
  return v;
}

/** A reopened board works like the live one: its collections take writes inside a recipe. */
async function writable(board: Blackboard<B>): Promise<void> {
  const r = await board.transact(
    (d) => {
      d.items.set('z', { n: 0, tags: [] });
      d.groups.set('z', Keyed.empty());
      d.refined.inner.set('z', 1);
      // Every region the schema says is keyed is a Keyed again, whatever schema it was reached through.
      for (const r of ['u', 'du', 'arr0'] as const) {
        const node = nodeAt(d, REGIONS[r]) as { kind: string; items: Keyed<number> } | undefined;
        if (node?.kind === 'a') node.items.set('z', 1);
      }
      d.tup[0].items.set('z', 1);
      d.lz.items.set('z', 1);
      d.lz.kids[0]?.items.set('z', 1);
      d.inter.items.set('z', 1);
    },
    { author: 'check' },
  );
  expect(r.ok).toBe(true);
}

interface StoreKind {
  readonly name: string;
  /**
   * A store holding the run; `other` opens another handle on the same data (another process's view, for
   * reopening), and `follow` the handle a board following the run from the start uses (another process's
   * where the store is shared between processes).
   */
  make(): Promise<{
    store: Store;
    other(): Promise<Store>;
    follow(): Promise<Store>;
    dispose(): Promise<void>;
  }>;
}

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true, maxRetries: 5 })));
});

const memory: StoreKind = {
  name: 'MemoryStore',
  async make() {
    const store = new MemoryStore();
    return { store, other: async () => store, follow: async () => store, dispose: async () => store.close() };
  },
};
const file: StoreKind = {
  name: 'FileStore',
  async make() {
    const dir = await mkdtemp(join(tmpdir(), 'hearsay-replay-'));
    dirs.push(dir);
    const opened: Store[] = [];
    const open = async () => {
      const s = new FileStore({ dir, fsync: 'never' });
      opened.push(s);
      return s;
    };
    const store = await open();
    // A FileStore belongs to one process: a board following the run shares its handle.
    return {
      store,
      other: open,
      follow: async () => store,
      dispose: async () => void (await Promise.all(opened.map((s) => s.close()))),
    };
  },
};

let run = 0;

/** Random commit sequences; the rebuilt boards must equal the live one at every version. */
async function checkStore(kind: StoreKind, numRuns: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(
      fc.array(op, { minLength: 1, maxLength: 14 }),
      fc.integer({ min: 1, max: 4 }),
      async (ops, snapshotEvery) => {
        const runId = `replay-${++run}`;
        const { store, other, follow, dispose } = await kind.make();
        try {
          const live = await createBlackboard({
            schema: Board,
            initial,
            store,
            runId,
            snapshotEvery,
            follow: false,
          });
          // A board of another process, following the run from the start.
          const follower = await createBlackboard({
            schema: Board,
            initial,
            store: await follow(),
            runId,
            snapshotEvery,
            follow: false,
          });
          const states = [canon(live.state)];
          for (const o of ops) {
            await apply(live, o);
            states[live.version] = canon(live.state);
          }
          // Catch-up: the follower reads what the live board appended.
          await follower.refresh();
          expect(canon(follower.state)).toEqual(states.at(-1));
          // Open: a board reopened from the store (a new process: a new handle on the same data).
          const reopened = await createBlackboard({ schema: Board, initial, store: await other(), runId });
          expect(reopened.version).toBe(live.version);
          expect(canon(reopened.state)).toEqual(states.at(-1));
          // at(version): the nearest snapshot plus the log, for every version, on the live and the reopened board.
          for (let v = 0; v <= live.version; v++) {
            expect(canon(await live.at(v)), `live.at(${v})`).toEqual(states[v]);
            expect(canon(await reopened.at(v)), `reopened.at(${v})`).toEqual(states[v]);
          }
          await writable(reopened);
          await Promise.all([live.close(), follower.close(), reopened.close()]);
        } finally {
          await dispose();
        }
      },
    ),
    { numRuns },
  );
}

describe('a board rebuilt from its log equals the live board, Keyed regions included', () => {
  it('MemoryStore: open, at(version), catch-up', async () => {
    await checkStore(memory, 40);
  });

  it('FileStore: open in a new store, at(version), catch-up', async () => {
    await checkStore(file, 40);
  });

  it('a keyed collection a commit replaced is a Keyed again after reopening, and takes writes (the regression)', async () => {
    const { store, other, dispose } = await file.make();
    const board = await createBlackboard({ schema: Board, initial, store, runId: 'one' });
    await replace(board, ['items'], { a: { n: 1, tags: [] }, b: { n: 2, tags: ['x'] } });
    const reopened = await createBlackboard({ schema: Board, initial, store: await other(), runId: 'one' });
    expect(reopened.state.items).toBeInstanceOf(Keyed);
    expect(reopened.state.items.get('b')?.n).toBe(2);
    await writable(reopened);
    await dispose();
  });

  it.each([
    ['a union', 'u'],
    ['a discriminated union', 'du'],
    ['an array of unions', 'arr0'],
    ['a tuple', 'tup'],
    ['a lazy (recursive) schema', 'lz'],
    ['an intersection', 'inter'],
  ] as const)(
    'a keyed collection a commit set through %s is a Keyed after reopening, in at(1) and on a following board (the regression)',
    async (_, r) => {
      const path = REGIONS[r];
      const { store, other, dispose } = await file.make();
      const runId = `through-${r}`;
      const board = await createBlackboard({ schema: Board, initial, store, runId, follow: false });
      const follower = await createBlackboard({ schema: Board, initial, store, runId, follow: false });
      const set = await tx(board, (d) => {
        nodeAt(d, path)!.items = Keyed.from([['x', 1]]);
      });
      expect(set.ok).toBe(true);
      // A second commit, so at(1) is rebuilt from the log rather than being the live state.
      expect(
        (
          await tx(board, (d) => {
            d.title = 'next';
          })
        ).ok,
      ).toBe(true);
      const reopened = await createBlackboard({ schema: Board, initial, store: await other(), runId });
      await follower.refresh();
      for (const [where, state] of [
        ['live', board.state],
        ['at(1)', await board.at(1)],
        ['reopened', reopened.state],
        ['reopened.at(1)', await reopened.at(1)],
        ['follower', follower.state],
      ] as const) {
        const items = nodeAt(state, path)?.items;
        expect(items, where).toBeInstanceOf(Keyed);
        expect((items as Keyed<number>).get('x'), where).toBe(1);
      }
      await writable(reopened);
      await writable(follower);
      await dispose();
    },
  );

  it('a plain object for a keyed field inside an intersection is accepted as an initial state, and revived', async () => {
    const board = await createBlackboard({ schema: Board, initial });
    expect(board.state.inter.items).toBeInstanceOf(Keyed);
  });

  it('a remote (JSON) commit through a union is revived like a local one, and the option follows the value', async () => {
    const { store, other, dispose } = await file.make();
    const board = await createBlackboard({ schema: Board, initial, store, runId: 'remote-union' });
    expect((await replace(board, ['u', 'items'], { x: 1 })).ok).toBe(true);
    expect(board.state.u).toMatchObject({ kind: 'a' });
    expect((board.state.u as { items: unknown }).items).toBeInstanceOf(Keyed);
    // Switching the option turns the field into what the new option says (here: an unknown key, plain).
    expect(
      (
        await tx(board, (d) => {
          (d.u as { kind: string }).kind = 'b';
        })
      ).ok,
    ).toBe(true);
    expect((board.state.u as { items: unknown }).items).not.toBeInstanceOf(Keyed);
    expect(
      (
        await tx(board, (d) => {
          (d.u as { kind: string }).kind = 'a';
        })
      ).ok,
    ).toBe(true);
    expect((board.state.u as { items: unknown }).items).toBeInstanceOf(Keyed);
    const reopened = await createBlackboard({
      schema: Board,
      initial,
      store: await other(),
      runId: 'remote-union',
    });
    expect(canon(reopened.state)).toEqual(canon(board.state));
    for (let v = 0; v <= board.version; v++)
      expect(canon(await reopened.at(v))).toEqual(canon(await board.at(v)));
    await dispose();
  });

  it('recognises a Keyed collection made by another copy of the package (a brand, not class identity)', async () => {
    const foreign = SourceKeyed.from({ a: { n: 1, tags: [] } });
    expect(foreign).toBeInstanceOf(Keyed);
    const board = await createBlackboard({ schema: Board, initial });
    const r = await replace(board, ['items'], foreign);
    expect(r.ok).toBe(true);
    expect(canon(board.state.items)).toEqual({ $keyed: { a: { n: 1, tags: [] } } });
    expect({ b: [] }).not.toBeInstanceOf(Keyed);
  });
});

const pgAvailable = postgresAvailable('replay (PostgresStore)');

describe.runIf(pgAvailable)('PostgreSQL: boards in other processes rebuild Keyed regions', () => {
  let cluster: Cluster;
  let n = 0;
  beforeAll(async () => {
    cluster = await startCluster();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('PostgresStore: open through another connection pool, at(version), catch-up', async () => {
    const postgres: StoreKind = {
      name: 'PostgresStore',
      async make() {
        const schema = `replay_${++n}`;
        const opened: PostgresStore[] = [];
        const open = async () => {
          const s = await PostgresStore.open({ connectionString: cluster.connectionString, schema });
          opened.push(s);
          return s;
        };
        const store = await open();
        return {
          store,
          other: open,
          follow: open,
          dispose: async () => void (await Promise.all(opened.map((s) => s.close()))),
        };
      },
    };
    await checkStore(postgres, 12);
  }, 120_000);
});

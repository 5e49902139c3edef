import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Commit, createBlackboard, keyed, MemoryStore } from '../../src/index.js';

const Schema = z.object({
  title: z.string(),
  meta: z.strictObject({ owner: z.string(), note: z.string().optional() }),
  tasks: keyed(z.object({ status: z.enum(['open', 'done']) })),
  items: z.array(z.number()),
});
const initial = { title: 't', meta: { owner: 'o' }, tasks: { t1: { status: 'open' } }, items: [1, 2] };

async function setup() {
  const store = new MemoryStore();
  const board = await createBlackboard({ schema: Schema, initial, store, runId: 'r' });
  return { board, store };
}

const commit = (over: Partial<Commit>): Commit => ({
  baseVersion: 0,
  reads: [],
  patches: [],
  author: 'test',
  ...over,
});

describe('commits', () => {
  it('accepts disjoint writers on the same base and rejects a stale overlapping one', async () => {
    const { board } = await setup();
    const a = await board.commit(commit({ patches: [{ op: 'replace', path: ['title'], value: 'A' }] }));
    const b = await board.commit(
      commit({ patches: [{ op: 'replace', path: ['meta', 'owner'], value: 'B' }] }),
    );
    const stale = await board.commit(
      commit({ patches: [{ op: 'replace', path: ['meta'], value: { owner: 'C' } }] }),
    );
    expect(a.ok && b.ok).toBe(true);
    expect(stale).toMatchObject({
      ok: false,
      error: { code: 'conflict', conflicts: [{ path: ['meta'], written: ['meta', 'owner'], version: 2 }] },
    });
    expect(board.state.meta.owner).toBe('B');
    expect(board.version).toBe(2);
  });

  it('treats a read as part of the commit: a write to what it read conflicts', async () => {
    const { board } = await setup();
    await board.commit(commit({ patches: [{ op: 'replace', path: ['items', 0], value: 9 }] }));
    const r = await board.commit(
      commit({ reads: [['items']], patches: [{ op: 'replace', path: ['title'], value: 'x' }] }),
    );
    expect(r.ok).toBe(false);
  });

  it('makes a repeated idempotency key a no-op that returns the first result', async () => {
    const { board, store } = await setup();
    const c = commit({
      idempotencyKey: 'once',
      patches: [{ op: 'replace', path: ['title'], value: 'once' }],
    });
    const first = await board.commit(c);
    await board.commit(
      commit({ baseVersion: 1, patches: [{ op: 'replace', path: ['title'], value: 'later' }] }),
    );
    const again = await board.commit(c);
    expect(first.ok && again.ok).toBe(true);
    if (!first.ok || !again.ok) return;
    expect(again.duplicate).toBe(true);
    expect(again.event).toEqual(first.event);
    expect(board.state.title).toBe('later');
    expect(await store.read('r', 1)).toHaveLength(2);
  });

  it('shares structure: untouched subtrees of the new state are the same objects', async () => {
    const { board } = await setup();
    const before = board.state;
    await board.commit(
      commit({ patches: [{ op: 'replace', path: ['tasks', 't1', 'status'], value: 'done' }] }),
    );
    expect(board.state.meta).toBe(before.meta);
    expect(board.state.items).toBe(before.items);
    expect(before.tasks.get('t1')?.status).toBe('open');
    expect(Object.isFrozen(board.state.tasks.get('t1'))).toBe(true);
  });

  it('keeps snapshots immutable', async () => {
    const { board } = await setup();
    const snap = board.snapshot();
    expect(() => {
      (snap.state as { title: string }).title = 'mutated';
    }).toThrow(TypeError);
    await board.commit(commit({ patches: [{ op: 'replace', path: ['title'], value: 'new' }] }));
    expect(snap.state.title).toBe('t');
    expect(snap.version).toBe(0);
  });

  it('turns a JSON object into a Keyed collection where the schema says keyed', async () => {
    const { board } = await setup();
    const r = await board.commit(
      commit({ patches: [{ op: 'replace', path: ['tasks'], value: { x: { status: 'done' } } }] }),
    );
    expect(r.ok).toBe(true);
    expect(board.state.tasks.get('x')).toEqual({ status: 'done' });
  });
});

describe('bad commits are refused with a typed error, and change nothing', () => {
  const cases: Array<[string, unknown, string, string?]> = [
    [
      'a schema violation',
      commit({ patches: [{ op: 'replace', path: ['tasks', 't1', 'status'], value: 'nope' }] }),
      'schema',
    ],
    ['removing a required key', commit({ patches: [{ op: 'remove', path: ['meta', 'owner'] }] }), 'schema'],
    [
      'a key the strict schema does not know',
      commit({ patches: [{ op: 'add', path: ['meta', 'extra'], value: 1 }] }),
      'schema',
    ],
    [
      'a key the board schema does not know',
      commit({ patches: [{ op: 'add', path: ['bogus'], value: 1 }] }),
      'schema',
    ],
    [
      'a path that does not exist',
      commit({ patches: [{ op: 'replace', path: ['tasks', 'nope', 'status'], value: 'open' }] }),
      'invalid_commit',
      'missing_path',
    ],
    [
      'replace of an absent key',
      commit({ patches: [{ op: 'replace', path: ['meta', 'note'], value: 'x' }] }),
      'invalid_commit',
      'missing_path',
    ],
    [
      'an index past the end',
      commit({ patches: [{ op: 'add', path: ['items', 5], value: 1 }] }),
      'invalid_commit',
      'missing_path',
    ],
    [
      'undefined',
      commit({ patches: [{ op: 'add', path: ['meta', 'note'], value: undefined }] }),
      'invalid_commit',
      'not_serializable',
    ],
    [
      'NaN',
      commit({ patches: [{ op: 'replace', path: ['items', 0], value: Number.NaN }] }),
      'invalid_commit',
      'not_serializable',
    ],
    [
      'a Date',
      commit({ patches: [{ op: 'replace', path: ['title'], value: new Date() }] }),
      'invalid_commit',
      'not_serializable',
    ],
    [
      'a function',
      commit({ patches: [{ op: 'replace', path: ['title'], value: () => 1 }] }),
      'invalid_commit',
      'not_serializable',
    ],
    [
      'a baseVersion that is a string',
      { ...commit({ patches: [{ op: 'replace', path: ['title'], value: 'x' }] }), baseVersion: '0' },
      'invalid_commit',
      'bad_base_version',
    ],
    [
      'a baseVersion ahead of the board',
      commit({ baseVersion: 7, patches: [{ op: 'replace', path: ['title'], value: 'x' }] }),
      'invalid_commit',
      'bad_base_version',
    ],
    [
      'a negative baseVersion',
      commit({ baseVersion: -1, patches: [{ op: 'replace', path: ['title'], value: 'x' }] }),
      'invalid_commit',
      'bad_base_version',
    ],
    ['no patches', commit({}), 'invalid_commit', 'malformed'],
    [
      'a malformed patch',
      commit({ patches: [{ op: 'move', path: ['title'] } as never] }),
      'invalid_commit',
      'malformed',
    ],
    [
      'a path with an object in it',
      commit({ patches: [{ op: 'replace', path: [{}] as never, value: 1 }] }),
      'invalid_commit',
      'malformed',
    ],
    [
      'reads that are not paths',
      { ...commit({ patches: [{ op: 'replace', path: ['title'], value: 'x' }] }), reads: 'title' },
      'invalid_commit',
      'bad_path',
    ],
    [
      'no author',
      { ...commit({ patches: [{ op: 'replace', path: ['title'], value: 'x' }] }), author: '' },
      'invalid_commit',
      'malformed',
    ],
    [
      'a string path into an array',
      commit({ patches: [{ op: 'replace', path: ['items', 'first'], value: 1 }] }),
      'invalid_commit',
      'bad_path',
    ],
    [
      'a circular value',
      (() => {
        const v: Record<string, unknown> = {};
        v.self = v;
        return commit({ patches: [{ op: 'add', path: ['meta', 'note'], value: v }] });
      })(),
      'invalid_commit',
      'not_serializable',
    ],
  ];

  it.each(cases)('%s', async (_name, bad, code, reason) => {
    const { board, store } = await setup();
    const before = board.snapshot();
    const r = await board.commit(bad as Commit);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe(code);
    if (reason) expect(r.error).toMatchObject({ reason });
    expect(r.error.message.length).toBeGreaterThan(10);
    expect(board.snapshot()).toBe(before);
    expect(await store.read('r', 1)).toEqual([]);
  });

  it('reports a conflict rather than a missing path when a concurrent commit removed it', async () => {
    const { board } = await setup();
    await board.commit(commit({ patches: [{ op: 'remove', path: ['tasks', 't1'] }] }));
    const r = await board.commit(
      commit({ patches: [{ op: 'replace', path: ['tasks', 't1', 'status'], value: 'done' }] }),
    );
    expect(r).toMatchObject({ ok: false, error: { code: 'conflict' } });
  });

  it('throws for an initial state that does not match the schema', async () => {
    await expect(
      createBlackboard({ schema: Schema, initial: { ...initial, items: 'no' } }),
    ).rejects.toMatchObject({
      name: 'BlackboardError',
      code: 'invalid_initial_state',
    });
  });
});

describe('two writers of one run', () => {
  it("snapshots the state at the version, the other writer's commits included", async () => {
    const store = new MemoryStore();
    const open = () =>
      createBlackboard({ schema: Schema, initial, store, runId: 'shared', snapshotEvery: 2 });
    const [a, b] = [await open(), await open()];
    // b commits version 1 (a does not know); a, still at version 0, commits version 2 on another path.
    expect(
      (await b.commit(commit({ patches: [{ op: 'replace', path: ['title'], value: 'by b' }], author: 'b' })))
        .ok,
    ).toBe(true);
    const r = await a.commit(commit({ patches: [{ op: 'add', path: ['items', 2], value: 3 }], author: 'a' }));
    expect(r).toMatchObject({ ok: true, event: { version: 2 } });
    expect(a.state.title).toBe('by b');
    const snap = await store.loadSnapshot('shared', 2);
    expect(snap?.version).toBe(2);
    expect(snap?.state).toMatchObject({ title: 'by b', items: [1, 2, 3] });
  });
});

/**
 * Promise 10 (issue 23, item 5): every input has a documented bound checked before any recursive work, and
 * going over it is a typed error, never a `RangeError` or an `internal` error. Tried as an attacker would:
 * very deep paths, values nested 100,000 levels, huge payloads, through `board.commit`, `publish`,
 * `transact`, an agent's commit, and over a real hub with the package's client and a raw socket.
 */
import {
  type Blackboard,
  createBlackboard,
  createRuntime,
  DEFAULT_BOARD_LIMITS,
  defineAgent,
  Keyed,
  keyed,
  MemoryStore,
  stepMachine,
} from 'hearsay';
import { connect, DEFAULT_MAX_FRAME_DEPTH, HubError } from 'hearsay/client';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { InvalidCommit } from '../../src/blackboard/index.js';
import { jsonNestingOver } from '../../src/protocol/index.js';
import { RawClient } from '../support/hub.js';

/** A value nested `levels` deep, objects and arrays alternating (or only one kind). */
function deep(levels: number, kind: 'mixed' | 'object' | 'array' = 'mixed'): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < levels; i++) {
    const array = kind === 'array' || (kind === 'mixed' && i % 2 === 1);
    v = array ? [v] : { v };
  }
  return v;
}

const Board = z.object({
  title: z.string(),
  doc: z.any(),
  items: keyed(z.any()),
  list: z.array(z.any()),
});
type B = z.output<typeof Board>;
const initial = { title: 't', doc: null, items: {}, list: [] };

const limitOf = (r: { ok: boolean; error?: unknown }) => {
  expect(r.ok).toBe(false);
  const error = (r as { error: InvalidCommit }).error;
  expect(error.code).toBe('invalid_commit');
  expect(error.reason, error.message).toBe('limit_exceeded');
  return error.limit?.name;
};

const commitOf = (
  board: Blackboard<B>,
  path: (string | number)[],
  value: unknown,
  reads: (string | number)[][] = [],
) =>
  board.commit({
    baseVersion: board.version,
    reads,
    author: 'attacker',
    patches: [{ op: 'add', path, value }],
  });

describe('bounds on a board, checked before anything recursive', () => {
  it('has documented defaults', () => {
    expect(DEFAULT_BOARD_LIMITS).toEqual({
      maxDepth: 256,
      maxKeyLength: 4096,
      maxBytes: 8 * 1024 * 1024,
      maxPatches: 10_000,
      maxReads: 10_000,
    });
  });

  it('refuses paths of 20,000 segments, in patches and in reads, with a typed limit_exceeded', async () => {
    const board = await createBlackboard({ schema: Board, initial });
    const long = Array.from({ length: 20_000 }, () => 'doc');
    expect(limitOf(await commitOf(board, long, 1))).toBe('maxDepth');
    expect(limitOf(await commitOf(board, ['title'], 'x', [long]))).toBe('maxDepth');
    const indices = ['list', ...Array.from({ length: 20_000 }, () => 0)];
    expect(limitOf(await commitOf(board, indices, 1))).toBe('maxDepth');
    // The refusal names where, without echoing 20,000 segments.
    const r = await commitOf(board, long, 1);
    expect(!r.ok && r.error.message.length).toBeLessThan(2_000);
    expect(board.version).toBe(0);
  });

  it('refuses values nested 100,000 levels (objects, arrays, mixed), at and under a Keyed collection', async () => {
    const board = await createBlackboard({ schema: Board, initial });
    for (const kind of ['object', 'array', 'mixed'] as const) {
      expect(limitOf(await commitOf(board, ['doc'], deep(100_000, kind)))).toBe('maxDepth');
      expect(limitOf(await commitOf(board, ['items', 'k'], deep(100_000, kind)))).toBe('maxDepth');
    }
    // The bound counts from the board's root: the path plus the value's nesting.
    expect(limitOf(await commitOf(board, ['doc'], deep(256)))).toBe('maxDepth');
    expect((await commitOf(board, ['doc'], deep(255))).ok).toBe(true);
    expect(board.version).toBe(1);
  });

  it('refuses huge payloads and long keys, and each bound is configurable', async () => {
    const board = await createBlackboard({ schema: Board, initial });
    expect(limitOf(await commitOf(board, ['doc'], 'x'.repeat(9 * 1024 * 1024)))).toBe('maxBytes');
    expect(limitOf(await commitOf(board, ['items', 'k'.repeat(5_000)], 1))).toBe('maxKeyLength');
    expect(limitOf(await commitOf(board, ['doc'], { ['k'.repeat(5_000)]: 1 }))).toBe('maxKeyLength');
    // Many small values count together; multi-byte characters count as their UTF-8 bytes.
    const small = await createBlackboard({
      schema: Board,
      initial,
      limits: { maxBytes: 1_000, maxDepth: 8, maxPatches: 3, maxReads: 2 },
    });
    const patches = Array.from({ length: 3 }, (_, i) => ({
      op: 'add' as const,
      path: ['items', `k${i}`],
      value: 'x'.repeat(400),
    }));
    expect(limitOf(await small.commit({ baseVersion: 0, reads: [], author: 'a', patches }))).toBe('maxBytes');
    expect(limitOf(await commitOf(small, ['doc'], 'é'.repeat(600)))).toBe('maxBytes');
    expect((await commitOf(small, ['doc'], 'e'.repeat(600))).ok).toBe(true);
    expect(limitOf(await commitOf(small, ['doc'], deep(8)))).toBe('maxDepth');
    const four = Array.from({ length: 4 }, (_, i) => ({
      op: 'add' as const,
      path: ['items', `k${i}`],
      value: 1,
    }));
    expect(limitOf(await small.commit({ baseVersion: 1, reads: [], author: 'a', patches: four }))).toBe(
      'maxPatches',
    );
    expect(limitOf(await commitOf(small, ['title'], 'y', [['doc'], ['list'], ['items']]))).toBe('maxReads');
    await expect(createBlackboard({ schema: Board, initial, limits: { maxDepth: 0 } })).rejects.toThrow(
      /maxDepth/,
    );
  });

  it('refuses deep and huge message payloads', async () => {
    const board = await createBlackboard({ schema: Board, initial });
    for (const kind of ['object', 'array'] as const) {
      const r = await board.publish('attack', deep(100_000, kind), { author: 'attacker' });
      expect(limitOf(r)).toBe('maxDepth');
    }
    expect(limitOf(await board.publish('attack', 'x'.repeat(9 * 1024 * 1024), { author: 'attacker' }))).toBe(
      'maxBytes',
    );
    expect((await board.publish('fine', deep(200), { author: 'someone' })).ok).toBe(true);
  });

  it('refuses 5 MB topics, authors, activation ids and idempotency keys (maxKeyLength), and keeps the log clean', async () => {
    const board = await createBlackboard({ schema: Board, initial });
    const huge = 'x'.repeat(5 * 1024 * 1024);
    expect(limitOf(await board.publish(huge, {}, { author: 'attacker' }))).toBe('maxKeyLength');
    expect(limitOf(await board.publish('topic', {}, { author: huge }))).toBe('maxKeyLength');
    const patch = { op: 'replace' as const, path: ['title'], value: 'x' };
    for (const extra of [{ author: huge }, { activationId: huge }, { idempotencyKey: huge }]) {
      const r = await board.commit({
        baseVersion: 0,
        reads: [],
        author: 'attacker',
        patches: [patch],
        ...extra,
      });
      expect(limitOf(r)).toBe('maxKeyLength');
    }
    expect(board.version).toBe(0);
    const long = 'y'.repeat(DEFAULT_BOARD_LIMITS.maxKeyLength);
    expect((await board.publish(long, {}, { author: long })).ok).toBe(true);
  });

  it('transact: a recipe writing a 100,000-level value gets a typed refusal, not a RangeError', async () => {
    const board = await createBlackboard({ schema: Board, initial });
    const recipes: ((d: B) => void)[] = [
      (d) => {
        d.doc = deep(100_000, 'object');
      },
      (d) => void d.items.set('k', deep(100_000, 'array')),
      (d) => void d.list.push(deep(100_000)),
      (d) => void Object.assign(d, { doc: { nested: deep(100_000) } }),
      (d) => {
        d.items = Keyed.from({ k: deep(100_000) });
      },
      // Built level by level through the draft.
      (d) => {
        d.doc = {};
        let x = d.doc as Record<string, unknown>;
        for (let i = 0; i < 100_000; i++) {
          x.q = {};
          x = x.q as Record<string, unknown>;
        }
      },
    ];
    for (const recipe of recipes) {
      const r = await board.transact(recipe, { author: 'attacker' });
      expect(limitOf(r)).toBe('maxDepth');
    }
    // Values within the bound still go through.
    const ok = await board.transact((d) => void d.items.set('k', deep(200)), { author: 'someone' });
    expect(ok.ok).toBe(true);
    expect(board.version).toBe(1);
  });

  it("an agent whose step writes a 100,000-level value (a tool's output) has its commit refused as limit_exceeded", async () => {
    const store = new MemoryStore();
    const writer = defineAgent<B>({
      id: 'writer',
      watches: [['title']],
      writes: [['doc'], ['items']],
      retry: { attempts: 1 },
      machine: stepMachine<B, unknown>({
        when: (b) => b.title === 'go' && b.doc === null,
        work: async () => deep(100_000),
        done: (d, output) => {
          d.items.set('out', output);
        },
      }),
    });
    const runtime = createRuntime({ board: { schema: Board, initial }, agents: [writer], store });
    try {
      const result = await runtime.run({ title: 'go' }, { runId: 'agent' });
      expect(['quiescent', 'failed']).toContain(result.outcome);
      const log = JSON.stringify(await store.read('agent', 1));
      // The activation failed on the typed refusal, recorded with the bound it passed.
      expect(log).toMatch(
        /invalid_commit.*nesting deeper than 256 levels at items\.out \(limit maxDepth: 256\)/,
      );
      expect(log).not.toContain('Maximum call stack');
    } finally {
      await runtime.close();
    }
  });
});

describe('the frame depth scan', () => {
  it('counts brackets outside strings only, escapes included, and stops at the first level over', () => {
    expect(DEFAULT_MAX_FRAME_DEPTH).toBe(300);
    expect(jsonNestingOver('{"a":"[[[[[{{{{"}', 1)).toBe(undefined);
    expect(jsonNestingOver('["\\"[[[", [1]]', 1)).toBe(2);
    expect(jsonNestingOver('["\\\\", [[1]]]', 2)).toBe(3);
    expect(jsonNestingOver(`${'['.repeat(100_000)}${']'.repeat(100_000)}`, 300)).toBe(301);
    expect(jsonNestingOver('[[],[],[[]]]', 3)).toBe(undefined);
  });
});

describe('bounds over a real hub', () => {
  const HubBoardSchema = z.object({ go: z.boolean(), doc: z.any(), n: z.number() });
  type HB = z.output<typeof HubBoardSchema>;
  const tokens = {
    'inspect-token-0123456789': 'inspect',
    'attacker-token-0123456789': 'agent:local',
  } as const;
  let cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup = [];
  });

  async function serve() {
    // `local` works for a minute, which keeps the run live while the test writes to it.
    const local = defineAgent<HB>({
      id: 'local',
      watches: [['go']],
      writes: [['doc'], ['n']],
      machine: stepMachine<HB, null>({
        when: (b) => b.go && b.n === 0,
        work: async (event) => {
          await event.tools.sleep(60_000);
          return null;
        },
        done: (d) => {
          d.n += 1;
        },
      }),
    });
    const runtime = createRuntime({
      board: {
        schema: HubBoardSchema,
        initial: { go: false, doc: null, n: 0 },
        limits: { maxBytes: 100_000 },
      },
      agents: [local],
    });
    const hub = await runtime.listen({ tokens, log: () => {} });
    const gate = new AbortController();
    await runtime.start({ go: true }, { runId: 'run-1', signal: gate.signal });
    cleanup.push(async () => {
      gate.abort();
      await runtime.close();
    });
    return hub;
  }

  it('the client refuses a value whose deep chain hides behind shortcuts to its links, before encoding it', async () => {
    const hub = await serve();
    const client = await connect(hub.url, { token: 'attacker-token-0123456789' });
    cleanup.push(async () => client.close());
    // Every link is also reachable at depth 2, but the chain is 5,000 deep: JSON.stringify would overflow.
    const nodes: Record<string, unknown>[] = Array.from({ length: 5_000 }, () => ({}));
    for (let i = 0; i < nodes.length - 1; i++) nodes[i]!.next = nodes[i + 1];
    const sent = client.publish(
      'run-1',
      'attack',
      { chain: nodes[0], shortcuts: nodes },
      { agentId: 'local' },
    );
    await expect(sent).rejects.toMatchObject({ code: 'limit_exceeded' });
    expect((await client.publish('run-1', 'fine', { a: 1 }, { agentId: 'local' })).ok).toBe(true);
  });

  it('answers deep paths, deep values and huge values with typed errors, and keeps serving everyone', async () => {
    const hub = await serve();
    const inspector = await RawClient.open(hub.url, 'inspect-token-0123456789');
    cleanup.push(async () => inspector.close());
    await inspector.next((m) => m.type === 'welcome');
    await inspector.call({ v: 1, type: 'subscribe', id: 1, runs: ['run-1'] });
    const client = await connect(hub.url, { token: 'attacker-token-0123456789' });
    cleanup.push(async () => client.close());

    // 5,000 segments: a typed invalid_commit, not `internal`.
    const long = await client.commit('run-1', {
      baseVersion: 1,
      patches: [{ op: 'add', path: ['doc', ...Array.from({ length: 5_000 }, () => 'x')], value: 1 }],
    });
    expect(long.ok).toBe(false);
    expect(long.error).toMatchObject({
      code: 'invalid_commit',
      detail: { reason: 'limit_exceeded', limit: { name: 'maxDepth' } },
    });
    // Deeper than the board allows, within the frame's bound: the board's typed refusal.
    const over = await client.commit('run-1', {
      baseVersion: 1,
      patches: [{ op: 'add', path: ['doc'], value: deep(270) }],
    });
    expect(over.error).toMatchObject({ code: 'invalid_commit', detail: { reason: 'limit_exceeded' } });
    const published = await client.publish('run-1', 'attack', deep(280));
    expect(published.error).toMatchObject({ code: 'invalid_commit', detail: { reason: 'limit_exceeded' } });
    // Over the board's configured size, within the frame's.
    const big = await client.commit('run-1', {
      baseVersion: 1,
      patches: [{ op: 'add', path: ['doc'], value: 'x'.repeat(200_000) }],
    });
    expect(big.error).toMatchObject({
      code: 'invalid_commit',
      detail: { reason: 'limit_exceeded', limit: { name: 'maxBytes' } },
    });
    // 1,000 levels, from a client that lets it through: the hub refuses the frame before parsing it, and
    // the client's request gets the answer.
    const loose = await connect(hub.url, { token: 'attacker-token-0123456789', maxFrameDepth: 5_000 });
    cleanup.push(async () => loose.close());
    const refusedByHub = await loose
      .commit('run-1', { baseVersion: 1, patches: [{ op: 'add', path: ['doc'], value: deep(1_000) }] })
      .catch((e: unknown) => e);
    expect(refusedByHub).toBeInstanceOf(HubError);
    expect(refusedByHub).toMatchObject({
      code: 'limit_exceeded',
      message: expect.stringMatching(/hub's maxFrameDepth/),
    });
    // 100,000 levels: the client refuses it itself (encoding it would overflow the stack), with the same code.
    const refusedHere = await client
      .commit('run-1', { baseVersion: 1, patches: [{ op: 'add', path: ['doc'], value: deep(100_000) }] })
      .catch((e: unknown) => e);
    expect(refusedHere).toMatchObject({ name: 'HubError', code: 'limit_exceeded' });

    // A raw socket: a deep frame with no id, then one of 100,000 nested arrays, then a ping that is still answered.
    const raw = await RawClient.open(hub.url, 'attacker-token-0123456789');
    cleanup.push(async () => raw.close());
    await raw.next((m) => m.type === 'welcome');
    raw.send(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    const refused = await raw.next((m) => m.type === 'error');
    expect(refused).toMatchObject({ code: 'limit_exceeded' });
    raw.send(
      `{"v":1,"type":"commit","id":7,"runId":"run-1","baseVersion":1,"reads":[],"patches":[{"op":"add","path":["doc"],"value":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}]}`,
    );
    expect(await raw.next((m) => 'ref' in m && m.ref === 7)).toMatchObject({
      type: 'error',
      code: 'limit_exceeded',
    });
    expect(await raw.call({ v: 1, type: 'ping', id: 8 })).toMatchObject({ type: 'pong' });
    raw.expectAllValid();

    // A frame over the hub's frame size closes that socket alone (1009).
    const flooder = await RawClient.open(hub.url, 'attacker-token-0123456789');
    await flooder.next((m) => m.type === 'welcome');
    flooder.send(JSON.stringify({ v: 1, type: 'ping', pad: 'x'.repeat(2 * 1024 * 1024) }));
    expect((await flooder.whenClosed()).code).toBe(1009);

    // Everyone else is still served: a fair commit lands and the inspector sees it.
    const fair = await client.commit('run-1', {
      baseVersion: 1,
      patches: [{ op: 'add', path: ['doc'], value: { fine: deep(10) } }],
    });
    expect(fair).toMatchObject({ ok: true, version: 2 });
    await inspector.next((m) => m.type === 'commit' && m.version === 2);
    inspector.expectAllValid();
  });
});

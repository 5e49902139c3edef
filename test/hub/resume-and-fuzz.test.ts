import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { FileStore } from '../../src/blackboard/index.js';
import { connect } from '../../src/client/index.js';
import { parseClientFrame, type ServerMessage, type ServerMessageOf } from '../../src/protocol/index.js';
import { createRuntime, type RunHandle } from '../../src/runtime/index.js';
import { type HB, HubBoard, hubInitial, incrementer } from '../fixtures/hub-team.js';
import { RawClient, TOKENS } from '../support/hub.js';

const tokens = { [TOKENS.inspect]: 'inspect', [TOKENS.worker]: 'agent:local' } as const;
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

/** A runtime whose one run stays live (its agent works for a minute) while a test commits to it by hand. */
async function liveRun(store?: FileStore, rateLimit?: { perSecond: number; burst: number }) {
  const runtime = createRuntime({
    board: { schema: HubBoard, initial: hubInitial },
    agents: [incrementer('local', 60_000)],
    ...(store ? { store } : {}),
  });
  const hub = await runtime.listen({ tokens, log: () => {}, ...(rateLimit ? { rateLimit } : {}) });
  const gate = new AbortController();
  const run = await runtime.start({ go: true }, { signal: gate.signal });
  cleanup.push(async () => {
    gate.abort();
    await runtime.close();
  });
  return { runtime, hub, run };
}

const note = (run: RunHandle<HB>, i: number) =>
  run.board.commit({
    baseVersion: run.board.version,
    reads: [],
    patches: [{ op: 'add', path: ['notes', run.board.state.notes.length], value: `note ${i}` }],
    author: 'local',
  });

describe('resuming after a drop', () => {
  it('delivers 1,000 commits across a dropped connection with no gap and no duplicate', async () => {
    const { hub, run } = await liveRun();
    const client = await connect(hub.url, { token: TOKENS.inspect, reconnectDelayMs: 10 });
    cleanup.push(async () => client.close());
    const stream = client.follow([run.runId], { types: ['commit'] });
    const seen: ServerMessage[] = [];
    const reading = (async () => {
      for await (const m of stream) {
        seen.push(m);
        if (m.type === 'commit' && m.version === 1001) return;
      }
    })();
    for (let i = 0; i < 1000; i++) {
      expect((await note(run, i)).ok).toBe(true);
      if (i === 500) (client as unknown as { ws: { terminate(): void } }).ws.terminate();
      if (i % 25 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await reading;
    expect(client.reconnections).toBe(1);
    // One snapshot, at the start (it may already hold the first commits): the resumed subscription
    // continued from the log, every version after the snapshot's exactly once, in order.
    const snapshots = seen.filter((m): m is ServerMessageOf<'snapshot'> => m.type === 'snapshot');
    expect(snapshots).toHaveLength(1);
    const first = snapshots[0]!.version + 1;
    const commits = seen.filter((m): m is ServerMessageOf<'commit'> => m.type === 'commit');
    expect(commits.map((m) => m.version)).toEqual(Array.from({ length: 1002 - first }, (_, i) => first + i));
  });

  it('sends a fresh snapshot when the part of the log a client missed was compacted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearsay-hub-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true, maxRetries: 5 }));
    const store = new FileStore({ dir, fsync: 'never' });
    const { hub, run } = await liveRun(store);
    for (let i = 0; i < 250; i++) expect((await note(run, i)).ok).toBe(true);
    await store.compact(run.runId);
    const c = await RawClient.open(hub.url, TOKENS.inspect);
    cleanup.push(async () => c.close());
    await c.call({ v: 1, type: 'subscribe', id: 1, runs: [run.runId], after: { [run.runId]: 3 } });
    const snap = await c.next((m): m is ServerMessageOf<'snapshot'> => m.type === 'snapshot');
    expect(snap).toMatchObject({ compacted: true, version: run.board.version, seq: run.board.seq });
    expect((snap.state as HB).notes).toHaveLength(250);
    // And live events follow it.
    expect((await note(run, 250)).ok).toBe(true);
    await c.next((m) => m.type === 'commit' && m.version === run.board.version);
    c.expectAllValid();
  });
});

describe('history', () => {
  it('answers board_at with the board as it was at any version, and a typed error past the head', async () => {
    const { hub, run } = await liveRun();
    for (let i = 0; i < 5; i++) expect((await note(run, i)).ok).toBe(true);
    const client = await connect(hub.url, { token: TOKENS.inspect });
    cleanup.push(async () => client.close());
    expect(await client.boardAt(run.runId, 0)).toMatchObject({ go: false, notes: [] });
    expect(await client.boardAt(run.runId, 4)).toMatchObject({
      go: true,
      notes: ['note 0', 'note 1', 'note 2'],
    });
    expect(await client.boardAt(run.runId, run.board.version)).toEqual(
      JSON.parse(JSON.stringify(run.board.state)),
    );
    await expect(client.boardAt(run.runId, run.board.version + 1)).rejects.toMatchObject({
      code: 'out_of_range',
    });
    await expect(client.boardAt('no-such-run', 0)).rejects.toMatchObject({ code: 'unknown_run' });
  });
});

describe('bad input over a real socket', () => {
  it('answers random and malformed frames with typed errors, never crashes, and other clients are unaffected', async () => {
    // A fuzzer is a flood: lift the rate limit so every frame is parsed and answered.
    const { hub, run } = await liveRun(undefined, { perSecond: 100_000, burst: 100_000 });
    const watcher = await RawClient.open(hub.url, TOKENS.inspect);
    const fuzzer = await RawClient.open(hub.url, TOKENS.worker);
    cleanup.push(async () => {
      watcher.close();
      fuzzer.close();
    });
    await watcher.call({ v: 1, type: 'subscribe', id: 1, runs: [run.runId], filter: { types: ['commit'] } });
    const frame = fc.oneof(
      fc.string(),
      fc.json(),
      fc.jsonValue().map((j) => JSON.stringify(j)),
      fc
        .record({
          v: fc.constantFrom(1, 2, '1'),
          type: fc.constantFrom('commit', 'publish', 'subscribe', 'hello', 'approval', 'nope'),
        })
        .map((m) => JSON.stringify(m)),
      fc
        .record({
          path: fc.array(
            fc.oneof(fc.string(), fc.integer(), fc.constant('__proto__'), fc.constant('constructor')),
          ),
          op: fc.constantFrom('add', 'replace', 'remove', 'move'),
          value: fc.jsonValue(),
          baseVersion: fc.oneof(fc.integer(), fc.double(), fc.constant(-1)),
        })
        .map(({ path, op, value, baseVersion }) =>
          JSON.stringify({
            v: 1,
            type: 'commit',
            id: 1,
            runId: run.runId,
            baseVersion,
            reads: [],
            patches: [{ op, path, value }],
          }),
        ),
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1')),
    );
    const frames = fc.sample(frame, { numRuns: 600, seed: 42 });
    for (const [i, f] of frames.entries()) {
      fuzzer.send(f);
      if (i % 50 === 0) {
        expect((await note(run, i)).ok).toBe(true);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    // The fuzzing connection is still served, answered every frame, and only with valid messages.
    expect(await fuzzer.call({ v: 1, type: 'ping', id: 424242 })).toMatchObject({ type: 'pong' });
    fuzzer.expectAllValid();
    // Every frame got exactly one answer, but for valid hello/subscribe/unsubscribe frames without an id
    // (which ask for none). The last answer is the pong of the ping just above.
    const silent = frames.filter((f) => {
      const parsed = parseClientFrame(f);
      return (
        parsed.ok &&
        ['hello', 'subscribe', 'unsubscribe'].includes(parsed.message.type) &&
        (parsed.message as { id?: number }).id === undefined
      );
    }).length;
    const answers = fuzzer.messages.filter((m) =>
      ['error', 'commit_result', 'ack', 'pong', 'board'].includes(m.type),
    );
    expect(answers).toHaveLength(frames.length - silent + 1);
    // Nothing escaped the board's schema or the prototype.
    expect(HubBoard.safeParse(run.board.state).success).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // The watcher saw every hand-made commit, in order.
    await watcher.next((m) => m.type === 'commit' && m.version === run.board.version);
    const versions = watcher.messages
      .filter((m): m is ServerMessageOf<'commit'> => m.type === 'commit')
      .map((m) => m.version);
    expect(versions).toEqual(
      Array.from({ length: run.board.version - versions[0]! + 1 }, (_, i) => versions[0]! + i),
    );
  });

  it('lets an agent token write nothing outside its paths, whatever the patch (zero escapes)', async () => {
    const { hub, run } = await liveRun();
    const agent = await RawClient.open(hub.url, TOKENS.worker);
    cleanup.push(async () => agent.close());
    const segment = fc.oneof(
      fc.constantFrom(
        'out',
        'local',
        'n',
        'go',
        'notes',
        '__proto__',
        'constructor',
        'prototype',
        '~1',
        '~0',
        'out/local',
        '',
        '0',
        '-',
      ),
      fc.string({ maxLength: 4 }),
      fc.nat({ max: 3 }),
    );
    const patch = fc.record({
      op: fc.constantFrom('add', 'replace', 'remove'),
      path: fc.oneof(
        fc.array(segment, { maxLength: 4 }),
        fc.array(segment, { maxLength: 3 }).map((p) => ['out', 'local', ...p]),
      ),
      value: fc.oneof(fc.jsonValue(), fc.constant({ __proto__: { polluted: true } }), fc.constant('x')),
    });
    let id = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(patch, { minLength: 1, maxLength: 3 }), async (patches) => {
        const before = run.board.state;
        const reply = await agent.call({
          v: 1,
          type: 'commit',
          id: ++id,
          runId: run.runId,
          baseVersion: run.board.version,
          reads: [],
          patches,
        });
        expect(reply.type).toBe('commit_result');
        const after = run.board.state;
        // Whatever was accepted changed nothing but out.local (the only path `local` may write).
        expect(after.n).toBe(before.n);
        expect(after.go).toBe(before.go);
        expect(after.notes).toBe(before.notes);
        for (const [k, v] of after.out) if (k !== 'local') expect(v).toBe(before.out.get(k));
        expect(Object.getPrototypeOf(after)).toBe(Object.prototype);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 300 },
    );
    agent.expectAllValid();
  });
});

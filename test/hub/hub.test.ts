import { connect as netConnect } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defineAgent, stepMachine } from '../../src/actors/index.js';
import { MemoryStore } from '../../src/blackboard/index.js';
import { connect, HubError } from '../../src/client/index.js';
import type { ServerMessage, ServerMessageOf } from '../../src/protocol/index.js';
import { createRuntime, type Listening, type Runtime } from '../../src/runtime/index.js';
import { applyNaive, plain } from '../blackboard/support/reference.js';
import { type HB, HubBoard, hubInitial, incrementer } from '../fixtures/hub-team.js';
import { RawClient, TOKENS } from '../support/hub.js';

const tokens = {
  [TOKENS.inspect]: 'inspect',
  [TOKENS.operator]: { roles: ['operator'], name: 'ops-alice' },
  [TOKENS.worker]: 'agent:local',
  [TOKENS.limited]: { roles: ['agent:local'], runs: ['run-1'] },
} as const;

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function serve(
  agents = [incrementer('local', 5)],
  options: Parameters<Runtime<HB>['listen']>[0] = {},
): Promise<{ runtime: Runtime<HB>; hub: Listening }> {
  const runtime = createRuntime({
    board: { schema: HubBoard, initial: hubInitial },
    agents,
    goal: (b) => b.n >= agents.length,
  });
  const hub = await runtime.listen({ tokens, log: () => {}, ...options });
  cleanup.push(() => runtime.close());
  return { runtime, hub };
}

async function open(url: string, token?: string): Promise<RawClient> {
  const c = await RawClient.open(url, token);
  cleanup.push(async () => c.close());
  await c.next((m) => m.type === 'welcome');
  return c;
}

/** The raw HTTP answer to an upgrade request (everything the server sent before closing). */
function rawUpgrade(port: number, headers: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => {
      text += d.toString('latin1');
      // An accepted upgrade keeps the socket open: its status line and headers are the answer.
      if (text.startsWith('HTTP/1.1 101') && text.includes('\r\n\r\n')) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
    socket.write(
      `GET /hearsay HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${headers}\r\n`,
    );
  });
}

const ofType =
  <T extends ServerMessage['type']>(type: T) =>
  (m: ServerMessage): m is ServerMessageOf<T> =>
    m.type === type;

describe('the hub', () => {
  it('streams a snapshot then every message of a run, each valid against the protocol', async () => {
    const { runtime, hub } = await serve([incrementer('a', 5), incrementer('b', 1)]);
    const c = await open(hub.url, TOKENS.inspect);
    await c.call({ v: 1, type: 'subscribe', id: 1, runs: '*' });
    const result = await runtime.run({ go: true });
    expect(result.outcome).toBe('completed');
    await c.next(ofType('outcome'));
    // Spans of activations that end as the goal is reached are recorded just after the outcome.
    const count = (type: string) => c.messages.filter((m) => m.type === type).length;
    const started = () =>
      c.messages.filter((m) => m.type === 'activation' && m.activation.phase === 'started').length;
    while (count('span') < started()) await new Promise((r) => setTimeout(r, 10));
    c.expectAllValid();
    const types = new Set(c.messages.map((m) => m.type));
    for (const t of [
      'welcome',
      'ack',
      'snapshot',
      'commit',
      'message',
      'transition',
      'activation',
      'span',
      'outcome',
    ])
      expect(types, t).toContain(t);
    const logged = c.messages.filter(
      (m): m is ServerMessage & { seq: number } => 'seq' in m && m.type !== 'snapshot',
    );
    const snapshot = c.messages.find(ofType('snapshot'))!;
    expect(logged.map((m) => m.seq)).toEqual(logged.map((_, i) => snapshot.seq + 1 + i));
    // The board rebuilt from the snapshot and commits equals the run's final board.
    const commits = c.messages.filter(ofType('commit'));
    expect(commits.at(-1)!.version).toBe(result.version);
    const rebuilt = commits.reduce((state, m) => applyNaive(state, m.patches), snapshot.state);
    expect(rebuilt).toEqual(plain(result.board));
    // Spans: one per activation, each child of the activation whose commit enabled it (or a root).
    // Spans: one per attempt (the later of a and b conflicts on n and is retried), each ended after it began.
    const spans = c.messages.filter(ofType('span'));
    const attempts = c.messages.filter(ofType('activation')).filter((m) => m.activation.phase === 'started');
    expect(spans).toHaveLength(attempts.length);
    expect(new Set(spans.map((s) => s.name))).toEqual(new Set(['agent.a', 'agent.b']));
    expect(spans.every((s) => s.end >= s.start)).toBe(true);
    expect(spans.some((s) => s.status === 'ok')).toBe(true);
  });

  it('lists runs with their age, tokens and cost, and describes the agents with their machines', async () => {
    const payer = defineAgent<HB>({
      id: 'payer',
      watches: [['go']],
      writes: [['n']],
      budget: { tokens: 1000 },
      machine: stepMachine<HB, null>({
        when: (b) => b.go && b.n === 0,
        work: async (event) => {
          event.tools.charge({ inputTokens: 30, outputTokens: 12, cost: 0.25 });
          return null;
        },
        done: (d) => {
          d.n = 2;
        },
      }),
    });
    // Keeps a run live: it works until the run is cancelled.
    const waiter = defineAgent<HB>({
      id: 'waiter',
      watches: [['go']],
      writes: [['notes']],
      machine: stepMachine<HB, null>({
        when: (b) => b.go && b.n === -5,
        work: async (event) => {
          await event.tools.sleep(60_000);
          return null;
        },
        done: () => {},
      }),
    });
    const { runtime, hub } = await serve([payer, waiter]);
    const before = Date.now();
    const ended = await runtime.run({ go: true }, { runId: 'paid' });
    expect(ended.outcome).toBe('completed');
    const client = await connect(hub.url, { token: TOKENS.inspect, reconnect: false });
    cleanup.push(async () => client.close());
    const [info] = await client.runs();
    expect(info).toMatchObject({
      runId: 'paid',
      status: 'ended',
      outcome: 'completed',
      tokens: 42,
      cost: 0.25,
    });
    expect(info!.startedAt).toBeGreaterThanOrEqual(before - 1);
    // A live run reports what it has been charged so far.
    const live = await runtime.start({ go: true, n: -5 }, { runId: 'live' });
    const listed = await client.runs();
    expect(listed.find((r) => r.runId === 'live')).toMatchObject({ status: 'running', tokens: 0, cost: 0 });
    live.cancel();
    await live.result;
    const [agent, other] = await client.agents();
    expect(other?.id).toBe('waiter');
    expect(agent).toMatchObject({
      id: 'payer',
      lifecycle: 'singleton',
      remote: false,
      writes: [['n']],
      budget: { tokens: 1000 },
    });
    expect(Object.keys((agent!.machine as { states: object }).states).length).toBeGreaterThan(1);
    // A token limited to some runs sees only those.
    const limited = await connect(hub.url, { token: TOKENS.limited, reconnect: false });
    cleanup.push(async () => limited.close());
    expect(await limited.runs()).toEqual([]);
  });

  it('refuses an upgrade without a token, or with a wrong one, with 401 and not one byte of run state', async () => {
    const { runtime, hub } = await serve();
    await runtime.run({ go: true });
    for (const headers of [
      '',
      'Authorization: Bearer wrong-token-0123456789\r\n',
      'Sec-WebSocket-Protocol: hearsay.v1, bearer.nope\r\n',
    ]) {
      const answer = await rawUpgrade(hub.port, headers);
      expect(answer).toMatch(/^HTTP\/1\.1 401 Unauthorized\r\n/);
      expect(answer).not.toContain('run-1');
      expect(answer).not.toContain('{');
    }
    await expect(connect(hub.url, { token: 'not-a-configured-token' })).rejects.toBeInstanceOf(HubError);
    // The server is fine.
    const c = await open(hub.url, TOKENS.inspect);
    expect(c.messages[0]).toMatchObject({
      type: 'welcome',
      runs: [{ runId: 'run-1', status: 'ended', outcome: 'completed' }],
    });
  });

  it('refuses a request with thousands of headers and stays up', async () => {
    const { hub } = await serve();
    const many = Array.from({ length: 5000 }, (_, i) => `X-Filler-${i}: ${'y'.repeat(20)}\r\n`).join('');
    const answer = await rawUpgrade(hub.port, `Authorization: Bearer ${TOKENS.inspect}\r\n${many}`);
    expect(answer).toMatch(/^HTTP\/1\.1 431/);
    const c = await open(hub.url, TOKENS.inspect);
    expect(c.messages[0]!.type).toBe('welcome');
  });

  it('refuses browser origins it was not told to allow (403)', async () => {
    const { hub } = await serve();
    const answer = await rawUpgrade(
      hub.port,
      `Authorization: Bearer ${TOKENS.inspect}\r\nOrigin: https://evil.example\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 403 Forbidden/);
    const local = await rawUpgrade(
      hub.port,
      `Authorization: Bearer ${TOKENS.inspect}\r\nOrigin: http://localhost:5173\r\n`,
    );
    expect(local).toMatch(/^HTTP\/1\.1 101/);
  });

  it('lets only agents commit, within their writes, on runs they are admitted to', async () => {
    // `local` works for a minute, which keeps both runs running while the test writes to them.
    const { runtime, hub } = await serve([incrementer('local', 60_000)]);
    const gate = new AbortController();
    const run1 = await runtime.start({ go: true }, { runId: 'run-1', signal: gate.signal });
    const run2 = await runtime.start({ go: true }, { runId: 'run-2', signal: gate.signal });
    cleanup.push(async () => gate.abort());
    const inspector = await open(hub.url, TOKENS.inspect);
    const worker = await open(hub.url, TOKENS.worker);
    const limited = await open(hub.url, TOKENS.limited);
    const commit = (runId: string, path: (string | number)[], value: unknown, id: number) => ({
      v: 1,
      type: 'commit',
      id,
      runId,
      baseVersion: (runId === 'run-1' ? run1 : run2).board.version,
      reads: [],
      patches: [{ op: 'add', path, value }],
    });
    const r1 = await inspector.call(commit('run-1', ['out', 'local'], 'x', 1));
    expect(r1, JSON.stringify(r1)).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await worker.call(commit('run-1', ['out', 'local'], 'by hand', 2))).toMatchObject({
      ok: true,
      version: 2,
    });
    const r3 = await worker.call(commit('run-1', ['go'], true, 3));
    expect(r3, JSON.stringify(r3)).toMatchObject({ ok: false, error: { code: 'forbidden_path' } });
    const r4 = await limited.call(commit('run-2', ['out', 'local'], 'no', 4));
    expect(r4, JSON.stringify(r4)).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await limited.call(commit('run-1', ['out', 'local'], 'y', 5))).toMatchObject({ ok: true });
    expect(run1.board.state.out.get('local')).toBe('y');
    expect(run2.board.state.out.has('local')).toBe(false);
    expect(run1.board.state.go).toBe(true);
    // Reserved topics are the runtime's.
    expect(
      await worker.call({
        v: 1,
        type: 'publish',
        id: 6,
        runId: 'run-1',
        topic: 'hearsay.outcome',
        payload: { outcome: 'completed' },
      }),
    ).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(
      await worker.call({ v: 1, type: 'publish', id: 7, runId: 'run-1', topic: 'chat', payload: 'hi' }),
    ).toMatchObject({ ok: true });
    // A limited token does not even see the other run.
    expect(limited.messages[0]).toMatchObject({ type: 'welcome' });
    expect((limited.messages[0] as ServerMessageOf<'welcome'>).runs.map((r) => r.runId)).toEqual(['run-1']);
    expect(await limited.call({ v: 1, type: 'subscribe', id: 8, runs: ['run-2'] })).toMatchObject({
      type: 'error',
      code: 'forbidden',
    });
    for (const c of [inspector, worker, limited]) c.expectAllValid();
  });

  it('lets only the operator answer approvals and change the agenda', async () => {
    const approver = defineAgent<HB>({
      id: 'sender',
      watches: [['go']],
      writes: [['notes']],
      machine: stepMachine<HB, string>({
        when: (b) => b.go && b.notes.length === 0,
        work: async (e) => {
          const d = await e.tools.requestApproval({ action: 'send_email', args: { to: 'x@example.com' } });
          return d.approved ? `sent (${d.by})` : `not sent: ${d.reason}`;
        },
        done: (d, text) => {
          d.notes.push(text);
        },
      }),
    });
    const runtime = createRuntime({
      board: { schema: HubBoard, initial: hubInitial },
      agents: [approver],
      goal: (b) => b.notes.length > 0,
    });
    cleanup.push(() => runtime.close());
    const hub = await runtime.listen({ tokens, log: () => {} });
    const inspector = await open(hub.url, TOKENS.inspect);
    const operator = await open(hub.url, TOKENS.operator);
    await operator.call({ v: 1, type: 'subscribe', id: 1, runs: '*' });
    const handle = await runtime.start({ go: true });
    const requested = await operator.next(
      (m): m is ServerMessageOf<'approval'> => m.type === 'approval' && m.phase === 'requested',
    );
    const requestId = requested.requestId!;
    expect(await inspector.call({ v: 1, type: 'approval', id: 2, requestId, approved: true })).toMatchObject({
      type: 'error',
      code: 'forbidden',
    });
    expect(
      await inspector.call({
        v: 1,
        type: 'agenda',
        id: 3,
        runId: handle.runId,
        action: 'veto',
        agentId: 'sender',
      }),
    ).toMatchObject({
      type: 'error',
      code: 'forbidden',
    });
    expect(
      await operator.call({ v: 1, type: 'approval', id: 4, requestId, approved: true, comment: 'ok' }),
    ).toMatchObject({
      type: 'ack',
      result: 'answered',
    });
    // The run either went on at once or paused awaiting approval; the answer through the hub resumes it.
    const outcome = await operator.next(
      (m): m is ServerMessageOf<'outcome'> => m.type === 'outcome' && m.outcome !== 'awaiting_approval',
    );
    expect(outcome.outcome).toBe('completed');
    const notes = operator.messages
      .filter(ofType('commit'))
      .flatMap((m) => m.patches.filter((p) => p.path[0] === 'notes').map((p) => p.value));
    expect(notes).toEqual(['sent (ops-alice)']);
    expect(handle.runId).toBe(outcome.runId);
    expect(await operator.call({ v: 1, type: 'approval', id: 5, requestId, approved: true })).toMatchObject({
      result: 'already_answered',
    });
    operator.expectAllValid();
  });

  it('closes a connection that sends an 11 MB frame with 1009, and the server is fine', async () => {
    const { hub } = await serve();
    const big = await open(hub.url, TOKENS.inspect);
    const other = await open(hub.url, TOKENS.inspect);
    big.send(JSON.stringify({ v: 1, type: 'ping', pad: 'x'.repeat(11 * 1024 * 1024) }));
    expect((await big.whenClosed()).code).toBe(1009);
    expect(await other.call({ v: 1, type: 'ping', id: 1 })).toMatchObject({ type: 'pong', ref: 1 });
  });

  it('cuts off a client that stops reading at the buffer bound, while another receives everything in order', async () => {
    // `writer` works for a minute: the run stays live while the test commits as it.
    const { runtime, hub } = await serve([incrementer('writer', 60_000)], { maxBufferedBytes: 1024 * 1024 });
    const gate = new AbortController();
    const handle = await runtime.start({ go: true }, { signal: gate.signal });
    cleanup.push(async () => gate.abort());
    const slow = await open(hub.url, TOKENS.inspect);
    const good = await open(hub.url, TOKENS.inspect);
    await slow.call({ v: 1, type: 'subscribe', id: 1, runs: [handle.runId] });
    await good.call({ v: 1, type: 'subscribe', id: 1, runs: [handle.runId] });
    // The slow client stops reading: its socket is paused, so the server's send buffer grows.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const heapBefore = process.memoryUsage().heapUsed;
    // 5,000 commits of 4 KB: 20 MB, well past what loopback's socket buffers absorb.
    const note = 'n'.repeat(4000);
    for (let i = 0; i < 5000; i++) {
      const r = await handle.board.commit({
        baseVersion: handle.board.version,
        reads: [],
        patches: [{ op: 'add', path: ['notes', 0], value: note }],
        author: 'writer',
      });
      expect(r.ok).toBe(true);
      // The good client reads in this same process: let it (the slow one's socket stays paused).
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await good.next((m) => m.type === 'commit' && m.version === 5001, 30_000);
    // The slow client is cut off once what the kernel's socket buffers absorb is full and the bound passed.
    const since = Date.now();
    while (hub.hub.connectionCount > 1 && Date.now() - since < 10_000)
      await new Promise((r) => setTimeout(r, 20));
    expect(hub.hub.connectionCount).toBe(1);
    const commits = good.messages.filter(ofType('commit'));
    expect(commits.map((m) => m.version)).toEqual(Array.from({ length: 5000 }, (_, i) => i + 2));
    // 5,000 commits of a growing board: the server kept none of it for the slow client beyond the bound.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(200 * 1024 * 1024);
    good.expectAllValid();
  });

  it('rate-limits a flooding client with a typed error and keeps serving others', async () => {
    const { hub } = await serve([incrementer('local', 5)], { rateLimit: { perSecond: 10, burst: 20 } });
    const flood = await open(hub.url, TOKENS.inspect);
    const other = await open(hub.url, TOKENS.inspect);
    // The bucket refills by the process's clock: held still (only Date is faked; sockets keep their timers),
    // nothing refills however long the machine takes to serve the flood, and the burst is all it gets.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      for (let i = 0; i < 30; i++) flood.send({ v: 1, type: 'ping', id: i });
      await flood.next((m) => m.type === 'error' && m.code === 'rate_limited');
      const pongs = flood.messages.filter((m) => m.type === 'pong').length;
      expect(pongs).toBeGreaterThan(0);
      expect(pongs).toBeLessThanOrEqual(20);
      expect(await other.call({ v: 1, type: 'ping', id: 99 })).toMatchObject({ type: 'pong' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('drops a peer that stops answering pings', async () => {
    const { hub } = await serve([incrementer('local', 5)], { heartbeatMs: 50 });
    const c = await open(hub.url, TOKENS.inspect);
    expect(hub.hub.connectionCount).toBe(1);
    // A dead peer: nothing it receives is read or answered.
    (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const start = Date.now();
    while (hub.hub.connectionCount > 0 && Date.now() - start < 5000)
      await new Promise((r) => setTimeout(r, 20));
    expect(hub.hub.connectionCount).toBe(0);
  });

  it('refuses development mode anywhere but loopback, and lets loopback peers in with every role', async () => {
    const runtime = createRuntime({
      board: { schema: HubBoard, initial: hubInitial },
      agents: [incrementer('local', 1)],
    });
    cleanup.push(() => runtime.close());
    await expect(runtime.listen({ insecureDevMode: true, host: '0.0.0.0', log: () => {} })).rejects.toThrow(
      /loopback/,
    );
    const lines: string[] = [];
    const hub = await runtime.listen({ insecureDevMode: true, log: (l) => lines.push(l) });
    expect(lines.join('\n')).toMatch(/INSECURE DEVELOPMENT MODE/);
    const c = await open(hub.url);
    expect((c.messages[0] as ServerMessageOf<'welcome'>).roles).toContain('operator');
  });
});

describe('the hub, where a token stops', () => {
  it('destroys upgrade requests for other paths on its own server instead of leaving them open', async () => {
    const { hub } = await serve();
    const answer = await new Promise<string>((resolve) => {
      const socket = netConnect(hub.port, '127.0.0.1');
      let text = '';
      socket.on('data', (d) => {
        text += d.toString();
      });
      socket.on('close', () => resolve(`closed:${text}`));
      socket.write(
        'GET /elsewhere HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    expect(answer).toBe('closed:');
  });

  it("refuses an operator's answer to a request of a run its token does not admit", async () => {
    const runtime = createRuntime({
      board: { schema: HubBoard, initial: hubInitial },
      agents: [incrementer('local', 1)],
    });
    cleanup.push(() => runtime.close());
    const hub = await runtime.listen({
      tokens: { [TOKENS.operator]: { roles: ['operator'], runs: ['run-1'] } },
      log: () => {},
    });
    const c = await open(hub.url, TOKENS.operator);
    // Request ids are `<runId>/<activation>:<n>:<hash>`.
    expect(
      await c.call({ v: 1, type: 'approval', id: 1, requestId: 'run-2/local#1:1:abc', approved: true }),
    ).toMatchObject({
      type: 'error',
      code: 'forbidden',
    });
    // An id of an admitted run that the store does not hold is unknown, and creates nothing.
    expect(
      await c.call({ v: 1, type: 'approval', id: 2, requestId: 'run-1/local#1:1:abc', approved: true }),
    ).toMatchObject({
      type: 'ack',
      result: 'unknown_request',
    });
    const again = await open(hub.url, TOKENS.operator);
    expect((again.messages[0] as ServerMessageOf<'welcome'>).runs).toEqual([]);
  });

  it('keeps two streams of one client on the same run whole, whatever their filters', async () => {
    const { runtime, hub } = await serve([incrementer('a', 5), incrementer('b', 1)]);
    const client = await connect(hub.url, { token: TOKENS.inspect });
    cleanup.push(async () => client.close());
    const commits = client.follow('*', { types: ['commit'] });
    const outcomes = client.follow('*', { types: ['outcome'] });
    const seen: { commits: number[]; outcomes: string[] } = { commits: [], outcomes: [] };
    const readCommits = (async () => {
      for await (const m of commits) if (m.type === 'commit') seen.commits.push(m.version);
    })();
    const readOutcomes = (async () => {
      for await (const m of outcomes) {
        if (m.type === 'outcome') {
          seen.outcomes.push(m.outcome);
          return;
        }
      }
    })();
    await client.ping();
    const result = await runtime.run({ go: true });
    await readOutcomes;
    expect(seen.outcomes).toEqual([result.outcome]);
    while (seen.commits.at(-1) !== result.version) await new Promise((r) => setTimeout(r, 5));
    commits.close();
    await readCommits;
    expect(seen.commits).toEqual(Array.from({ length: seen.commits.length }, (_, i) => seen.commits[0]! + i));
  });

  it('follows an ended run on a store that announces writes with one board, however often it is asked', async () => {
    // A MemoryStore that announces writes, as a database store does: it counts who follows which run.
    const watching = new Map<string, number>();
    const store = new MemoryStore();
    const announcing = Object.assign(store, {
      watch(runId: string) {
        watching.set(runId, (watching.get(runId) ?? 0) + 1);
        return () => watching.set(runId, watching.get(runId)! - 1);
      },
    });
    const runtime = createRuntime({
      board: { schema: HubBoard, initial: hubInitial },
      agents: [incrementer('local', 3)],
      store: announcing,
    });
    cleanup.push(() => runtime.close());
    const hub = await runtime.listen({ tokens, log: () => {} });
    const result = await runtime.run({ go: true });
    // The run has ended: its own board stopped following.
    expect(watching.get(result.runId)).toBe(0);
    const client = await connect(hub.url, { token: TOKENS.inspect });
    cleanup.push(async () => client.close());
    for (let v = 0; v <= result.version; v++) await client.boardAt(result.runId, v);
    // One board for the run, however many times it was asked for (each would otherwise read for ever).
    expect(watching.get(result.runId)).toBe(1);
  });

  it('never opens one run twice when two resumes race', async () => {
    const runtime = createRuntime({
      board: { schema: HubBoard, initial: hubInitial },
      agents: [incrementer('local', 60_000)],
    });
    cleanup.push(() => runtime.close());
    const gate = new AbortController();
    const first = await runtime.start({ go: true }, { signal: gate.signal });
    gate.abort();
    await first.result;
    const both = await Promise.allSettled([runtime.resume(first.runId), runtime.resume(first.runId)]);
    expect(both.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    for (const r of both) if (r.status === 'fulfilled') r.value.cancel();
  });
});

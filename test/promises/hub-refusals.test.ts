import { createServer } from 'node:net';
import * as hearsay from 'hearsay';
import { type BoardEvent, createRuntime, defineAgent, type LogEvent, stepMachine } from 'hearsay';
import * as clientModule from 'hearsay/client';
import { type ConnectionClosed, connect, HubError } from 'hearsay/client';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { z } from 'zod';

const Board = z.object({ go: z.boolean(), n: z.number() });
type B = z.output<typeof Board>;
const initial = { go: false, n: 0 };

/** An agent that, once `go` is set, waits until its run is cancelled (keeps the run live). */
const waiter = (id = 'waiter') =>
  defineAgent<B>({
    id,
    watches: [['go']],
    writes: [['n']],
    machine: stepMachine<B, null>({
      when: (b) => b.go && b.n === 0,
      work: async (event: BoardEvent<B>) => {
        await event.tools.sleep(3_600_000);
        return null;
      },
      done: (d) => {
        d.n = 1;
      },
    }),
  });

const TOKEN = 'inspect-token-0123456789abcdef';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(options: Record<string, unknown> = {}) {
  const runtime = createRuntime({ board: { schema: Board, initial }, agents: [waiter()] });
  const logs: string[] = [];
  const hub = await runtime.listen({
    tokens: { [TOKEN]: 'inspect' },
    inspector: false,
    log: (l) => logs.push(l),
    ...options,
  });
  cleanups.push(
    () => runtime.close(),
    () => hub.close(),
  );
  return { runtime, hub, logs };
}

const refusal = async (promise: Promise<unknown>): Promise<HubError> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HubError);
  return error as HubError;
};

describe('a client the hub refuses says why', () => {
  it('a wrong token: the hub refused the credentials (401), code unauthorized, not a bare 1006', async () => {
    const { hub } = await serve();
    const e = await refusal(connect(hub.url, { token: 'wrong-token-0123456789abcdef', reconnect: false }));
    expect(e.code).toBe('unauthorized');
    expect(e.message).toMatch(/refused the credentials/);
    expect(e.message).toMatch(/401/);
    expect(e.message).not.toMatch(/1006/);
  });

  it('no token at all is refused the same way', async () => {
    const { hub } = await serve();
    const e = await refusal(connect(hub.url, { reconnect: false }));
    expect(e.code).toBe('unauthorized');
  });

  it('the right token connects', async () => {
    const { hub } = await serve();
    const client = await connect(hub.url, { token: TOKEN, reconnect: false });
    expect(client.welcome.roles).toContain('inspect');
    client.close();
  });

  it('a forbidden origin is forbidden (403), and nothing listening is unreachable', async () => {
    const { hub } = await serve();
    class FromEvil extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { headers: { origin: 'http://evil.example' } });
      }
    }
    const forbidden = await refusal(
      connect(hub.url, { token: TOKEN, reconnect: false, WebSocket: FromEvil as never }),
    );
    expect(forbidden.code).toBe('forbidden');
    // A port that was free a moment ago: nothing answers there.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const unreachable = await refusal(connect(`ws://127.0.0.1:${port}/hearsay`, { reconnect: false }));
    expect(unreachable.code).toBe('unreachable');
  });
});

/** Every author the runtime writes to a log as, and every `by` it records on a decision. */
const ids = ['scheduler', 'operator', 'input', 'policy', 'timeout', 'runtime', 'hub'];

describe('ids the runtime writes as are never agent ids', () => {
  it('one exported list holds every author and decider the runtime writes as', () => {
    expect(hearsay.RESERVED_AGENT_IDS).toBeDefined();
    expect([...hearsay.RESERVED_AGENT_IDS].sort()).toEqual([...ids].sort());
  });

  it.each(ids)('defineAgent refuses "%s" with a typed error', (id) => {
    let thrown: unknown;
    try {
      waiter(id);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    expect(thrown).toMatchObject({ code: 'reserved_agent_id', agentId: id });
    expect((thrown as Error).message).toMatch(/reserved/);
  });

  it.each(ids)('createRuntime refuses an agent object named "%s" that was not built by defineAgent', (id) => {
    const agent = { ...waiter('someone'), id };
    expect(() => createRuntime({ board: { schema: Board, initial }, agents: [agent] })).toThrow(/reserved/);
  });

  it.each(ids)('a hub refuses a token role agent:%s', async (id) => {
    const runtime = createRuntime({ board: { schema: Board, initial }, agents: [waiter()] });
    cleanups.push(() => runtime.close());
    await expect(
      runtime.listen({ tokens: { 'agent-token-0123456789abc': `agent:${id}` }, inspector: false }),
    ).rejects.toThrow(/reserved/);
  });

  it.each(ids)(
    'a remote process may not register as "%s" over the hub, even in development mode',
    async (id) => {
      const { hub, runtime } = await serve({ insecureDevMode: true, tokens: undefined });
      const client = await connect(hub.url, { reconnect: false });
      cleanups.push(() => client.close());
      const e = await refusal(client.hello([id]));
      expect(e.code).toBe('forbidden');
      expect(e.message).toMatch(/reserved/);
      // Nor write as it.
      const run = await runtime.start({ go: true });
      const r = await client.publish(run.runId, 'note', {}, { agentId: id });
      expect(r.ok).toBe(false);
    },
  );

  it('refuses __proto__ everywhere a reserved id is refused, and names of Object.prototype work as ids', async () => {
    expect(() => waiter('__proto__')).toThrow(/__proto__/);
    expect(() =>
      createRuntime({ board: { schema: Board, initial }, agents: [{ ...waiter('x'), id: '__proto__' }] }),
    ).toThrow(/__proto__/);
    const { hub } = await serve({ insecureDevMode: true, tokens: undefined });
    const client = await connect(hub.url, { reconnect: false });
    cleanups.push(() => client.close());
    expect((await refusal(client.hello(['__proto__']))).code).toBe('forbidden');
    // Agents named after Object.prototype's members are accounted under their own names, and nothing
    // reaches Object.prototype (regression: a run of an agent "__proto__" gave every object a cost).
    for (const id of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      const runtime = createRuntime({
        board: { schema: Board, initial },
        agents: [
          defineAgent<B>({
            id,
            watches: [['go']],
            writes: [['n']],
            machine: stepMachine<B, number>({
              when: (b) => b.go && b.n === 0,
              work: async (e) => {
                e.tools.charge({ inputTokens: 5, outputTokens: 5, cost: 0.01 });
                return 1;
              },
              done: (d, n) => {
                d.n = n;
              },
            }),
          }),
        ],
      });
      cleanups.push(() => runtime.close());
      const r = await runtime.run({ go: true });
      expect(r.board.n).toBe(1);
      expect(r.cost.byAgent[id]).toMatchObject({ tokens: 10, cost: 0.01 });
      expect(r.usage.byAgent[id]).toMatchObject({ tokens: 10 });
    }
    expect(({} as Record<string, unknown>).cost).toBeUndefined();
    expect(({} as Record<string, unknown>).tokens).toBeUndefined();
  });

  it('a run only ever has reserved ids or agent ids as authors', async () => {
    const runtime = createRuntime({
      board: { schema: Board, initial },
      agents: [
        defineAgent<B>({
          id: 'setter',
          watches: [['go']],
          writes: [['n']],
          machine: stepMachine<B, number>({
            when: (b) => b.go && b.n === 0,
            work: async () => 1,
            done: (d, n) => {
              d.n = n;
            },
          }),
        }),
      ],
    });
    cleanups.push(() => runtime.close());
    const handle = await runtime.start({ go: true });
    await handle.result;
    const log: LogEvent[] = [];
    handle.board.subscribe({ from: 1 }, (e) => log.push(e))();
    const authors = new Set(log.map((e) => e.author));
    for (const a of authors) expect(a === 'setter' || ids.includes(a)).toBe(true);
  });
});

describe('a slow consumer the hub cuts off receives its close code', () => {
  it('a client that stops reading gets 4008 "slow consumer" once it reads again, as a typed close reason', async () => {
    const { runtime, hub, logs } = await serve({ maxBufferedBytes: 256 * 1024, closeGraceMs: 60_000 });
    const handle = await runtime.start({ go: true });
    let raw: WebSocket | undefined;
    class Spy extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
        raw = this;
      }
    }
    const closes: ConnectionClosed[] = [];
    const client = await connect(hub.url, {
      token: TOKEN,
      reconnect: false,
      WebSocket: Spy as never,
      onClose: (c) => closes.push(c),
    });
    cleanups.push(() => client.close());
    const rawClose = new Promise<number>((resolve) => raw!.once('close', (code) => resolve(code)));
    const stream = client.follow([handle.runId]);
    await client.ping();
    // The client's socket stops reading: the kernel buffers fill, then the hub's.
    const socket = (raw as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const blob = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 2000 && !logs.some((l) => l.includes('slow consumer')); i++) {
      await handle.board.publish('bulk', { i, blob }, { author: 'tester' });
      await new Promise((r) => setImmediate(r));
    }
    // 2,000 × 16 KiB is far more than the bound plus what the kernel buffers on loopback.
    // Longer than the hub used to wait before destroying the socket (1 s): the close frame must still come.
    await new Promise((r) => setTimeout(r, 1500));
    socket.resume();
    // The stream drains what was queued before the close frame, and ends with the connection.
    for await (const _ of stream) {
      // nothing to do with the bulk messages
    }
    // On the wire: the hub's close frame reached the client (not a dropped socket, 1006).
    expect(await rawClose).toBe(4008);
    expect(closes[0]).toMatchObject({ reason: 'slow_consumer', code: 4008 });
    expect(clientModule.CLOSE_CODES.slowConsumer).toBe(4008);
    expect(closes[0]!.message).toMatch(/slow consumer/);
    expect(client.lastClose?.reason).toBe('slow_consumer');
    expect(logs.some((l) => l.includes('cut off slow consumer'))).toBe(true);
  });

  it('a client that never reads again is dropped after the grace period, and the hub holds nothing of it', async () => {
    const { runtime, hub, logs } = await serve({ maxBufferedBytes: 128 * 1024, closeGraceMs: 200 });
    const handle = await runtime.start({ go: true });
    let raw: WebSocket | undefined;
    class Spy extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
        raw = this;
      }
    }
    const client = await connect(hub.url, { token: TOKEN, reconnect: false, WebSocket: Spy as never });
    cleanups.push(() => client.close());
    client.follow([handle.runId]);
    await client.ping();
    expect(hub.hub.connectionCount).toBe(1);
    (raw as unknown as { _socket: { pause(): void } })._socket.pause();
    const blob = 'y'.repeat(16 * 1024);
    for (let i = 0; i < 2000 && !logs.some((l) => l.includes('slow consumer')); i++) {
      await handle.board.publish('bulk', { i, blob }, { author: 'tester' });
      await new Promise((r) => setImmediate(r));
    }
    expect(logs.some((l) => l.includes('cut off slow consumer'))).toBe(true);
    // Never read: the close handshake cannot complete, so the socket is destroyed after the grace period.
    for (let i = 0; i < 500 && hub.hub.connectionCount > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(hub.hub.connectionCount).toBe(0);
  });
});

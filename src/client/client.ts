import { brandClass } from '../blackboard/brand.js';
import { nestsDeeperThan } from '../blackboard/limits.js';
import {
  type AgentInfo,
  type ClientMessage,
  type ConnectionClosed,
  closeReasonOf,
  DEFAULT_MAX_FRAME_DEPTH,
  type MessageFilter,
  type PendingApprovalInfo,
  PROTOCOL_VERSION,
  parseServerFrame,
  passesFilter,
  type RunInfo,
  type ServerMessage,
  type ServerMessageOf,
} from '../protocol/index.js';

/** The WebSocket surface the client needs: the browser's standard one, or `ws` in Node. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: never) => void): void;
}
/**
 * A WebSocket class the client can construct, for {@link ClientOptions.WebSocket}: the browser's, `ws`'s,
 * or any implementation of {@link WebSocketLike}.
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** Options of {@link connect}. */
export interface ClientOptions {
  /** A bearer token the hub was configured with (sent as the `bearer.<token>` subprotocol). */
  readonly token?: string;
  /** A WebSocket implementation (default: the global one, else `ws` in Node). */
  readonly WebSocket?: WebSocketConstructor;
  /** Reconnect after a drop and resume every subscription where it stopped (default true). */
  readonly reconnect?: boolean;
  /** Delay before the first reconnection attempt, doubled up to 5 s (default 100 ms). */
  readonly reconnectDelayMs?: number;
  /** Names this client in its hello. */
  readonly name?: string;
  /**
   * How deeply a message may nest (default 300, the hub's default `maxFrameDepth`): a deeper one is refused
   * here with a `HubError` `limit_exceeded`, before it is encoded (which would overflow the stack).
   */
  readonly maxFrameDepth?: number;
  /** Errors the hub reports that no request is waiting for, and invalid frames from the hub. */
  readonly onError?: (error: { code: string; message: string }) => void;
  /**
   * Called when an established connection ends, with why (`slow_consumer` when the hub cut this client
   * off for reading too slowly, `going_away` when it shut down, …); the client then reconnects unless told
   * not to or the reason is final.
   */
  readonly onClose?: (closed: ConnectionClosed) => void;
}

/**
 * Why {@link connect} failed, as the `code` of its {@link HubError}:
 * - `unauthorized`: the hub refused the credentials (HTTP 401): no token, a wrong one, or a revoked one;
 * - `forbidden`: the hub refused the page's origin (HTTP 403);
 * - `not_found`: no hub at that path, or a hub shutting down (HTTP 404);
 * - `refused`: the hub answered the upgrade with another HTTP status;
 * - `unreachable`: no HTTP answer (nothing listens there, the network failed), or, in a browser, which
 *   hides the status of a refused upgrade, any of the above.
 *
 * @example
 * try { await connect(url, { token }); } catch (e) { if (e instanceof HubError && e.code === 'unauthorized') askForToken(); }
 */
export type ConnectErrorCode = 'unauthorized' | 'forbidden' | 'not_found' | 'refused' | 'unreachable';

/** The {@link HubError} a connection that ended before the hub's welcome fails with. */
function connectError(url: string, status: number | undefined, closeCode: number): HubError {
  switch (status) {
    case undefined:
      return new HubError(
        'unreachable',
        `Could not connect to the hub at ${url} (closed with ${closeCode} before its welcome): is it listening there? (A browser also reports a refused token or origin this way.)`,
      );
    case 401:
      return new HubError(
        'unauthorized',
        'The hub refused the credentials (HTTP 401): the token is missing, wrong or revoked. Give the token the hub was configured with: connect(url, { token }).',
      );
    case 403:
      return new HubError(
        'forbidden',
        "The hub refused this origin (HTTP 403): add it to the hub's allowedOrigins.",
      );
    case 404:
      return new HubError(
        'not_found',
        `No hub answers at ${url} (HTTP 404): check the path (default /hearsay), or the hub is shutting down.`,
      );
    default:
      return new HubError('refused', `The hub refused the connection (HTTP ${status}).`);
  }
}

/** Options of {@link HearsayClient.follow}. */
export interface FollowOptions {
  /**
   * Per run, the seq to continue after instead of starting from a snapshot: `{ [runId]: 0 }` replays the
   * whole log (start from `boardAt(runId, 0)`). Where that part of the log was compacted away the hub
   * sends a snapshot marked `compacted` first.
   */
  readonly after?: Readonly<Record<string, number>>;
}

/** A run's message stream, resumable across reconnections. */
export interface RunStream extends AsyncIterable<ServerMessage> {
  /** Stops following (the iterator ends). */
  close(): void;
}

/** A log-ordered message: has `runId` and `seq`. */
type Logged = Extract<ServerMessage, { runId: string; seq: number }>;

const SUBPROTOCOL = 'hearsay.v1';
/** Close codes after which reconnecting cannot help. */
const FINAL_CLOSES = new Set([1000, 1008, 4029]);

/** A request waiting for its reply. */
interface Pending {
  resolve(message: ServerMessage): void;
  reject(error: Error): void;
}

/**
 * What the client rejects with when the hub refuses: a connection ({@link ConnectErrorCode}) or a request
 * (an `error` reply, its {@link ProtocolErrorCode}: `forbidden`, `unknown_run`, `rate_limited`…). `code`
 * says which; `message` says what to do.
 *
 * @example
 * import { connect, HubError } from 'hearsay/client';
 *
 * const client = await connect('ws://127.0.0.1:7400/hearsay', { token: 'operator-token' });
 * try {
 *   await client.agenda('run-1', 'veto', 'writer');
 * } catch (e) {
 *   if (e instanceof HubError && e.code === 'forbidden') console.error('this token is not an operator');
 *   else throw e;
 * }
 */
export class HubError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HubError';
  }
}
brandClass(HubError, 'HubError');

/**
 * A typed client of a Hearsay hub, for Node and browsers. It authenticates, validates every frame it
 * receives against the protocol, exposes runs as async iterables, and after a dropped connection
 * reconnects and resumes each run from the last sequence number it received: no gap, no duplicate.
 *
 * @example
 * import { connect, type HearsayClient } from 'hearsay/client';
 *
 * const client: HearsayClient = await connect('ws://127.0.0.1:7400/hearsay', { token });
 * for await (const m of client.follow('*')) if (m.type === 'commit') console.log(m.runId, m.version, m.author);
 */
export class HearsayClient {
  private ws: WebSocketLike | undefined;
  private readonly pending = new Map<number, Pending>();
  private readonly streams = new Set<StreamState>();
  private readonly listeners = new Map<string, Set<(m: ServerMessage) => void>>();
  /** Last seq received per run: where a resumed subscription continues. */
  private readonly lastSeq = new Map<string, number>();
  private hostedAgents: readonly string[] = [];
  private nextId = 1;
  private closedByUser = false;
  private opened: Promise<void> | undefined;
  private welcomeMessage: ServerMessageOf<'welcome'> | undefined;
  private reconnects = 0;
  private closedWith: ConnectionClosed | undefined;

  /** @internal Use {@link connect}. */
  constructor(
    readonly url: string,
    private readonly options: ClientOptions,
    private readonly WebSocketImpl: WebSocketConstructor,
  ) {}

  /** The hub's welcome: its version, this connection's roles and the runs it could see. */
  get welcome(): ServerMessageOf<'welcome'> {
    if (!this.welcomeMessage) throw new Error('Not connected yet.');
    return this.welcomeMessage;
  }

  /** Why the last established connection ended (undefined while the first one lasts). */
  get lastClose(): ConnectionClosed | undefined {
    return this.closedWith;
  }

  /** How many times the client reconnected after a drop. */
  get reconnections(): number {
    return this.reconnects;
  }

  /** @internal Opens the connection and waits for the welcome. */
  open(): Promise<void> {
    this.opened = new Promise<void>((resolve, reject) => {
      const protocols = [SUBPROTOCOL, ...(this.options.token ? [`bearer.${this.options.token}`] : [])];
      let ws: WebSocketLike;
      try {
        ws = new this.WebSocketImpl(this.url, protocols);
      } catch (error) {
        reject(error);
        return;
      }
      this.ws = ws;
      let welcomed = false;
      // In Node, `ws` shows the HTTP answer to a refused upgrade (a browser's WebSocket hides it).
      let refusedStatus: number | undefined;
      const emitter = ws as unknown as {
        on?: (event: string, listener: (...args: never[]) => void) => void;
        terminate?: () => void;
      };
      if (typeof emitter.on === 'function' && typeof emitter.terminate === 'function') {
        emitter.on(
          'unexpected-response',
          (_req: unknown, res: { statusCode?: number; resume?: () => void }) => {
            refusedStatus = res.statusCode;
            res.resume?.();
            emitter.terminate?.();
          },
        );
      }
      ws.addEventListener('message', (event: { data: unknown }) => {
        const text = typeof event.data === 'string' ? event.data : String(event.data);
        const parsed = parseServerFrame(text, {
          maxDepth: this.options.maxFrameDepth ?? DEFAULT_MAX_FRAME_DEPTH,
        });
        if (!parsed.ok) {
          this.options.onError?.(parsed.error);
          return;
        }
        if (parsed.message.type === 'welcome' && !welcomed) {
          welcomed = true;
          this.welcomeMessage = parsed.message;
          resolve();
        }
        this.receive(parsed.message);
      });
      ws.addEventListener('close', (event: { code: number; reason: string }) => {
        if (this.ws !== ws) return;
        this.ws = undefined;
        for (const p of this.pending.values()) p.reject(new Error(`connection closed (${event.code})`));
        this.pending.clear();
        if (!welcomed) {
          reject(connectError(this.url, refusedStatus, event.code));
          return;
        }
        this.closedWith = {
          reason: closeReasonOf(event.code),
          code: event.code,
          message: event.reason ?? '',
        };
        try {
          this.options.onClose?.(this.closedWith);
        } catch (error) {
          this.options.onError?.({ code: 'listener_error', message: String(error) });
        }
        if (!this.closedByUser && this.options.reconnect !== false && !FINAL_CLOSES.has(event.code)) {
          void this.reconnect();
        } else {
          for (const s of this.streams) s.end();
        }
      });
      ws.addEventListener('error', () => {
        // Followed by a close event, which decides what happens.
      });
    });
    return this.opened;
  }

  private async reconnect(): Promise<void> {
    let delay = this.options.reconnectDelayMs ?? 100;
    while (!this.closedByUser) {
      await new Promise((r) => setTimeout(r, delay));
      if (this.closedByUser) return;
      try {
        await this.open();
        this.reconnects += 1;
        if (this.hostedAgents.length > 0)
          this.send({ v: PROTOCOL_VERSION, type: 'hello', agents: [...this.hostedAgents] });
        for (const s of this.streams) this.subscribeStream(s, true);
        return;
      } catch (error) {
        // Refused credentials or origin are not fixed by trying again: say so and stop.
        if (error instanceof HubError && (error.code === 'unauthorized' || error.code === 'forbidden')) {
          this.options.onError?.({ code: error.code, message: error.message });
          for (const s of this.streams) s.end();
          return;
        }
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  /** Calls `listener` for every message of `type` (for tools and remote agents). Returns a remover. */
  on<T extends ServerMessage['type']>(type: T, listener: (m: ServerMessageOf<T>) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    const l = listener as (m: ServerMessage) => void;
    set.add(l);
    return () => set.delete(l);
  }

  /**
   * Follows runs (`'*'`: every run, and every run that starts later): a snapshot per run, then every
   * message in log order. `filter` narrows by message type, bus topic or agent.
   */
  follow(runs: '*' | readonly string[], filter?: MessageFilter, options: FollowOptions = {}): RunStream {
    const state = new StreamState(runs, filter, () => this.stopStream(state), options.after);
    this.streams.add(state);
    this.subscribeStream(state, false);
    return state;
  }

  /** Commits as an agent (the token must hold `agent:<id>`); resolves with the hub's typed answer. */
  async commit(
    runId: string,
    commit: {
      baseVersion: number;
      reads?: readonly (readonly (string | number)[])[];
      patches: readonly {
        op: 'add' | 'replace' | 'remove';
        path: readonly (string | number)[];
        value?: unknown;
      }[];
      agentId?: string;
      activationId?: string;
    },
  ): Promise<ServerMessageOf<'commit_result'>> {
    return this.request({
      v: PROTOCOL_VERSION,
      type: 'commit',
      id: 0,
      runId,
      baseVersion: commit.baseVersion,
      reads: (commit.reads ?? []).map((p) => [...p]),
      patches: commit.patches.map((p) => ({ ...p, path: [...p.path] })),
      ...(commit.agentId === undefined ? {} : { agentId: commit.agentId }),
      ...(commit.activationId === undefined ? {} : { activationId: commit.activationId }),
    }) as Promise<ServerMessageOf<'commit_result'>>;
  }

  /** Publishes a message on a run's bus as an agent. */
  async publish(
    runId: string,
    topic: string,
    payload: unknown,
    as: { agentId?: string; activationId?: string } = {},
  ): Promise<ServerMessageOf<'commit_result'>> {
    return this.request({
      v: PROTOCOL_VERSION,
      type: 'publish',
      id: 0,
      runId,
      topic,
      payload,
      ...(as.agentId === undefined ? {} : { agentId: as.agentId }),
      ...(as.activationId === undefined ? {} : { activationId: as.activationId }),
    }) as Promise<ServerMessageOf<'commit_result'>>;
  }

  /** Approves a pending request (operator role). Resolves with `answered`, `unknown_request` or `already_answered`. */
  async approve(requestId: string, comment?: string): Promise<string> {
    const reply = await this.request({
      v: PROTOCOL_VERSION,
      type: 'approval',
      id: 0,
      requestId,
      approved: true,
      ...(comment === undefined ? {} : { comment }),
    });
    return String((reply as ServerMessageOf<'ack'>).result);
  }

  /** Rejects a pending request (operator role). */
  async reject(requestId: string, reason: string): Promise<string> {
    const reply = await this.request({
      v: PROTOCOL_VERSION,
      type: 'approval',
      id: 0,
      requestId,
      approved: false,
      reason,
    });
    return String((reply as ServerMessageOf<'ack'>).result);
  }

  /** Vetoes or promotes an agent (or one item) in a running run's agenda (operator role). */
  async agenda(runId: string, action: 'veto' | 'promote', agentId: string, key?: string): Promise<void> {
    await this.request({
      v: PROTOCOL_VERSION,
      type: 'agenda',
      id: 0,
      runId,
      action,
      agentId,
      ...(key === undefined ? {} : { key }),
    });
  }

  /** A run's board as it was at `version` (0 is the initial state). */
  async boardAt(runId: string, version: number): Promise<unknown> {
    const reply = await this.request({ v: PROTOCOL_VERSION, type: 'board_at', id: 0, runId, version });
    return (reply as ServerMessageOf<'board'>).state;
  }

  /** Every run this connection may see, live or in the store, with its status, age, tokens and cost. */
  async runs(): Promise<RunInfo[]> {
    const reply = await this.request({ v: PROTOCOL_VERSION, type: 'runs', id: 0 });
    return (reply as ServerMessageOf<'runs'>).runs;
  }

  /**
   * The approval requests waiting for an answer, in the runs this connection may see (or in one run):
   * what each would do and the `requestId` to answer with `approve` / `reject` (operator role). A client
   * that joins in the middle of a run sees the requests already pending.
   *
   * @example
   * for (const p of await client.pendingApprovals()) await client.approve(p.requestId, 'checked');
   */
  async pendingApprovals(runId?: string): Promise<PendingApprovalInfo[]> {
    const reply = await this.request({
      v: PROTOCOL_VERSION,
      type: 'approvals',
      id: 0,
      ...(runId === undefined ? {} : { runId }),
    });
    return (reply as ServerMessageOf<'approvals'>).approvals;
  }

  /** The agents registered on the runtime: what they watch and write, and their machines' definitions. */
  async agents(): Promise<AgentInfo[]> {
    const reply = await this.request({ v: PROTOCOL_VERSION, type: 'agents', id: 0 });
    return (reply as ServerMessageOf<'agents'>).agents;
  }

  /** Round trip to the hub. */
  async ping(): Promise<void> {
    await this.request({ v: PROTOCOL_VERSION, type: 'ping', id: 0 });
  }

  /** @internal Declares the remote agents this connection hosts (again after each reconnection). */
  async hello(agents: readonly string[]): Promise<void> {
    this.hostedAgents = agents;
    await this.request({
      v: PROTOCOL_VERSION,
      type: 'hello',
      id: 0,
      agents: [...agents],
      ...(this.options.name ? { client: this.options.name } : {}),
    });
  }

  /** Sends a message and waits for the reply that refers to it; an `error` reply rejects with {@link HubError}. */
  request(message: ClientMessage & { id?: number }): Promise<ServerMessage> {
    const id = this.nextId++;
    return new Promise<ServerMessage>((resolve, reject) => {
      if (!this.ws) {
        reject(new Error('not connected'));
        return;
      }
      this.pending.set(id, { resolve, reject });
      try {
        this.send({ ...message, id } as ClientMessage);
      } catch (error) {
        this.pending.delete(id);
        reject(error);
      }
    });
  }

  /** Sends a message without waiting for a reply. */
  send(message: ClientMessage): void {
    if (this.ws?.readyState !== 1) throw new Error('not connected');
    const maxDepth = this.options.maxFrameDepth ?? DEFAULT_MAX_FRAME_DEPTH;
    if (nestsDeeperThan(message, maxDepth))
      throw new HubError(
        'limit_exceeded',
        `The message nests deeper than ${maxDepth} levels; send shallower values.`,
      );
    this.ws.send(JSON.stringify(message));
  }

  /** Closes the connection for good (streams end). */
  close(): void {
    this.closedByUser = true;
    this.ws?.close(1000, 'client closed');
    for (const s of this.streams) s.end();
    this.streams.clear();
  }

  /**
   * Subscribes a stream on the hub. The hub keeps one subscription per run per connection, so a filter is
   * sent only while this is the client's one stream (each stream also filters what it is offered); after a
   * reconnection (`resuming`) each run continues after the last seq received.
   */
  private subscribeStream(s: StreamState, resuming: boolean): void {
    // While reconnecting, the stream is subscribed again as soon as the connection is back.
    if (this.ws?.readyState !== 1) return;
    // A stream that asked for a replay (`after`) keeps asking for it until it has received something.
    const after: Record<string, number> = { ...s.after };
    if (resuming) {
      for (const [runId, seq] of this.lastSeq) {
        if (s.runs === '*' || s.runs.includes(runId)) after[runId] = Math.max(seq, after[runId] ?? -1);
      }
    }
    this.send({
      v: PROTOCOL_VERSION,
      type: 'subscribe',
      runs: s.runs === '*' ? '*' : [...s.runs],
      ...(Object.keys(after).length > 0 ? { after } : {}),
      ...(s.filter && this.streams.size === 1 ? { filter: s.filter } : {}),
    });
  }

  /** A stream closed: the hub stops sending what no other stream follows. */
  private stopStream(s: StreamState): void {
    this.streams.delete(s);
    if (this.ws?.readyState !== 1) return;
    const others = [...this.streams];
    if (others.some((o) => o.runs === '*')) return;
    if (s.runs === '*') {
      this.send({ v: PROTOCOL_VERSION, type: 'unsubscribe', runs: '*' });
      for (const o of others) this.subscribeStream(o, true);
      return;
    }
    const left = s.runs.filter((r) => !others.some((o) => o.runs !== '*' && o.runs.includes(r)));
    if (left.length > 0) this.send({ v: PROTOCOL_VERSION, type: 'unsubscribe', runs: left });
  }

  private receive(m: ServerMessage): void {
    if ('ref' in m && m.ref !== undefined) {
      const p = this.pending.get(m.ref);
      if (p) {
        this.pending.delete(m.ref);
        if (m.type === 'error') p.reject(new HubError(m.code, m.message));
        else p.resolve(m);
        return;
      }
    }
    if (m.type === 'error') this.options.onError?.(m);
    // The furthest seq received per run: where subscriptions resume after a reconnection.
    if (m.type === 'snapshot' || ('seq' in m && 'runId' in m)) {
      const logged = m as Logged | ServerMessageOf<'snapshot'>;
      if (logged.seq > (this.lastSeq.get(logged.runId) ?? -1)) this.lastSeq.set(logged.runId, logged.seq);
    }
    if (m.type === 'snapshot' || ('seq' in m && 'runId' in m)) {
      for (const s of this.streams) s.offer(m as Logged | ServerMessageOf<'snapshot'>);
    }
    for (const l of this.listeners.get(m.type) ?? []) {
      try {
        l(m);
      } catch (error) {
        // A listener's bug must not become an uncaught exception in the socket's handler.
        this.options.onError?.({ code: 'listener_error', message: String(error) });
      }
    }
  }
}

/** One `follow` call: its runs and filter, and a queue its iterator drains. */
class StreamState implements RunStream {
  private readonly queue: ServerMessage[] = [];
  private wake: (() => void) | undefined;
  private ended = false;

  constructor(
    readonly runs: '*' | readonly string[],
    readonly filter: MessageFilter | undefined,
    private readonly onClose: () => void,
    readonly after: Readonly<Record<string, number>> | undefined,
  ) {
    for (const [runId, seq] of Object.entries(after ?? {})) this.last.set(runId, seq);
  }

  /** The last seq delivered per run. */
  private readonly last = new Map<string, number>();

  offer(m: Logged | ServerMessageOf<'snapshot'>): void {
    if (this.ended) return;
    if (this.runs !== '*' && !this.runs.includes(m.runId)) return;
    // Each stream delivers a run's log once, in order: what it already has (before a reconnection, or
    // replayed for another stream of the same run) is dropped.
    if (m.type === 'snapshot') this.last.set(m.runId, m.seq);
    else {
      if (m.seq <= (this.last.get(m.runId) ?? -1)) return;
      this.last.set(m.runId, m.seq);
    }
    if (!passesFilter(this.filter, m)) return;
    this.queue.push(m);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  close(): void {
    if (this.ended) return;
    this.end();
    this.onClose();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ServerMessage> {
    try {
      for (;;) {
        const next = this.queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (this.ended) return;
        await new Promise<void>((r) => {
          this.wake = r;
        });
        this.wake = undefined;
      }
    } finally {
      this.close();
    }
  }
}

/**
 * Connects to a hub and waits for its welcome. Rejects with a {@link HubError} when the hub refuses the
 * connection (no token, a wrong one, a forbidden origin). In Node it uses `ws` unless `options.WebSocket`
 * names another implementation; in a browser, the global `WebSocket`.
 *
 * @example
 * import { connect } from 'hearsay/client';
 *
 * const client = await connect('ws://127.0.0.1:7400/hearsay', { token: 'inspector-token' });
 * for (const run of await client.runs()) console.log(run.runId, run.status, run.cost);
 * client.close();
 */
export async function connect(url: string, options: ClientOptions = {}): Promise<HearsayClient> {
  const impl =
    options.WebSocket ??
    (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ??
    ((await import('ws')).WebSocket as unknown as WebSocketConstructor);
  const client = new HearsayClient(url, options, impl);
  await client.open();
  return client;
}

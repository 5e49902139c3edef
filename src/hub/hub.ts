import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import {
  isReservedAgentId,
  type LogEvent,
  ReservedAgentIdError,
  type Unsubscribe,
} from '../blackboard/index.js';
import {
  CLOSE_CODES,
  type ClientMessage,
  type ClientMessageOf,
  DEFAULT_MAX_FRAME_DEPTH,
  type FrameError,
  type MessageFilter,
  PROTOCOL_VERSION,
  parseClientFrame,
  passesFilter,
  type RunInfo,
  type ServerMessage,
} from '../protocol/index.js';
import {
  actsAs,
  admitsRun,
  DEV_GRANT,
  type Grant,
  isLoopback,
  presentedToken,
  SUBPROTOCOL,
  type Tokens,
  TokenTable,
} from './auth.js';
import { Heart } from './heart.js';
import { type HubBoard, HubRefusal, type HubSource, type RemoteChannel } from './source.js';
import { StatelyStream } from './stately-stream.js';
import { toServerMessage } from './translate.js';

export { CLOSE_CODES };

/** Options of {@link Hub}. */
export interface HubOptions {
  readonly source: HubSource;
  /** Bearer tokens and what each grants. Required unless `insecureDevMode`. */
  readonly tokens?: Tokens;
  /**
   * Development mode: no tokens, every role, loopback peers only (others get 401). The hub says so
   * loudly when it starts. Never for anything reachable from another machine.
   */
  readonly insecureDevMode?: boolean;
  /** The protocol endpoint (default `/hearsay`); the Stately-compatible stream is at `<path>/stately`. */
  readonly path?: string;
  /** Largest frame a client may send (default 1 MiB); a larger one closes that connection with 1009. */
  readonly maxFrameBytes?: number;
  /**
   * How deeply a client's frame may nest (default 300: a board's default depth plus the message); a deeper
   * one is answered with a `limit_exceeded` error before it is parsed, and the connection stays open.
   */
  readonly maxFrameDepth?: number;
  /**
   * A client whose unsent data would pass this (default 8 MiB) is cut off: the frame that would pass it is
   * not queued, and a close frame with {@link CLOSE_CODES.slowConsumer} goes after what is already queued.
   */
  readonly maxBufferedBytes?: number;
  /**
   * How long a connection the hub closes (a slow consumer, a client over its rate, the hub shutting down)
   * has to read what was queued before it and answer the close frame (default 5000 ms); the socket is
   * destroyed after that if the close handshake has not completed.
   */
  readonly closeGraceMs?: number;
  /**
   * Browser origins allowed to connect. Default: requests without an `Origin` (non-browser clients)
   * and pages served from loopback hosts.
   */
  readonly allowedOrigins?: readonly string[];
  /** Client messages per second per connection, and the burst allowed (default 200/s, burst 400). */
  readonly rateLimit?: { readonly perSecond: number; readonly burst: number };
  /** Ping interval; a peer that misses a whole interval is dropped (default 30 s). */
  readonly heartbeatMs?: number;
  /** permessage-deflate stays off unless given, and then with these limits. */
  readonly perMessageDeflate?: { readonly threshold: number; readonly concurrencyLimit: number };
  /** Where the hub's notices go (default `console.warn`). */
  readonly log?: (line: string) => void;
}

interface SerializedEvent {
  readonly message: ServerMessage;
  /** The message's JSON as UTF-8, encoded once however many clients it goes to. */
  readonly bytes: Buffer;
}

const HTTP_STATUS: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' };

/**
 * The WebSocket hub: every message of every run, in one validated protocol, to inspectors, tools and
 * remote agents. Authenticates in the HTTP upgrade (before any WebSocket exists), bounds frames, rates
 * and per-client buffers, and resumes reconnecting clients from their last sequence number.
 *
 * @example
 * const hub = new Hub({ source, tokens: { [process.env.HEARSAY_TOKEN!]: 'inspect' } });
 * hub.attach(httpServer); // or: await listenHub(hub, { port: 7400 })
 */
export class Hub {
  readonly path: string;
  readonly statelyPath: string;
  private readonly source: HubSource;
  private readonly tokens: TokenTable | undefined;
  private readonly options: HubOptions;
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly stately = new Set<StatelyStream>();
  private readonly heartbeat: NodeJS.Timeout;
  /** Each log event is translated and serialised once, however many clients receive it. */
  private readonly serialized = new WeakMap<LogEvent, SerializedEvent>();
  private counter = 0;
  private closed = false;
  readonly maxBufferedBytes: number;
  readonly closeGraceMs: number;
  /** @internal How deeply a client's frame may nest. */
  readonly maxFrameDepth: number;
  readonly rate: { readonly perSecond: number; readonly burst: number };

  constructor(options: HubOptions) {
    if (!options.tokens && !options.insecureDevMode)
      throw new TypeError('A hub needs `tokens` (or `insecureDevMode: true` for local development).');
    this.options = options;
    this.source = options.source;
    this.tokens = options.tokens ? new TokenTable(options.tokens) : undefined;
    this.path = options.path ?? '/hearsay';
    this.statelyPath = `${this.path}/stately`;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 8 * 1024 * 1024;
    this.closeGraceMs = options.closeGraceMs ?? 5000;
    this.maxFrameDepth = options.maxFrameDepth ?? DEFAULT_MAX_FRAME_DEPTH;
    this.rate = options.rateLimit ?? { perSecond: 200, burst: 400 };
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxFrameBytes ?? 1024 * 1024,
      perMessageDeflate: options.perMessageDeflate
        ? {
            threshold: options.perMessageDeflate.threshold,
            concurrencyLimit: options.perMessageDeflate.concurrencyLimit,
          }
        : false,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
    if (options.insecureDevMode) {
      this.log(
        '⚠ HEARSAY HUB IN INSECURE DEVELOPMENT MODE: no tokens, every client gets every role. Only loopback peers are accepted.',
      );
    }
    const every = options.heartbeatMs ?? 30_000;
    this.heartbeat = setInterval(() => {
      for (const c of this.connections) c.beat();
      for (const s of this.stately) s.beat();
    }, every);
    this.heartbeat.unref();
  }

  /** Handles WebSocket upgrades on `server` for the hub's paths (other paths are left to other listeners). */
  attach(server: Server): void {
    const listener = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.handleUpgrade(req, socket, head);
    };
    server.on('upgrade', listener);
    this.detach.push(() => server.off('upgrade', listener));
  }

  private readonly detach: (() => void)[] = [];

  /**
   * Handles one upgrade request if it is for the hub's paths; returns false otherwise. Authentication
   * happens here: a refused request gets 401 or 403 and its socket is destroyed before any WebSocket exists.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const pathname = new URL(req.url ?? '/', 'http://hub').pathname;
    const kind = pathname === this.path ? 'protocol' : pathname === this.statelyPath ? 'stately' : undefined;
    if (!kind) return false;
    socket.on('error', () => socket.destroy());
    const grant = this.authenticate(req);
    const status = this.closed ? 404 : !this.originAllowed(req.headers.origin) ? 403 : !grant ? 401 : 0;
    if (status !== 0 || !grant) {
      refuse(socket, status || 401);
      return true;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      if (kind === 'stately') {
        const stream = new StatelyStream(
          ws,
          grant,
          this.source,
          this,
          (l) => this.log(l),
          () => this.stately.delete(stream),
        );
        this.stately.add(stream);
        return;
      }
      const conn = new Connection(this, `c${++this.counter}`, ws, grant, this.source);
      this.connections.add(conn);
      ws.on('close', () => {
        this.connections.delete(conn);
        conn.dispose();
      });
      conn.welcome().catch((error: unknown) => {
        this.log(`hub: welcoming a client failed: ${String(error)}`);
        conn.close(1011, 'the hub could not list its runs');
      });
    });
    return true;
  }

  /** How many protocol connections are open. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Closes every connection (1001) and stops accepting new ones. Does not close the HTTP server. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const d of this.detach.splice(0)) d();
    for (const c of this.connections) c.close(CLOSE_CODES.goingAway, 'the hub is shutting down');
    for (const s of this.stately) s.close();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  /** @internal The translated, serialised form of a log event (computed once per event). */
  serialize(event: LogEvent): SerializedEvent {
    let s = this.serialized.get(event);
    if (!s) {
      const message = toServerMessage(event);
      s = { message, bytes: Buffer.from(JSON.stringify(message)) };
      this.serialized.set(event, s);
    }
    return s;
  }

  /** @internal */
  log(line: string): void {
    (this.options.log ?? console.warn)(line);
  }

  private originAllowed(origin: string | undefined): boolean {
    if (origin === undefined) return true;
    if (this.options.allowedOrigins) return this.options.allowedOrigins.includes(origin);
    try {
      const host = new URL(origin).hostname;
      return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
    } catch {
      return false;
    }
  }

  private authenticate(req: IncomingMessage): Grant | undefined {
    const token = presentedToken(req);
    if (token !== undefined && this.tokens) return this.tokens.lookup(token);
    if (this.options.insecureDevMode && isLoopback(req.socket.remoteAddress)) return DEV_GRANT;
    return undefined;
  }
}

function refuse(socket: Duplex, status: number): void {
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${HTTP_STATUS[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** One client of the protocol endpoint. */
class Connection implements RemoteChannel {
  /** Runs followed: how to stop, the filter, and the last seq handed over (where a restarted run resumes). */
  private readonly subscriptions = new Map<
    string,
    { stop: Unsubscribe; filter: MessageFilter; lastSeq: number }
  >();
  /** The filter of a `'*'` subscription (every run, including those that start later). */
  private wildcard: MessageFilter | undefined;
  private stopRunListener: (() => void) | undefined;
  private stopDeleteListener: (() => void) | undefined;
  private withdrawAgents: (() => void) | undefined;
  private readonly heart: Heart;
  private closing = false;
  private tokens: number;
  private refilled = Date.now();
  private overLimit = 0;

  constructor(
    private readonly hub: Hub,
    readonly id: string,
    private readonly ws: WebSocket,
    private readonly grant: Grant,
    private readonly source: HubSource,
  ) {
    this.tokens = hub.rate.burst;
    // A run that starts here (or is resumed after a pause) is followed if this client asked for it.
    this.stopRunListener = source.onRunStarted((runId) => {
      const sub = this.subscriptions.get(runId);
      const wildcard = this.wildcard;
      const change = sub
        ? () => this.follow(runId, 'continue', sub.filter)
        : wildcard && admitsRun(this.grant, runId)
          ? () => this.follow(runId, undefined, wildcard)
          : undefined;
      if (change)
        this.serially(change).catch((error: unknown) =>
          hub.log(`hub: following ${runId} failed: ${String(error)}`),
        );
    });
    // A deleted run is followed no more: its subscription (and the board it holds) goes.
    this.stopDeleteListener = source.onRunDeleted?.((runId) => {
      this.subscriptions.get(runId)?.stop();
      this.subscriptions.delete(runId);
    });
    this.heart = new Heart(ws);
    ws.on('error', () => {
      // A protocol violation (e.g. a frame over the size limit) closes the socket; ws reports it here.
    });
    ws.on('message', (data, isBinary) => this.receive(data, isBinary));
  }

  /** The runs this connection's token admits. */
  private async visibleRuns(): Promise<RunInfo[]> {
    return (await this.source.listRuns()).filter((r) => admitsRun(this.grant, r.runId));
  }

  async welcome(): Promise<void> {
    const runs = await this.visibleRuns();
    this.send({
      v: PROTOCOL_VERSION,
      type: 'welcome',
      server: this.source.server,
      roles: [...this.grant.roles],
      runs,
    });
  }

  send(message: ServerMessage): void {
    this.sendText(JSON.stringify(message));
  }

  beat(): void {
    this.heart.beat();
  }

  admits(runId: string): boolean {
    return admitsRun(this.grant, runId);
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.dispose();
    // The close frame goes after what is queued: a peer that reads it within the grace period receives its
    // code; one that never reads is dropped then, and what it held is freed.
    this.ws.close(code, reason);
    const grace = setTimeout(() => this.ws.terminate(), this.hub.closeGraceMs);
    grace.unref();
    this.ws.once('close', () => clearTimeout(grace));
  }

  dispose(): void {
    for (const sub of this.subscriptions.values()) sub.stop();
    this.subscriptions.clear();
    this.wildcard = undefined;
    this.stopRunListener?.();
    this.stopRunListener = undefined;
    this.stopDeleteListener?.();
    this.stopDeleteListener = undefined;
    this.withdrawAgents?.();
    this.withdrawAgents = undefined;
  }

  private sendText(text: string | Buffer): void {
    if (this.closing || this.ws.readyState !== WebSocket.OPEN) return;
    // Checked before queueing: what a client holds stays under the bound, and the close frame is not
    // stuck behind more than the bound.
    const size = typeof text === 'string' ? Buffer.byteLength(text) : text.length;
    if (this.ws.bufferedAmount > 0 && this.ws.bufferedAmount + size > this.hub.maxBufferedBytes) {
      this.hub.log(
        `hub: cut off slow consumer ${this.id} (${this.ws.bufferedAmount} bytes unsent; bound ${this.hub.maxBufferedBytes})`,
      );
      this.close(CLOSE_CODES.slowConsumer, 'slow consumer: reconnect and resume from your last seq');
      return;
    }
    // A text frame either way (a Buffer is sent as the UTF-8 of a text frame, not as binary).
    this.ws.send(text, { binary: false });
  }

  private error(error: FrameError): undefined {
    this.send({ v: PROTOCOL_VERSION, type: 'error', ...error });
    return undefined;
  }

  /** Token bucket: false when the client is over its rate. */
  private take(): boolean {
    const now = Date.now();
    const { perSecond, burst } = this.hub.rate;
    this.tokens = Math.min(burst, this.tokens + ((now - this.refilled) / 1000) * perSecond);
    this.refilled = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.overLimit = 0;
      return true;
    }
    this.overLimit += 1;
    return false;
  }

  private receive(data: RawData, isBinary: boolean): void {
    if (this.closing) return;
    if (!this.take()) {
      if (this.overLimit === 1)
        this.error({ code: 'rate_limited', message: 'Too many messages; slow down.' });
      if (this.overLimit > this.hub.rate.burst) this.close(CLOSE_CODES.rateLimited, 'rate limit exceeded');
      return;
    }
    if (isBinary) {
      this.error({
        code: 'invalid_message',
        message: 'Binary frames are not part of the protocol; send JSON text.',
      });
      return;
    }
    const parsed = parseClientFrame(data.toString(), { maxDepth: this.hub.maxFrameDepth });
    if (!parsed.ok) {
      this.error(parsed.error);
      return;
    }
    this.handle(parsed.message).catch((error: unknown) => {
      const ref = 'id' in parsed.message ? parsed.message.id : undefined;
      if (error instanceof HubRefusal) {
        this.error({ code: error.code, message: error.message, ...(ref === undefined ? {} : { ref }) });
        return;
      }
      this.hub.log(`hub: handling a ${parsed.message.type} message failed: ${String(error)}`);
      this.error({
        code: 'internal',
        message: 'The hub failed to handle this message.',
        ...(ref === undefined ? {} : { ref }),
      });
    });
  }

  private async handle(m: ClientMessage): Promise<void> {
    switch (m.type) {
      case 'ping':
        return this.send({ v: PROTOCOL_VERSION, type: 'pong', ...(m.id === undefined ? {} : { ref: m.id }) });
      case 'hello':
        return this.hello(m);
      // Subscriptions change one at a time, in the order asked, so an unsubscribe never overtakes the
      // subscribe it follows (other messages, such as a commit awaiting an approval, do not wait).
      case 'subscribe':
        return this.serially(() => this.subscribe(m));
      case 'unsubscribe':
        return this.serially(async () => this.unsubscribe(m));
      case 'commit':
      case 'publish':
        return this.write(m);
      case 'approval':
        return this.approval(m);
      case 'agenda':
        return this.agenda(m);
      case 'board_at':
        return this.boardAt(m);
      case 'runs':
        return this.send({
          v: PROTOCOL_VERSION,
          type: 'runs',
          ref: m.id,
          runs: await this.visibleRuns(),
        });
      case 'approvals':
        // A run the token does not admit lists nothing, as if it had no requests.
        return this.send({
          v: PROTOCOL_VERSION,
          type: 'approvals',
          ref: m.id,
          approvals: (await this.source.pendingApprovals(m.runId)).filter((p) =>
            admitsRun(this.grant, p.runId),
          ),
        });
      case 'agents':
        return this.send({
          v: PROTOCOL_VERSION,
          type: 'agents',
          ref: m.id,
          agents: this.source.describeAgents(),
        });
      case 'agent_request':
      case 'activation_result':
        return this.remote(m);
    }
  }

  private hello(m: ClientMessageOf<'hello'>): undefined {
    const agents = m.agents ?? [];
    for (const agentId of agents) {
      // Checked before the grant: a development-mode token acts as any agent, never as the runtime.
      if (isReservedAgentId(agentId)) {
        return this.error({
          code: 'forbidden',
          message: new ReservedAgentIdError(agentId).message,
          ...ref(m),
        });
      }
      if (!actsAs(this.grant, agentId)) {
        return this.error({
          code: 'forbidden',
          message: `This token may not act as agent "${agentId}".`,
          ...ref(m),
        });
      }
      if (!this.source.agentWrites(agentId)) {
        return this.error({
          code: 'forbidden',
          message: `No agent "${agentId}" is registered on this runtime.`,
          ...ref(m),
        });
      }
    }
    if (agents.length > 0) {
      this.withdrawAgents?.();
      this.withdrawAgents = this.source.hostAgents(this, agents);
    }
    if (m.id !== undefined) this.send({ v: PROTOCOL_VERSION, type: 'ack', ref: m.id });
    return undefined;
  }

  private subscriptionQueue: Promise<unknown> = Promise.resolve();

  /** Runs `change` after every subscription change asked before it. */
  private serially(change: () => Promise<unknown>): Promise<void> {
    const next = this.subscriptionQueue.then(change, change);
    this.subscriptionQueue = next.catch(() => undefined);
    return next.then(() => undefined);
  }

  private async subscribe(m: ClientMessageOf<'subscribe'>): Promise<void> {
    const filter: MessageFilter = m.filter ?? {};
    const after = m.after ?? {};
    if (m.runs === '*') {
      // Runs that start from now on are followed from a snapshot taken as they start (it holds their input).
      this.wildcard = filter;
      for (const run of await this.source.listRuns()) {
        if (admitsRun(this.grant, run.runId)) await this.follow(run.runId, after[run.runId], filter);
      }
    } else {
      for (const runId of m.runs) {
        if (!admitsRun(this.grant, runId)) {
          this.error({ code: 'forbidden', message: `This token may not see run "${runId}".`, ...ref(m) });
          continue;
        }
        if (!(await this.follow(runId, after[runId], filter)))
          this.error({ code: 'unknown_run', message: `There is no run "${runId}".`, ...ref(m) });
      }
    }
    if (m.id !== undefined) this.send({ v: PROTOCOL_VERSION, type: 'ack', ref: m.id });
  }

  private unsubscribe(m: ClientMessageOf<'unsubscribe'>): void {
    const runs = m.runs === '*' ? [...this.subscriptions.keys()] : m.runs;
    if (m.runs === '*') this.wildcard = undefined;
    for (const runId of runs) {
      this.subscriptions.get(runId)?.stop();
      this.subscriptions.delete(runId);
    }
    if (m.id !== undefined) this.send({ v: PROTOCOL_VERSION, type: 'ack', ref: m.id });
  }

  /**
   * Streams a run: with `after`, every event after that seq from the log (or, when that part of the log
   * was compacted, a fresh snapshot); without, a snapshot and then every event after it. No gap, no duplicate.
   */
  private async follow(
    runId: string,
    from: number | 'continue' | undefined,
    filter: MessageFilter,
  ): Promise<boolean> {
    const board = await this.source.openRun(runId);
    if (!board || this.closing) return board !== undefined;
    const previous = this.subscriptions.get(runId);
    // 'continue': the run restarted on a new board; go on after the last event this client was sent.
    const after = from === 'continue' ? previous?.lastSeq : from;
    previous?.stop();
    const head = board.snapshot().seq;
    if (after === undefined || after > head) {
      this.fromSnapshot(runId, board, filter, false);
      return true;
    }
    const sub = { stop: () => {}, filter, lastSeq: after };
    this.subscriptions.set(runId, sub);
    let stopped = false;
    const stop = board.subscribe({ from: after + 1 }, (event) => {
      if (stopped) return;
      if (event.seq !== sub.lastSeq + 1) {
        // The log no longer holds what the client missed: start it again from a snapshot.
        stopped = true;
        this.fromSnapshot(runId, board, filter, true);
        return;
      }
      this.deliver(sub, event);
    });
    sub.stop = () => {
      stopped = true;
      stop();
    };
    return true;
  }

  private fromSnapshot(runId: string, board: HubBoard, filter: MessageFilter, compacted: boolean): void {
    const snap = board.snapshot();
    this.send({
      v: PROTOCOL_VERSION,
      type: 'snapshot',
      runId,
      seq: snap.seq,
      version: snap.version,
      state: snap.state,
      ...(compacted ? { compacted } : {}),
    });
    this.subscriptions.get(runId)?.stop();
    const sub = { stop: () => {}, filter, lastSeq: snap.seq };
    this.subscriptions.set(runId, sub);
    sub.stop = board.subscribe({ from: snap.seq + 1 }, (event) => this.deliver(sub, event));
  }

  private deliver(sub: { filter: MessageFilter; lastSeq: number }, event: LogEvent): void {
    sub.lastSeq = event.seq;
    const { message, bytes } = this.hub.serialize(event);
    if (passesFilter(sub.filter, message)) this.sendText(bytes);
  }

  /** The agent a write is made as: the one named (which the token must allow), or the token's only agent. */
  private writer(named: string | undefined): string | undefined {
    if (named !== undefined && isReservedAgentId(named)) return undefined;
    if (named !== undefined) return actsAs(this.grant, named) ? named : undefined;
    if (this.grant.agents !== '*' && this.grant.agents.size === 1) return [...this.grant.agents][0];
    return undefined;
  }

  private async write(m: ClientMessageOf<'commit'> | ClientMessageOf<'publish'>): Promise<void> {
    const agentId = this.writer(m.agentId);
    const refuse = (message: string) =>
      this.send({
        v: PROTOCOL_VERSION,
        type: 'commit_result',
        ref: m.id,
        ok: false,
        error: { code: 'forbidden', message },
      });
    if (agentId === undefined)
      return refuse(
        m.agentId === undefined
          ? 'Only agents write: this token holds no single agent role (name one with agentId).'
          : `This token may not act as agent "${m.agentId}".`,
      );
    if (!admitsRun(this.grant, m.runId))
      return refuse(`Agent "${agentId}" is not admitted to run "${m.runId}".`);
    const common = {
      runId: m.runId,
      agentId,
      ...(m.activationId === undefined ? {} : { activationId: m.activationId, via: this }),
    };
    let result: Awaited<ReturnType<HubSource['commit']>>;
    if (m.type === 'commit') {
      result = await this.source.commit({
        ...common,
        baseVersion: m.baseVersion,
        reads: m.reads,
        patches: m.patches,
      });
    } else {
      if (m.topic.startsWith('hearsay.'))
        return refuse('Topics starting with "hearsay." are reserved for the runtime.');
      result = await this.source.publish({ ...common, topic: m.topic, payload: m.payload });
    }
    this.send(
      result.ok
        ? {
            v: PROTOCOL_VERSION,
            type: 'commit_result',
            ref: m.id,
            ok: true,
            version: result.version,
            duplicate: result.duplicate,
          }
        : {
            v: PROTOCOL_VERSION,
            type: 'commit_result',
            ref: m.id,
            ok: false,
            error: {
              code: result.code,
              message: result.message,
              ...(result.detail === undefined ? {} : { detail: result.detail }),
            },
          },
    );
  }

  private async approval(m: ClientMessageOf<'approval'>): Promise<void> {
    const runId = this.source.runOf(m.requestId);
    if (runId === undefined || !admitsRun(this.grant, runId))
      return this.error({
        code: 'forbidden',
        message: `This token may not answer ${m.requestId}.`,
        ref: m.id,
      });
    if (!this.grant.operator)
      return this.error({
        code: 'forbidden',
        message: 'Only the operator role answers approvals.',
        ref: m.id,
      });
    if (!m.approved && !m.reason)
      return this.error({ code: 'invalid_message', message: 'A rejection needs a reason.', ref: m.id });
    const result = await this.source.answer(
      m.requestId,
      m.approved
        ? { approved: true, by: this.grant.name, ...(m.comment === undefined ? {} : { comment: m.comment }) }
        : { approved: false, by: this.grant.name, reason: m.reason! },
    );
    this.send({ v: PROTOCOL_VERSION, type: 'ack', ref: m.id, result });
  }

  private agenda(m: ClientMessageOf<'agenda'>): undefined {
    if (!this.grant.operator)
      return this.error({
        code: 'forbidden',
        message: 'Only the operator role changes the agenda.',
        ref: m.id,
      });
    if (!admitsRun(this.grant, m.runId))
      return this.error({
        code: 'forbidden',
        message: `This token may not act on run "${m.runId}".`,
        ref: m.id,
      });
    const done = this.source.agenda(m.runId, m.action, m.agentId, m.key);
    if (!done)
      return this.error({ code: 'unknown_run', message: `Run "${m.runId}" is not running here.`, ref: m.id });
    this.send({ v: PROTOCOL_VERSION, type: 'ack', ref: m.id, result: 'done' });
    return undefined;
  }

  private async boardAt(m: ClientMessageOf<'board_at'>): Promise<void> {
    if (!admitsRun(this.grant, m.runId))
      return this.error({
        code: 'forbidden',
        message: `This token may not see run "${m.runId}".`,
        ref: m.id,
      });
    const board = await this.source.openRun(m.runId);
    if (!board)
      return this.error({ code: 'unknown_run', message: `There is no run "${m.runId}".`, ref: m.id });
    const head = board.snapshot().version;
    if (m.version > head)
      return this.error({
        code: 'out_of_range',
        message: `Run "${m.runId}" is at version ${head}.`,
        ref: m.id,
      });
    let state: unknown;
    try {
      state = await board.at(m.version);
    } catch (error) {
      // A version before a compaction is gone from the log.
      return this.error({ code: 'out_of_range', message: (error as Error).message, ref: m.id });
    }
    this.send({ v: PROTOCOL_VERSION, type: 'board', ref: m.id, runId: m.runId, version: m.version, state });
  }

  private async remote(
    m: ClientMessageOf<'agent_request'> | ClientMessageOf<'activation_result'>,
  ): Promise<void> {
    const result = await this.source.fromRemote(this, m);
    if (m.type === 'agent_request') this.send({ v: PROTOCOL_VERSION, type: 'ack', ref: m.id, result });
  }
}

const ref = (m: { id?: number | undefined }) => (m.id === undefined ? {} : { ref: m.id });

/** Where a hub listens on its own port. */
export interface HubAddress {
  readonly url: string;
  readonly port: number;
  readonly host: string;
}

import { z } from 'zod';
import { topicMatches } from '../blackboard/feed.js';
import { DEFAULT_MAX_FRAME_DEPTH, jsonNestingOver } from './frame-depth.js';

/**
 * The one message vocabulary between a Hearsay hub and its clients (inspectors, tools, remote agents).
 * Every message is a zod schema with an inferred type; the hub validates everything it receives and the
 * tests validate everything it sends. Bump `PROTOCOL_VERSION` on any incompatible change.
 * Every message carries it as `v`; a hub refuses another version (`unsupported_version`).
 *
 * @example
 * import { PROTOCOL_VERSION } from 'hearsay/client';
 *
 * socket.send(JSON.stringify({ v: PROTOCOL_VERSION, type: 'ping', id: 1 }));
 */
export const PROTOCOL_VERSION = 1;

const v = z.literal(PROTOCOL_VERSION);
const segment = z.union([z.string(), z.number().int().nonnegative()]);
/** A board path: object keys and array indices. */
export const PathSchema = z.array(segment);
export const PatchSchema = z.strictObject({
  op: z.enum(['add', 'replace', 'remove']),
  path: PathSchema,
  value: z.unknown().optional(),
});
const runId = z.string().min(1).max(1000);
/** Activation ids carry item keys (`agent[key]#n`): generous, still bounded. */
const id = z.string().min(1).max(4000);
/** Client-chosen number a reply carries back as `ref`. */
const ref = z.number().int().nonnegative();
const seq = z.number().int().nonnegative();
const usage = z.strictObject({
  tokens: z.number().nonnegative().optional(),
  inputTokens: z.number().nonnegative().optional(),
  outputTokens: z.number().nonnegative().optional(),
  cost: z.number().nonnegative().optional(),
});

// ---------------------------------------------------------------- server → client

/** A run as the welcome message and run listings describe it. */
export const RunInfoSchema = z.object({
  runId,
  status: z.enum(['running', 'ended']),
  outcome: z.string().optional(),
  reason: z.string().optional(),
  version: z.number().int().nonnegative(),
  seq,
  /** When the run's log began (ms since the epoch, or the virtual clock of a deterministic run). */
  startedAt: z.number().optional(),
  /** Tokens and cost charged to the run's agents so far. */
  tokens: z.number().nonnegative().optional(),
  cost: z.number().nonnegative().optional(),
});

/**
 * An approval request waiting for an operator: answer it with an `approval` message naming `requestId`.
 *
 * @example
 * const pending = z.array(PendingApprovalSchema).parse(reply.approvals);
 */
export const PendingApprovalSchema = z.object({
  runId,
  requestId: id,
  agentId: id,
  activationId: id,
  action: z.string(),
  args: z.unknown(),
  argsHash: z.string(),
  summary: z.string().optional(),
  /** The board version when it was requested. */
  version: z.number().int().nonnegative().optional(),
  /** Past its timeout once already (`approvalTimeout: 'escalate'`). */
  escalated: z.boolean().optional(),
});

/** An agent registered on the runtime, as inspectors show it. */
export const AgentInfoSchema = z.object({
  id,
  lifecycle: z.enum(['singleton', 'pooled']),
  watches: z.array(PathSchema),
  writes: z.array(PathSchema),
  priority: z.number(),
  concurrency: z.number().int().positive().optional(),
  /** Runs in another process (hosted through `hostAgents`). */
  remote: z.boolean(),
  /** The child team it belongs to (absent for the runtime's own agents). */
  team: z.string().optional(),
  /** The agent's budget per run: its breaker opens when it is spent. */
  budget: z
    .object({ tokens: z.number().nonnegative().optional(), cost: z.number().nonnegative().optional() })
    .optional(),
  /** The machine's config as JSON (functions named by their type), for drawing its states. */
  machine: z.unknown(),
});

/** Fields every log-derived message carries: the run and the position in its log. */
const logged = { v, runId, seq, time: z.number() };

/** What enabled an activation: the commit whose writes concern the agent (paths capped on the log). */
export const EnablerSchema = z.object({
  seq,
  version: z.number().int().nonnegative(),
  paths: z.array(PathSchema),
  morePaths: z.number().int().nonnegative().optional(),
  activationId: z.string().optional(),
  depth: z.number().int().nonnegative(),
});

/** `hearsay.activation`: an activation started, was refused, completed, failed or was aborted. */
export const ActivationRecordSchema = z.discriminatedUnion('phase', [
  z.object({
    phase: z.literal('started'),
    activationId: id,
    agentId: id,
    key: z.string().optional(),
    depth: z.number().int().nonnegative(),
    attempt: z.number().int().positive(),
    enabledBy: EnablerSchema,
    delegatedBy: z.string().optional(),
    delegatedByActivation: z.string().optional(),
    traceparent: z.string().max(64).optional(),
  }),
  z.object({
    phase: z.literal('refused'),
    agentId: id,
    key: z.string().optional(),
    reason: z.string(),
    detail: z.string(),
    enabledBy: EnablerSchema,
  }),
  z.object({ phase: z.literal('completed'), activationId: id, agentId: id, key: z.string().optional() }),
  z.object({
    phase: z.literal('failed'),
    activationId: id,
    agentId: id,
    key: z.string().optional(),
    attempt: z.number().int().positive(),
    error: z.string(),
    next: z.enum(['retry', 'fallback', 'none']),
  }),
  z.object({
    phase: z.literal('aborted'),
    activationId: id,
    agentId: id,
    key: z.string().optional(),
    reason: z.string(),
    resumable: z.boolean().optional(),
  }),
]);

/** `hearsay.transition`: an agent's machine moved from one state to another. */
export const TransitionRecordSchema = z.object({
  agentId: z.string(),
  key: z.string().optional(),
  activationId: z.string().optional(),
  from: z.string(),
  to: z.string(),
  event: z.string(),
});

/** `hearsay.span`: an ended span of one activation attempt. */
export const SpanRecordSchema = z.object({
  spanId: id,
  parentSpanId: z.string().optional(),
  name: z.string(),
  start: z.number(),
  end: z.number(),
  status: z.enum(['ok', 'error', 'aborted']),
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
});

/**
 * Every message a hub sends, as one zod schema discriminated on `type`: log events of the runs a client
 * follows (`snapshot`, `commit`, `message`, `activation`, `outcome`…), replies to its requests, and work
 * for the agents it hosts. Validate what you receive from a hub with it (or with `parseServerFrame`).
 *
 * @example
 * import { ServerMessageSchema } from 'hearsay/client';
 *
 * const m = ServerMessageSchema.parse(JSON.parse(frame));
 * if (m.type === 'commit') console.log(m.runId, m.version, m.author);
 */
export const ServerMessageSchema = z.discriminatedUnion('type', [
  z.object({
    v,
    type: z.literal('welcome'),
    server: z.string(),
    /** What this connection may do: `inspect`, `operator`, `agent:<id>`. */
    roles: z.array(z.string()),
    runs: z.array(RunInfoSchema),
  }),
  /** A run's board at a version; the messages that follow it continue from `seq`. */
  z.object({
    v,
    type: z.literal('snapshot'),
    runId,
    seq,
    version: z.number().int().nonnegative(),
    state: z.unknown(),
    /** Set when the client asked to resume from a part of the log that was compacted away. */
    compacted: z.boolean().optional(),
  }),
  z.object({
    ...logged,
    type: z.literal('commit'),
    version: z.number().int().positive(),
    baseVersion: z.number().int().nonnegative(),
    author: z.string(),
    activationId: z.string().optional(),
    patches: z.array(PatchSchema),
    writes: z.array(PathSchema),
  }),
  /** A message on the run's bus (and any runtime record without a dedicated type, under its topic). */
  z.object({
    ...logged,
    type: z.literal('message'),
    version: z.number().int().nonnegative(),
    topic: z.string(),
    author: z.string(),
    payload: z.unknown(),
  }),
  z.object({ ...logged, type: z.literal('transition'), ...TransitionRecordSchema.shape }),
  z.object({ ...logged, type: z.literal('activation'), activation: ActivationRecordSchema }),
  /** An activation's span ended: its parent is the span of the activation whose commit enabled it. */
  z.object({ ...logged, type: z.literal('span'), ...SpanRecordSchema.shape }),
  z.object({
    ...logged,
    type: z.literal('stream'),
    activationId: id,
    agentId: z.string().optional(),
    delta: z.string(),
  }),
  z.object({
    ...logged,
    type: z.literal('approval'),
    /** `requested`, `answered`, `escalated`, `refused` or `used` (new phases may be added). */
    phase: z.string(),
    /**
     * The request this record is about: on every approval frame (v1 hubs have always sent it; a log
     * record without one is sent as a plain `message`).
     */
    requestId: z.string().min(1),
    record: z.unknown(),
  }),
  z.object({
    ...logged,
    type: z.literal('outcome'),
    outcome: z.string(),
    reason: z.string(),
    /** What the run's agents were charged in all. */
    usage: usage.optional(),
  }),
  /** The reply to a client's commit. */
  z.object({
    v,
    type: z.literal('commit_result'),
    ref,
    ok: z.boolean(),
    version: z.number().int().nonnegative().optional(),
    duplicate: z.boolean().optional(),
    error: z.object({ code: z.string(), message: z.string(), detail: z.unknown().optional() }).optional(),
  }),
  /** The reply to `board_at`: the run's board as it was at `version`. */
  z.object({
    v,
    type: z.literal('board'),
    ref,
    runId,
    version: z.number().int().nonnegative(),
    state: z.unknown(),
  }),
  /** The reply to a publish, an approval answer or an agent request. */
  z.object({
    v,
    type: z.literal('ack'),
    ref,
    result: z.unknown().optional(),
  }),
  z.object({ v, type: z.literal('pong'), ref: ref.optional() }),
  /** The reply to `runs`: every run this connection may see, live or in the store. */
  z.object({ v, type: z.literal('runs'), ref, runs: z.array(RunInfoSchema) }),
  /** The reply to `agents`: the agents registered on the runtime. */
  z.object({ v, type: z.literal('agents'), ref, agents: z.array(AgentInfoSchema) }),
  /** The reply to `approvals`: the requests waiting for an answer, in the runs this connection may see. */
  z.object({ v, type: z.literal('approvals'), ref, approvals: z.array(PendingApprovalSchema) }),
  /** Remote agents: run one step of `agentId`'s machine on the board at `version` (or later). */
  z.object({
    v,
    type: z.literal('activate'),
    /** Names this dispatch of a step (unique per runtime): every reply about it carries it back. */
    dispatch: id,
    runId,
    activationId: id,
    agentId: id,
    key: z.string().optional(),
    version: z.number().int().nonnegative(),
    changed: z.array(PathSchema),
    depth: z.number().int().nonnegative(),
    attempt: z.number().int().positive(),
    delegation: z.object({ from: z.string(), task: z.unknown() }).optional(),
    fallbackFor: z.object({ agentId: z.string(), error: z.string() }).optional(),
    /** The event to send instead of the board event (a human rejected an irreversible step). */
    rejection: z.object({ state: z.string(), by: z.string(), reason: z.string() }).optional(),
    /** The singleton's persisted XState snapshot to continue from (absent: a fresh actor). */
    snapshot: z.unknown().optional(),
    /** W3C traceparent of the activation's span: the remote process traces its work beneath it. */
    traceparent: z.string().max(64).optional(),
  }),
  /** Remote agents: stop the activation (the run ended or was cancelled). */
  z.object({ v, type: z.literal('abort'), dispatch: id, activationId: id, reason: z.string() }),
  z.object({
    v,
    type: z.literal('error'),
    code: z.enum([
      'bad_json',
      'invalid_message',
      'unsupported_version',
      'forbidden',
      'unknown_run',
      'unknown_activation',
      'rate_limited',
      'out_of_range',
      /** The frame is over one of the hub's bounds (its nesting depth); the message names it. */
      'limit_exceeded',
      'internal',
    ]),
    message: z.string(),
    ref: ref.optional(),
    issues: z
      .array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() }))
      .optional(),
  }),
]);

// ---------------------------------------------------------------- client → server

const runFilter = z.strictObject({
  types: z.array(z.string().max(40)).max(32).optional(),
  /** Topics of bus messages; `prefix*` matches a prefix. */
  topics: z.array(z.string().max(200)).max(64).optional(),
  agents: z.array(id).max(256).optional(),
});

/**
 * Every message a client may send a hub, as one zod schema discriminated on `type`: `hello`,
 * `subscribe`, `commit`, `publish`, `approval`, `agenda`, requests (`runs`, `agents`, `board_at`…) and
 * the results of hosted agents' activations. The hub validates every frame against it.
 *
 * @example
 * import { ClientMessageSchema, PROTOCOL_VERSION } from 'hearsay/client';
 *
 * const subscribe = ClientMessageSchema.parse({ v: PROTOCOL_VERSION, type: 'subscribe', id: 1, runs: '*' });
 * socket.send(JSON.stringify(subscribe));
 */
export const ClientMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({
    v,
    type: z.literal('hello'),
    id: ref.optional(),
    client: z.string().max(200).optional(),
    /** Remote agents this connection hosts (each needs the `agent:<id>` role). */
    agents: z.array(id).max(256).optional(),
  }),
  /**
   * Follow runs (`'*'`: every run, including those that start later). For each run: a snapshot then
   * every message in log order; with `after[runId]`, only what came after that seq (resume).
   */
  z.strictObject({
    v,
    type: z.literal('subscribe'),
    id: ref.optional(),
    runs: z.union([z.literal('*'), z.array(runId).max(1000)]),
    after: z.record(runId, seq).optional(),
    filter: runFilter.optional(),
  }),
  z.strictObject({
    v,
    type: z.literal('unsubscribe'),
    id: ref.optional(),
    runs: z.union([z.literal('*'), z.array(runId).max(1000)]),
  }),
  /** A commit by a remote agent, with the same optimistic rules as a local one. */
  z.strictObject({
    v,
    type: z.literal('commit'),
    id: ref,
    runId,
    /** Set when the commit is part of an activation the hub sent this connection. */
    activationId: id.optional(),
    baseVersion: z.number().int().nonnegative(),
    reads: z.array(PathSchema).max(10_000),
    patches: z.array(PatchSchema).min(1).max(10_000),
    /** The agent committing (required when the connection holds several agent roles). */
    agentId: id.optional(),
  }),
  z.strictObject({
    v,
    type: z.literal('publish'),
    id: ref,
    runId,
    activationId: id.optional(),
    agentId: id.optional(),
    topic: z.string().min(1).max(200),
    payload: z.unknown(),
  }),
  /** An operator's answer to an approval request. */
  z.strictObject({
    v,
    type: z.literal('approval'),
    id: ref,
    requestId: z.string().min(1).max(300),
    approved: z.boolean(),
    comment: z.string().max(2000).optional(),
    reason: z.string().max(2000).optional(),
  }),
  /** An operator's veto or promotion of an agent (or one item) in a run's agenda. */
  z.strictObject({
    v,
    type: z.literal('agenda'),
    id: ref,
    runId,
    action: z.enum(['veto', 'promote']),
    agentId: id,
    key: z.string().max(200).optional(),
  }),
  z.strictObject({ v, type: z.literal('ping'), id: ref.optional() }),
  /** Lists the runs this connection may see (answered by `runs`). */
  z.strictObject({ v, type: z.literal('runs'), id: ref }),
  /** Describes the agents registered on the runtime (answered by `agents`). */
  z.strictObject({ v, type: z.literal('agents'), id: ref }),
  /** Lists the approval requests waiting for an answer, of one run or of all it may see (answered by `approvals`). */
  z.strictObject({ v, type: z.literal('approvals'), id: ref, runId: runId.optional() }),
  /** The board of a run as it was at `version` (0 is the initial state): history for a version slider. */
  z.strictObject({
    v,
    type: z.literal('board_at'),
    id: ref,
    runId,
    version: z.number().int().nonnegative(),
  }),
  /** Remote agents: a request of the machine during an activation (delegate, charge, approval). */
  z.strictObject({
    v,
    type: z.literal('agent_request'),
    id: ref,
    dispatch: id,
    activationId: id,
    request: z.discriminatedUnion('type', [
      z.strictObject({ type: z.literal('delegate'), to: id, task: z.unknown() }),
      z.strictObject({ type: z.literal('charge'), usage }),
      /** Uses an approval this activation was given, on the run's log, before running the action. */
      z.strictObject({
        type: z.literal('use_approval'),
        requestId: id,
        action: z.string().min(1).max(200),
        args: z.unknown(),
      }),
      z.strictObject({
        type: z.literal('approval'),
        action: z.string().min(1).max(200),
        args: z.unknown(),
        summary: z.string().max(2000).optional(),
      }),
    ]),
  }),
  /** Remote agents: how the step of an activation ended. */
  z.strictObject({
    v,
    type: z.literal('activation_result'),
    dispatch: id,
    activationId: id,
    status: z.enum(['settled', 'done', 'failed']),
    error: z.string().max(10_000).optional(),
    /** The actor's persisted snapshot after the step (singletons keep their state between activations). */
    snapshot: z.unknown().optional(),
    /** The state values the step went through: `[from, to, eventType]` each. */
    transitions: z
      .array(z.tuple([z.string(), z.string(), z.string()]))
      .max(10_000)
      .optional(),
  }),
]);

/** Any message a hub sends (a union on `type`); narrow it with `m.type` or name one with {@link ServerMessageOf}. */
export type ServerMessage = z.infer<typeof ServerMessageSchema>;
/** Any message a client may send a hub (a union on `type`); name one with {@link ClientMessageOf}. */
export type ClientMessage = z.infer<typeof ClientMessageSchema>;
/** A run as a hub lists it (`client.runs()`, the welcome): its status, outcome, position in its log, tokens and cost. */
export type RunInfo = z.infer<typeof RunInfoSchema>;
/** An agent registered on a runtime as a hub describes it (`client.agents()`): lifecycle, paths, budget, machine. */
export type AgentInfo = z.infer<typeof AgentInfoSchema>;
/** An approval request waiting for an operator (`client.pendingApprovals()`): answer it by its `requestId`. */
export type PendingApprovalInfo = z.infer<typeof PendingApprovalSchema>;
/** The server message of one `type`, e.g. `ServerMessageOf<'commit'>`. */
export type ServerMessageOf<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;
/** The client message of one `type`, e.g. `ClientMessageOf<'subscribe'>`. */
export type ClientMessageOf<T extends ClientMessage['type']> = Extract<ClientMessage, { type: T }>;
/** The `code` of a hub's `error` reply: why it refused a frame or a request (`forbidden`, `unknown_run`, `rate_limited`…). */
export type ProtocolErrorCode = ServerMessageOf<'error'>['code'];

/** Why a frame was refused, as the hub replies it. */
export interface FrameError {
  readonly code: ProtocolErrorCode;
  readonly message: string;
  readonly ref?: number;
  readonly issues?: { path: (string | number)[]; message: string }[];
}

/** Bounds a frame is checked against before it is parsed. */
export interface FrameBounds {
  /** How deeply the frame's JSON may nest (default 300). */
  readonly maxDepth?: number;
}

/**
 * Parses one text frame from a client: the message, or a typed error naming the problem. A frame nested
 * deeper than `bounds.maxDepth` is refused (`limit_exceeded`) before it is parsed.
 *
 * @example
 * import { parseClientFrame } from 'hearsay/client';
 *
 * const parsed = parseClientFrame(text, { maxDepth: 100 });
 * if (!parsed.ok) socket.send(JSON.stringify({ v: 1, type: 'error', ...parsed.error }));
 * else if (parsed.message.type === 'ping') socket.send(JSON.stringify({ v: 1, type: 'pong', ref: parsed.message.id }));
 */
export const parseClientFrame = (text: string, bounds?: FrameBounds): ParsedFrame<ClientMessage> =>
  parseFrame(ClientMessageSchema, text, bounds);

/**
 * Parses one text frame from a server (clients validate what they receive too): the message, or a typed
 * error naming the problem.
 *
 * @example
 * import { parseServerFrame } from 'hearsay/client';
 *
 * socket.addEventListener('message', (e) => {
 *   const parsed = parseServerFrame(String(e.data));
 *   if (parsed.ok && parsed.message.type === 'outcome') console.log(parsed.message.outcome);
 * });
 */
export const parseServerFrame = (text: string, bounds?: FrameBounds): ParsedFrame<ServerMessage> =>
  parseFrame(ServerMessageSchema, text, bounds);

/** A parsed frame, or why it was refused. */
export type ParsedFrame<T> = { ok: true; message: T } | { ok: false; error: FrameError };

function parseFrame<T>(schema: z.ZodType<T>, text: string, bounds?: FrameBounds): ParsedFrame<T> {
  const maxDepth = bounds?.maxDepth ?? DEFAULT_MAX_FRAME_DEPTH;
  if (jsonNestingOver(text, maxDepth) !== undefined) {
    return {
      ok: false,
      error: {
        code: 'limit_exceeded',
        message: `The frame nests deeper than ${maxDepth} levels (the hub's maxFrameDepth); send shallower values.`,
        ...refIn(text),
      },
    };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      error: { code: 'bad_json', message: `The frame is not JSON: ${(error as Error).message}` },
    };
  }
  return parseMessage(schema, raw);
}

/**
 * The `id` of a refused frame, so the sender can match the error to its request. Only the top level is
 * read; V8's `JSON.parse` does not recurse, and an engine whose parser does gives up here without a ref.
 */
function refIn(text: string): { ref?: number } {
  try {
    const id: unknown = (JSON.parse(text) as { id?: unknown } | null)?.id;
    return typeof id === 'number' && Number.isInteger(id) && id >= 0 ? { ref: id } : {};
  } catch {
    return {};
  }
}

function parseMessage<T>(
  schema: z.ZodType<T>,
  raw: unknown,
): { ok: true; message: T } | { ok: false; error: FrameError } {
  const refOf =
    typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'number'
      ? (raw as { id: number }).id
      : undefined;
  const withRef = refOf !== undefined && Number.isInteger(refOf) && refOf >= 0 ? { ref: refOf } : {};
  if (
    typeof raw === 'object' &&
    raw !== null &&
    'v' in raw &&
    (raw as { v: unknown }).v !== PROTOCOL_VERSION
  ) {
    return {
      ok: false,
      error: {
        code: 'unsupported_version',
        message: `Protocol version ${JSON.stringify((raw as { v: unknown }).v)} is not supported; this hub speaks v${PROTOCOL_VERSION}.`,
        ...withRef,
      },
    };
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issues = parsed.error.issues.slice(0, 10).map((i) => ({
    path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)),
    message: i.message,
  }));
  const first = issues[0];
  return {
    ok: false,
    error: {
      code: 'invalid_message',
      message: first
        ? `Invalid message at ${first.path.length ? first.path.join('.') : '(root)'}: ${first.message}`
        : 'Invalid message',
      issues,
      ...withRef,
    },
  };
}

/** The agent a server message is about, for per-connection agent filters. */
export function agentOf(m: ServerMessage): string | undefined {
  switch (m.type) {
    case 'commit':
    case 'message':
      return m.author;
    case 'transition':
    case 'stream':
      return m.agentId;
    case 'activation':
      return m.activation.agentId;
    case 'span':
      return typeof m.attributes.agentId === 'string' ? m.attributes.agentId : undefined;
    default:
      return undefined;
  }
}

/** What a subscription asks for: message types, bus topics (`prefix*` allowed), agents. */
export type MessageFilter = z.infer<typeof runFilter>;

/** Whether a message passes a subscription's filter (snapshots always do; messages about no agent pass agent filters). */
export function passesFilter(filter: MessageFilter | undefined, m: ServerMessage): boolean {
  if (!filter || m.type === 'snapshot') return true;
  if (filter.types && !filter.types.includes(m.type)) return false;
  if (filter.topics && m.type === 'message' && !topicMatches(filter.topics, m.topic)) return false;
  const agent = filter.agents ? agentOf(m) : undefined;
  return agent === undefined || filter.agents!.includes(agent);
}

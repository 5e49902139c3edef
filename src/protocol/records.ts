/**
 * The records a run writes on its own log, one zod schema per topic: what the scheduler decided and did,
 * what models and tools were called, what was approved, how the run ended. Writers are typed by them
 * (`RecordOf<topic>`), and readers (resume, tracing, evals, the inspector, the CLI) parse with them
 * instead of re-declaring shapes: a record that does not match is found where it is read, by topic.
 *
 * Records carry what readers need; a field a later version adds is dropped by an older reader's parse, not
 * refused, so an older reader still reads a newer log.
 */
import { z } from 'zod';
import { BlackboardError } from '../blackboard/errors.js';
import {
  ActivationRecordSchema,
  EnablerSchema,
  SpanRecordSchema,
  TransitionRecordSchema,
} from './messages.js';
import { TOPICS } from './topics.js';

// The records the hub also sends as messages of their own are defined once, with those messages.
export { ActivationRecordSchema, EnablerSchema, SpanRecordSchema, TransitionRecordSchema };

const segment = z.union([z.string(), z.number()]);
const path = z.array(segment);
const obj = <T extends z.core.$ZodLooseShape>(shape: T) => z.object(shape);

/** Why the scheduler did not activate a candidate. */
export const RefusalReasonSchema = z.enum([
  'depth',
  'budget',
  'breaker',
  'concurrency',
  'cycle',
  'vetoed',
  'activation_limit',
  'claimed_elsewhere',
]);

const tally = obj({
  tokens: z.number().optional(),
  inputTokens: z.number().optional(),
  outputTokens: z.number().optional(),
  cost: z.number().optional(),
});

const agentKey = { agentId: z.string(), key: z.string().optional() };

/** One candidate of a cycle, ranked, with the scheduler's decision about it. */
export const AgendaItemSchema = obj({
  ...agentKey,
  rank: z.number(),
  priority: z.number(),
  estimate: obj({ tokens: z.number().optional(), cost: z.number().optional() }).optional(),
  budgetLeft: obj({ tokens: z.number().optional(), cost: z.number().optional() }).optional(),
  why: obj({ seq: z.number(), paths: z.array(path), morePaths: z.number().optional() }),
  decision: z.union([z.literal('activate'), RefusalReasonSchema]),
});

/** `hearsay.agenda`: one scheduling cycle, its candidates ranked and decided. */
export const AgendaRecordSchema = obj({
  cycle: z.number(),
  version: z.number(),
  items: z.array(AgendaItemSchema),
  moreDeferred: z.number().optional(),
});

/** `hearsay.delegation`: an agent delegated a task to another, accepted or not. */
export const DelegationRecordSchema = obj({
  from: z.string(),
  to: z.string(),
  task: z.unknown(),
  accepted: z.boolean(),
  cycle: z.array(z.string()).optional(),
  reason: z.string().optional(),
});

/** `hearsay.outcome`: how the run ended. */
export const OutcomeRecordSchema = obj({
  outcome: z.string(),
  reason: z.string(),
  usage: tally.optional(),
  declined: z.array(z.unknown()).optional(),
});

/**
 * `hearsay.warning`: something the run's author should know: paths several agents write, a failure between
 * activations, a pooled agent that never had work.
 */
export const WarningRecordSchema = z.discriminatedUnion('kind', [
  obj({
    kind: z.literal('shared_writes'),
    groups: z.array(obj({ path, agents: z.array(z.string()), moreAgents: z.number().optional() })),
    moreGroups: z.number().optional(),
  }),
  obj({ kind: z.literal('failed_between_activations'), agentId: z.string(), error: z.string() }),
  obj({ kind: z.literal('pool_idle'), agentId: z.string(), message: z.string() }),
]);

/** `hearsay.breaker`: an agent's budget breaker opened (it spent its budget, or a call would overspend it). */
export const BreakerRecordSchema = obj({
  agentId: z.string(),
  spent: tally,
  budget: obj({ tokens: z.number().optional(), cost: z.number().optional() }).optional(),
  refused: obj({ needed: z.number(), detail: z.string() }).optional(),
});

const failure = obj({ kind: z.string(), message: z.string() });

/** `hearsay.model`: a model call (`type: 'call'`) or something that happened during one (retry, fallback, …). */
export const ModelRecordSchema = z.discriminatedUnion('type', [
  obj({
    type: z.literal('call'),
    agentId: z.string(),
    activationId: z.string(),
    ok: z.boolean(),
    startedAt: z.number(),
    requestHash: z.string(),
    model: z.string().optional(),
    cached: z.boolean().optional(),
    latencyMs: z.number().optional(),
    requests: z.number().optional(),
    text: z.string().optional(),
    toolCalls: z.array(obj({ id: z.string(), name: z.string(), arguments: z.string() })).optional(),
    error: z.string().optional(),
    message: z.string().optional(),
    usage: tally,
    cost: z.number(),
  }),
  obj({
    type: z.literal('retry'),
    agentId: z.string(),
    activationId: z.string(),
    model: z.string(),
    attempt: z.number(),
    waitMs: z.number(),
    failure,
  }),
  obj({
    type: z.literal('fallback'),
    agentId: z.string(),
    activationId: z.string(),
    from: z.string(),
    to: z.string(),
    failure,
  }),
  obj({
    type: z.literal('degraded'),
    agentId: z.string(),
    activationId: z.string(),
    from: z.string(),
    to: z.string(),
    reason: z.string(),
  }),
  obj({
    type: z.literal('invalid_output'),
    agentId: z.string(),
    activationId: z.string(),
    model: z.string(),
    attempt: z.number(),
    issues: z.string(),
  }),
  obj({
    type: z.literal('cache_hit'),
    agentId: z.string(),
    activationId: z.string(),
    model: z.string(),
    key: z.string(),
  }),
  obj({ type: z.literal('refused'), agentId: z.string(), activationId: z.string(), reason: z.string() }),
]);

/** `hearsay.actor`: a singleton's persisted XState snapshot after a completed activation. */
export const ActorRecordSchema = obj({ agentId: z.string(), snapshot: z.unknown() });

/** `hearsay.tool`: a tool call run through `tools.runTools`. */
export const ToolRecordSchema = obj({
  startedAt: z.number(),
  agentId: z.string(),
  activationId: z.string(),
  callId: z.string(),
  name: z.string(),
  ok: z.boolean(),
  code: z.string().optional(),
  message: z.string().optional(),
  latencyMs: z.number(),
});

/** `hearsay.usage`: tokens and money charged to an agent. */
export const UsageRecordSchema = obj({
  agentId: z.string(),
  usage: tally,
  source: z.enum(['model', 'agent', 'child']).optional(),
});

/** `hearsay.trace`: the run's trace, recorded as the run starts or resumes. */
export const TraceRecordSchema = obj({ traceId: z.string(), traceparent: z.string().optional() });

/** `hearsay.approval`: an approval requested, escalated, answered, used, or refused at its use. */
export const ApprovalRecordSchema = z.discriminatedUnion('phase', [
  obj({
    phase: z.literal('requested'),
    requestId: z.string(),
    key: z.string(),
    agentId: z.string(),
    activationId: z.string(),
    action: z.string(),
    args: z.unknown(),
    argsHash: z.string(),
    summary: z.string().optional(),
    version: z.number(),
  }),
  obj({ phase: z.literal('escalated'), requestId: z.string(), afterMs: z.number() }),
  obj({
    phase: z.literal('answered'),
    requestId: z.string(),
    decision: obj({ approved: z.boolean(), by: z.string().optional(), reason: z.string().optional() }),
  }),
  obj({ phase: z.literal('used'), requestId: z.string(), action: z.string(), argsHash: z.string() }),
  obj({ phase: z.literal('refused'), requestId: z.string(), code: z.string() }),
]);

/** `hearsay.stream/<activationId>`: streamed model text of one activation. */
export const StreamRecordSchema = obj({ activationId: z.string(), agentId: z.string(), text: z.string() });

/** `hearsay.child`: on a parent run, a child run started, was refused, or ended. */
export const ChildRecordSchema = obj({
  phase: z.enum(['started', 'refused', 'ended']),
  childRunId: z.string(),
  team: z.string(),
  activationId: z.string(),
  agentId: z.string(),
  outcome: z.string().optional(),
  reason: z.string().optional(),
  usage: tally.optional(),
  /** What the child's model calls spent, per model (with the number of calls). */
  byModel: z.record(z.string(), tally.extend({ calls: z.number().optional() })).optional(),
});

/** `hearsay.taint`: an activation became tainted other than by a model call or a child run. */
export const TaintRecordSchema = obj({ activationId: z.string(), agentId: z.string(), source: z.string() });

/** `hearsay.parent`: on a child run, first: the run and activation that started it. */
export const ParentRecordSchema = obj({ runId: z.string(), activationId: z.string(), team: z.string() });

/** Each topic's schema (the stream topic is a prefix: `hearsay.stream/<activationId>`). */
export const RECORD_SCHEMAS = {
  [TOPICS.activation]: ActivationRecordSchema,
  [TOPICS.agenda]: AgendaRecordSchema,
  [TOPICS.transition]: TransitionRecordSchema,
  [TOPICS.delegation]: DelegationRecordSchema,
  [TOPICS.outcome]: OutcomeRecordSchema,
  [TOPICS.warning]: WarningRecordSchema,
  [TOPICS.breaker]: BreakerRecordSchema,
  [TOPICS.model]: ModelRecordSchema,
  [TOPICS.actor]: ActorRecordSchema,
  [TOPICS.tool]: ToolRecordSchema,
  [TOPICS.usage]: UsageRecordSchema,
  [TOPICS.trace]: TraceRecordSchema,
  [TOPICS.span]: SpanRecordSchema,
  [TOPICS.approval]: ApprovalRecordSchema,
  [TOPICS.stream]: StreamRecordSchema,
  [TOPICS.child]: ChildRecordSchema,
  [TOPICS.taint]: TaintRecordSchema,
  [TOPICS.parent]: ParentRecordSchema,
} as const;

/** A topic the runtime writes records under. */
export type RecordTopic = keyof typeof RECORD_SCHEMAS;

/** The payload of a record on `topic`, as its schema parses it. */
export type RecordOf<T extends RecordTopic> = z.infer<(typeof RECORD_SCHEMAS)[T]>;

/** The schema of a topic as it appears on the log (`hearsay.stream/<id>` maps to the stream schema). */
export function recordSchemaOf(topic: string): z.ZodType | undefined {
  if (topic.startsWith(TOPICS.stream)) return StreamRecordSchema;
  return Object.hasOwn(RECORD_SCHEMAS, topic) ? RECORD_SCHEMAS[topic as RecordTopic] : undefined;
}

/**
 * A record read back from a log: its payload parsed with its topic's schema. `undefined` for a message
 * that is not one of the runtime's records (an agent's own message, say); `{ ok: false }` with the issues
 * for a runtime topic whose payload does not match (a log written by something else, or damaged).
 */
export function parseRecord<T extends RecordTopic>(
  topic: T,
  payload: unknown,
): { ok: true; record: RecordOf<T> } | { ok: false; error: z.ZodError } {
  const r = recordSchemaOf(topic)!.safeParse(payload);
  return r.success ? { ok: true, record: r.data as RecordOf<T> } : { ok: false, error: r.error };
}

/** A topic on the log: one of the runtime's topics, or an activation's stream (`hearsay.stream/<id>`). */
export type LogTopic = RecordTopic | `${typeof TOPICS.stream}${string}`;

/** What a writer may hand where a record expects `T`: the same, with arrays and fields read-only. */
type Readonly_<T> = T extends (infer E)[]
  ? readonly Readonly_<E>[]
  : T extends object
    ? { readonly [K in keyof T]: Readonly_<T[K]> }
    : T;

/** The payload a record on `T` carries (an activation's stream topic carries a stream record). */
export type PayloadOf<T extends LogTopic> = Readonly_<
  T extends RecordTopic ? RecordOf<T> : RecordOf<typeof TOPICS.stream>
>;

/** A record with its topic: narrowing on `topic` types `payload`. */
export type TopicRecord = {
  [T in RecordTopic]: { readonly topic: T; readonly payload: PayloadOf<T> };
}[RecordTopic];

/**
 * A message's payload as the record of its topic, parsed: `undefined` when the topic is not one of the
 * runtime's, or the payload does not match (a reader of a log it does not trust shows it as it is).
 */
export function topicRecord(topic: string, payload: unknown): TopicRecord | undefined {
  if (!Object.hasOwn(RECORD_SCHEMAS, topic)) return undefined;
  const r = RECORD_SCHEMAS[topic as RecordTopic].safeParse(payload);
  return r.success ? ({ topic, payload: r.data } as TopicRecord) : undefined;
}

/** Writes a record on the run's log, typed by its topic. */
export type RecordWriter = <T extends LogTopic>(topic: T, payload: PayloadOf<T>) => void;

/**
 * The payload of a runtime record read from a log, parsed with its topic's schema. A record on a runtime
 * topic that does not match means the log was damaged or written by something else: that is a
 * `corrupt_log` error naming the record, never a silently wrong reading.
 *
 * @example
 * import { readRecord, TOPICS } from 'hearsay';
 *
 * if (e.type === 'message' && e.topic === TOPICS.activation) {
 *   const r = readRecord(e, TOPICS.activation);
 *   if (r.phase === 'started') console.log(r.agentId, r.depth);
 * }
 */
export function readRecord<T extends RecordTopic>(
  event: { readonly seq: number; readonly topic: string; readonly payload: unknown },
  topic: T,
): RecordOf<T> {
  const r = parseRecord(topic, event.payload);
  if (r.ok) return r.record;
  const issue = r.error.issues[0];
  throw new BlackboardError(
    'corrupt_log',
    `The ${event.topic} record at seq ${event.seq} does not match its schema` +
      (issue ? ` (${issue.path.join('.') || 'payload'}: ${issue.message})` : ''),
  );
}

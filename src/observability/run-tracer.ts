import { createHash, randomBytes } from 'node:crypto';
import {
  type Context,
  context,
  isSpanContextValid,
  type Link,
  type Meter,
  metrics,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { CommitEvent, LogEvent } from '../blackboard/index.js';
import { formatPath } from '../blackboard/index.js';
import type { Tally, Usage } from '../llm/index.js';
import { type LogTopic, type PayloadOf, readRecord, type TopicRecord } from '../protocol/records.js';
import { type RunObserver, TOPICS } from '../scheduler/index.js';
import { Instruments } from './instruments.js';
import { formatTraceparent, parseTraceparent } from './trace-context.js';

/** How a runtime traces its runs (through `@opentelemetry/api`; bring your own SDK). */
export interface ObservabilityOptions {
  /** Default: the global tracer provider's `hearsay` tracer (a no-op until an SDK is registered). */
  readonly tracer?: Tracer;
  /** Default: the global meter provider's `hearsay` meter. */
  readonly meter?: Meter;
  /** Applied to every input and output summary before it goes on a span (mask keys, emails, …). */
  readonly redact?: (text: string) => string;
  /** The longest summary kept on a span (default 200 characters). */
  readonly summaryLength?: number;
}

/** What a run spent on models: in all, per agent, per model. */
export interface CostBreakdown {
  readonly total: Usage & { readonly calls: number };
  readonly byAgent: Record<string, Usage & { readonly calls: number }>;
  readonly byModel: Record<string, Usage & { readonly calls: number }>;
}

const instrumentsByMeter = new WeakMap<Meter, Instruments>();

/** The tracer and meter a runtime uses, resolved once. */
export function resolveObservability(
  options: ObservabilityOptions = {},
  version = '0',
): {
  tracer: Tracer;
  instruments: Instruments;
  options: ObservabilityOptions;
} {
  const tracer = options.tracer ?? trace.getTracer('hearsay', version);
  const meter = options.meter ?? metrics.getMeter('hearsay', version);
  let instruments = instrumentsByMeter.get(meter);
  if (!instruments) {
    instruments = new Instruments(meter);
    instrumentsByMeter.set(meter, instruments);
  }
  return { tracer, instruments, options };
}

/** One line of the ledger, added to in place. */
type Account = Tally & { calls: number };

const emptySpend = (): Account => ({ tokens: 0, inputTokens: 0, outputTokens: 0, cost: 0, calls: 0 });

interface Open {
  readonly span: Span;
  readonly ctx: Context;
  readonly agentId: string;
  readonly started: number;
  readonly attempt: number;
  readonly written: string[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/**
 * Traces one run: a span for the run; a span per activation attempt (`agent.<id>`) whose parent is the span
 * of the activation whose commit enabled it (the causal chain through the board), or the run's span for the
 * run's first activations; a span per model call with the gen_ai attributes, cost and cache hit; an event per
 * commit and per refused commit on the activation's span. It reads the scheduler's records as they are made
 * (a {@link RunObserver}) and the board's commits, and keeps the run's cost per agent and per model.
 */
export class RunTracer implements RunObserver {
  readonly traceId: string;
  private readonly runSpan: Span;
  private readonly runCtx: Context;
  private readonly open = new Map<string, Open>();
  /** The latest attempt's context of every activation of the run: the parents of the activations they enable. */
  private readonly contexts = new Map<string, Context>();
  private readonly summaries = new Map<string, { input: string; output: string }>();
  // Keyed by agent ids and model names, which the user chooses: no prototype for a name to reach.
  private readonly ledger: {
    total: Account;
    byAgent: Record<string, Account>;
    byModel: Record<string, Account>;
  } = {
    total: emptySpend(),
    byAgent: Object.create(null),
    byModel: Object.create(null),
  };
  private ended = false;
  /**
   * Whether the tracer makes spans of its own (an SDK is registered): without one, spans are no-ops that
   * carry their parent's ids, and the attributes and summaries built for them would be dropped unread.
   */
  private readonly traced: boolean;

  constructor(
    readonly runId: string,
    private readonly tracer: Tracer,
    private readonly instruments: Instruments,
    private readonly options: ObservabilityOptions,
    private readonly now: () => number,
    /** The trace of an earlier process that ran this run (a resumed run links to it). */
    earlier?: string,
    /** Without an SDK, derive the run's own trace id from this (deterministic runs replay identically). */
    idSeed?: string,
  ) {
    const linked = earlier ? parseTraceparent(earlier) : undefined;
    const links: Link[] = linked ? [{ context: linked, attributes: { 'hearsay.link': 'resumed_from' } }] : [];
    const span = tracer.startSpan(
      'hearsay.run',
      { kind: SpanKind.INTERNAL, startTime: now(), attributes: { 'hearsay.run.id': runId }, links },
      ROOT_CONTEXT,
    );
    // Without an SDK the API's spans have no ids: the run still gets a trace id of its own, on its log and
    // result, so its records correlate (nothing is exported, and the context says "not sampled").
    this.traced = isSpanContextValid(span.spanContext());
    this.runSpan = this.traced
      ? span
      : trace.wrapSpanContext({ ...ownIds(idSeed), traceFlags: TraceFlags.NONE });
    this.runCtx = trace.setSpan(ROOT_CONTEXT, this.runSpan);
    this.traceId = this.runSpan.spanContext().traceId;
  }

  /** The run span's W3C traceparent. */
  get traceparentOfRun(): string {
    return formatTraceparent(this.runSpan.spanContext());
  }

  record<T extends LogTopic>(topic: T, payload: PayloadOf<T>): void {
    const r = { topic, payload } as TopicRecord;
    if (r.topic === TOPICS.activation) this.activation(r.payload);
    else if (r.topic === TOPICS.model) {
      if (r.payload.type === 'call') this.modelCall(r.payload);
    } else if (r.topic === TOPICS.usage) this.usage(r.payload);
    else if (r.topic === TOPICS.tool) this.toolCall(r.payload);
    else if (r.topic === TOPICS.child) this.childRun(r.payload);
    else if (r.topic === TOPICS.outcome) this.end(r.payload.outcome, r.payload.reason);
  }

  /** A child run ended: what its models spent is this run's, booked to the agent that started it, per model. */
  private childRun(p: PayloadOf<typeof TOPICS.child>): void {
    if (p.phase !== 'ended') return;
    for (const [model, s] of Object.entries(p.byModel ?? {})) {
      for (const account of this.accounts(p.agentId, model)) {
        account.calls += s.calls ?? 0;
        account.inputTokens += s.inputTokens ?? 0;
        account.outputTokens += s.outputTokens ?? 0;
        account.tokens += s.tokens ?? 0;
        account.cost += s.cost ?? 0;
      }
    }
  }

  note(kind: 'commit_refused' | 'model_summary', p: Record<string, unknown>): void {
    const id = str(p.activationId);
    if (kind === 'model_summary') {
      if (id)
        this.summaries.set(id, {
          input: this.summary(String(p.input)),
          output: this.summary(String(p.output)),
        });
      return;
    }
    const code = String(p.code);
    if (code === 'conflict') this.instruments.conflicts.add(1, { 'hearsay.agent.id': String(p.agentId) });
    const open = id ? this.open.get(id) : undefined;
    open?.span.addEvent('commit.refused', { code, 'hearsay.activation.attempt': num(p.attempt) }, this.now());
  }

  traceparent(activationId: string): string | undefined {
    const ctx = this.contexts.get(activationId);
    const span = ctx && trace.getSpan(ctx);
    return span ? formatTraceparent(span.spanContext()) : undefined;
  }

  within<T>(activationId: string, fn: () => T): T {
    const ctx = this.contexts.get(activationId);
    return ctx ? context.with(ctx, fn) : fn();
  }

  /** An accepted commit: an event on its activation's span, and the metric. */
  commit(e: CommitEvent): void {
    this.instruments.commits.add(1, { 'hearsay.author': e.author });
    const open = e.activationId ? this.open.get(e.activationId) : undefined;
    // What a span that records nothing would be told is not built.
    if (!open?.span.isRecording()) return;
    const paths = e.writes.map(formatPath);
    open.written.push(...paths);
    open.span.addEvent(
      'commit',
      {
        'hearsay.commit.version': e.version,
        'hearsay.commit.paths': paths.slice(0, 20),
        'hearsay.commit.seq': e.seq,
        // Attempts before this one ended in a conflict or an error: the commit's retry count.
        'hearsay.commit.retries': open.attempt - 1,
      },
      e.time,
    );
  }

  /** What the run spent on models, in all, per agent and per model. */
  cost(): CostBreakdown {
    return structuredClone(this.ledger);
  }

  /** Ends every open span (the run's last): called on the outcome, and when the runtime closes. */
  end(outcome: string, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    for (const [id, open] of this.open) this.finish(id, open, 'aborted', `the run ended: ${outcome}`);
    this.runSpan.setAttributes({
      'hearsay.run.outcome': outcome,
      'hearsay.run.reason': this.summary(reason),
      'hearsay.tokens': this.ledger.total.tokens,
      'hearsay.cost': this.ledger.total.cost,
    });
    if (outcome === 'failed' || outcome === 'budget_exceeded' || outcome === 'activation_limit')
      this.runSpan.setStatus({ code: SpanStatusCode.ERROR, message: reason });
    this.runSpan.end(this.now());
  }

  private activation(p: PayloadOf<typeof TOPICS.activation>): void {
    if (p.phase === 'refused') return;
    const id = p.activationId;
    if (p.phase === 'started') {
      // Nothing starts after the run's span has ended (an attempt scheduled as the run stopped).
      if (this.ended) return;
      // A delegated activation is the child of the activation that delegated it; others, of their enabler's.
      const parent =
        this.contexts.get(p.delegatedByActivation ?? '') ??
        this.contexts.get(p.enabledBy.activationId ?? '') ??
        this.runCtx;
      const span = this.tracer.startSpan(
        `agent.${p.agentId}`,
        this.traced ? this.activationOptions(p) : { kind: SpanKind.INTERNAL },
        parent,
      );
      const ctx = trace.setSpan(parent, span);
      this.open.get(id)?.span.end();
      this.open.set(id, {
        span,
        ctx,
        agentId: p.agentId,
        started: this.now(),
        attempt: p.attempt,
        written: [],
      });
      this.contexts.set(id, ctx);
      return;
    }
    const open = this.open.get(id);
    if (!open) return;
    if (p.phase === 'completed') this.finish(id, open, 'ok');
    else if (p.phase === 'failed') this.finish(id, open, 'error', p.error);
    else this.finish(id, open, 'aborted', p.reason);
  }

  /** What an activation's span starts with (for a sampler too): its kind, start time and attributes. */
  private activationOptions(p: Extract<PayloadOf<typeof TOPICS.activation>, { phase: 'started' }>) {
    const id = p.activationId;
    const paths = p.enabledBy.paths.map(formatPath);
    return {
      kind: SpanKind.INTERNAL,
      startTime: this.now(),
      attributes: {
        'hearsay.run.id': this.runId,
        'hearsay.agent.id': p.agentId,
        'hearsay.activation.id': id,
        'hearsay.activation.depth': p.depth,
        'hearsay.activation.attempt': p.attempt,
        ...(p.key === undefined ? {} : { 'hearsay.item.key': p.key }),
        ...(p.delegatedBy === undefined ? {} : { 'hearsay.delegated_by': p.delegatedBy }),
        'hearsay.input.summary': this.summary(`enabled by ${paths.join(', ') || 'the run start'}`),
      },
    };
  }

  private finish(id: string, open: Open, result: 'ok' | 'error' | 'aborted', message?: string): void {
    this.open.delete(id);
    // Children need only the ended span's ids: keep those, not the span with its attributes and events.
    this.contexts.set(id, trace.setSpanContext(ROOT_CONTEXT, open.span.spanContext()));
    const latency = Math.max(0, this.now() - open.started);
    const { span } = open;
    // A span that records nothing (no SDK, or not sampled) is ended without building what it would drop.
    if (!span.isRecording()) {
      span.end();
      this.instruments.activations.add(1, { 'hearsay.agent.id': open.agentId, 'hearsay.result': result });
      this.instruments.activationDuration.record(latency, { 'hearsay.agent.id': open.agentId });
      return;
    }
    span.setAttributes({
      'hearsay.latency_ms': latency,
      'hearsay.success': result === 'ok',
      'hearsay.output.summary': this.summary(
        open.written.length ? `wrote ${open.written.join(', ')}` : 'wrote nothing',
      ),
    });
    if (result === 'error') {
      span.setAttribute('error.type', errorType(message ?? ''));
      span.setStatus({ code: SpanStatusCode.ERROR, message: this.summary(message ?? '') });
    } else if (result === 'aborted') {
      span.setAttribute('hearsay.aborted', this.summary(message ?? ''));
    } else {
      span.setStatus({ code: SpanStatusCode.OK });
    }
    span.end(this.now());
    this.instruments.activations.add(1, { 'hearsay.agent.id': open.agentId, 'hearsay.result': result });
    this.instruments.activationDuration.record(latency, { 'hearsay.agent.id': open.agentId });
  }

  private modelCall(p: Extract<PayloadOf<typeof TOPICS.model>, { type: 'call' }>): void {
    const { activationId, agentId, ok, cost } = p;
    const model = p.model ?? 'unknown';
    const input = p.usage.inputTokens ?? 0;
    const output = p.usage.outputTokens ?? 0;
    const latencyMs = p.latencyMs ?? 0;
    const end = this.now();
    // Start on the run's clock (the latency was measured on the model client's).
    const start = Math.min(p.startedAt, end);
    const parent = (activationId && this.contexts.get(activationId)) || this.runCtx;
    const summary = activationId ? this.summaries.get(activationId) : undefined;
    if (activationId) this.summaries.delete(activationId);
    const span = this.tracer.startSpan(
      `chat ${model}`,
      {
        kind: SpanKind.CLIENT,
        startTime: start,
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': model,
          'gen_ai.response.model': model,
          'gen_ai.usage.input_tokens': input,
          'gen_ai.usage.output_tokens': output,
          'hearsay.cost': cost,
          'hearsay.cache_hit': p.cached === true,
          'hearsay.model.requests': p.requests ?? 0,
          'hearsay.agent.id': agentId,
          'hearsay.activation.id': activationId,
          ...(summary
            ? { 'hearsay.input.summary': summary.input, 'hearsay.output.summary': summary.output }
            : {}),
        },
      },
      parent,
    );
    if (!ok) {
      span.setAttribute('error.type', p.error ?? 'model_error');
      span.setStatus({ code: SpanStatusCode.ERROR, message: this.summary(p.message ?? '') });
    }
    span.end(end);
    const attrs = { 'hearsay.agent.id': agentId, 'gen_ai.request.model': model };
    this.instruments.modelDuration.record(latencyMs / 1000, attrs);
    if (input) this.instruments.tokens.add(input, { ...attrs, 'gen_ai.token.type': 'input' });
    if (output) this.instruments.tokens.add(output, { ...attrs, 'gen_ai.token.type': 'output' });
    if (cost) this.instruments.cost.add(cost, attrs);
    this.book(agentId, model, input, output, cost);
  }

  /** Books one model call in the ledger. */
  private book(agentId: string, model: string, input: number, output: number, cost: number): void {
    for (const s of this.accounts(agentId, model)) {
      s.calls += 1;
      s.inputTokens += input;
      s.outputTokens += output;
      s.tokens += input + output;
      s.cost += cost;
    }
  }

  /**
   * Books what an earlier process spent on this run (a resumed run's cost is the whole run's, as its
   * usage is): the model calls and other charges on the log so far. No spans: those were that process's.
   */
  replayCosts(history: readonly LogEvent[]): void {
    for (const e of history) {
      if (e.type !== 'message' || e.author !== 'scheduler') continue;
      if (e.topic === TOPICS.model) {
        const p = readRecord(e, TOPICS.model);
        if (p.type === 'call')
          this.book(
            p.agentId,
            p.model ?? 'unknown',
            p.usage.inputTokens ?? 0,
            p.usage.outputTokens ?? 0,
            p.cost,
          );
      } else if (e.topic === TOPICS.child) this.childRun(readRecord(e, TOPICS.child));
      else if (e.topic === TOPICS.usage) this.usage(readRecord(e, TOPICS.usage));
    }
  }

  /** A tool call: a span `execute_tool <name>` beneath its activation (gen_ai conventions). */
  private toolCall(p: PayloadOf<typeof TOPICS.tool>): void {
    const end = this.now();
    const span = this.tracer.startSpan(
      `execute_tool ${p.name}`,
      {
        kind: SpanKind.INTERNAL,
        startTime: Math.min(p.startedAt, end),
        attributes: {
          'gen_ai.operation.name': 'execute_tool',
          'gen_ai.tool.name': p.name,
          'gen_ai.tool.call.id': p.callId,
          'hearsay.agent.id': p.agentId,
          'hearsay.latency_ms': p.latencyMs,
          'hearsay.success': p.ok,
        },
      },
      this.contexts.get(p.activationId) ?? this.runCtx,
    );
    if (!p.ok) {
      span.setAttribute('error.type', p.code ?? 'failed');
      span.setStatus({ code: SpanStatusCode.ERROR, message: this.summary(p.message ?? '') });
    }
    span.end(end);
  }

  /** Usage charged without a model call (tools.charge): counted per agent and under the model `other`. */
  private usage(p: PayloadOf<typeof TOPICS.usage>): void {
    // Model calls charge through the scheduler too, after their call record, and a child run's spend after
    // its end record: those are in the ledger already.
    if (p.source === 'model' || p.source === 'child') return;
    const input = p.usage.inputTokens ?? 0;
    const output = p.usage.outputTokens ?? 0;
    const tokens = p.usage.tokens || input + output;
    const cost = p.usage.cost ?? 0;
    for (const s of this.accounts(p.agentId, 'other')) {
      s.tokens += tokens;
      s.inputTokens += input;
      s.outputTokens += output;
      s.cost += cost;
    }
  }

  /** The ledger entries a charge goes to: the total, the agent's, the model's (created when first charged). */
  private accounts(agentId: string, model: string): Account[] {
    const { ledger } = this;
    ledger.byAgent[agentId] ??= emptySpend();
    ledger.byModel[model] ??= emptySpend();
    return [ledger.total, ledger.byAgent[agentId], ledger.byModel[model]];
  }

  private summary(text: string): string {
    const max = this.options.summaryLength ?? 200;
    const redacted = this.options.redact ? this.options.redact(text) : text;
    return redacted.length > max ? `${redacted.slice(0, max - 1)}…` : redacted;
  }
}

/** Trace and span ids for a run traced without an SDK: random, or derived from a seed. */
function ownIds(seed: string | undefined): { traceId: string; spanId: string } {
  const bytes = seed === undefined ? randomBytes(24) : createHash('sha256').update(seed).digest();
  return { traceId: bytes.subarray(0, 16).toString('hex'), spanId: bytes.subarray(16, 24).toString('hex') };
}

/** A short error class for `error.type`: the refusal code of a refused commit, or the error's kind. */
function errorType(message: string): string {
  const refused = /commit refused \((\w+)\)/.exec(message);
  if (refused) return refused[1]!;
  if (/timed? ?out/i.test(message)) return 'timeout';
  return 'agent_error';
}

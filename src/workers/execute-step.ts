import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import {
  type ActivationTools,
  type AgentDefinition,
  AgentHost,
  type AgentRequest,
  type ApprovalDecision,
  type BoardEvent,
  type RuntimeEvent,
} from '../actors/index.js';
import { type BoardSnapshot, type Patch, type Path, prepareCommit } from '../blackboard/index.js';
import { argsHashOf, issueApproval } from '../llm/approval.js';
import { ApprovalArgsError, canonicalArgs } from '../llm/canonical-args.js';
import type { Usage } from '../llm/index.js';
import {
  type ApprovalRefusalCode,
  type ModelClient,
  runToolCalls,
  type ValidatedToolCall,
} from '../llm/index.js';
import { parseTraceparent } from '../observability/trace-context.js';
import type { StepMessage, StepResult } from './types.js';

/** How a step running outside the runtime's process reaches the run: the hub, or the store directly. */
export interface StepPort {
  /** The run's board once it has reached `version` (commits are seen before the steps they enable). */
  at(version: number): Promise<BoardSnapshot<unknown>>;
  commit(commit: {
    readonly baseVersion: number;
    readonly reads: readonly Path[];
    readonly patches: readonly Patch[];
  }): Promise<{ ok: true; version: number } | { ok: false; code: string; message: string }>;
  /** Publishes a message; throws when it is refused. */
  publish(topic: string, payload: unknown): Promise<void>;
  charge(usage: Partial<Usage>): void;
  delegate(to: string, task: unknown): Promise<void>;
  requestApproval(request: { action: string; args: unknown; summary?: string }): Promise<ApprovalDecision>;
  /**
   * Uses an approval the step was given, on the run's log (the runtime checks it is this step's, for this
   * call, and unused). Without it, irreversible tools do not run in this process.
   */
  useApproval?(request: {
    requestId: string;
    action: string;
    args: unknown;
  }): Promise<{ ok: true } | { ok: false; code: ApprovalRefusalCode; message: string }>;
}

/** What {@link executeStep} needs. */
export interface ExecuteStepOptions {
  readonly def: AgentDefinition<unknown>;
  readonly step: StepMessage;
  readonly port: StepPort;
  readonly signal: AbortSignal;
  readonly tracer: Tracer;
  readonly models?: ModelClient | undefined;
  /** Names the process in errors ("hostAgents", "this worker"). */
  readonly where: string;
  /** The fence token of the worker's lease on the step (shown to the machine as `activation.fence`). */
  readonly fence?: number;
}

/**
 * Runs one step of an agent's machine outside the runtime's process, on the board `port` gives it: the
 * same board event, tools and refusal handling as a local step. A span in the run's trace (beneath the
 * activation's, from its traceparent) covers it. Resolves with how it ended; `aborted` when `signal` stopped it.
 */
export async function executeStep(options: ExecuteStepOptions): Promise<StepResult | { status: 'aborted' }> {
  const { def, step: m, port, signal, tracer } = options;
  const transitions: [string, string, string][] = [];
  const remoteParent = m.traceparent ? parseTraceparent(m.traceparent) : undefined;
  const parentCtx = remoteParent ? trace.setSpanContext(ROOT_CONTEXT, remoteParent) : ROOT_CONTEXT;
  const span = tracer.startSpan(
    `agent.${def.id}.remote`,
    {
      kind: SpanKind.INTERNAL,
      attributes: {
        'hearsay.run.id': m.runId,
        'hearsay.agent.id': def.id,
        'hearsay.activation.id': m.activationId,
        'hearsay.activation.attempt': m.attempt,
      },
    },
    parentCtx,
  );
  const spanCtx = trace.setSpan(parentCtx, span);
  try {
    let base = await port.at(m.version);
    let unhandled: string | undefined;
    const host: AgentHost = new AgentHost({
      machine: def.machine,
      ...(m.key === undefined ? {} : { input: { key: m.key } }),
      ...(m.snapshot === undefined ? {} : { snapshot: m.snapshot as never }),
      onTransition: (from, to, eventType) => transitions.push([from, to, eventType]),
      onRequest: (req: AgentRequest): Promise<RuntimeEvent | undefined> | undefined => {
        switch (req.type) {
          case 'hearsay.commit': {
            const { commit } = prepareCommit(base, req.recipe as never, { author: def.id });
            if (!commit) return undefined;
            return port
              .commit({ baseVersion: commit.baseVersion, reads: commit.reads, patches: commit.patches })
              .then(async (r): Promise<RuntimeEvent | undefined> => {
                if (r.ok) {
                  base = await port.at(r.version);
                  return { type: 'hearsay.committed', version: r.version };
                }
                const rejected: RuntimeEvent = { type: 'hearsay.rejected', code: r.code, message: r.message };
                // As for a local agent: a refusal the machine does not handle fails the step.
                if (!host.accepts(rejected)) unhandled ??= `commit refused (${r.code}): ${r.message}`;
                return rejected;
              });
          }
          case 'hearsay.publish':
            return port.publish(req.topic, req.payload).then(() => undefined);
          case 'hearsay.delegate':
            return port.delegate(req.to, req.task).then(() => undefined);
          case 'hearsay.charge':
            port.charge(req.usage);
            return undefined;
          case 'hearsay.patch':
            return undefined;
        }
      },
    });
    const started = host.start();
    if (started.status === 'failed') return { status: 'failed', error: describe(started.error), transitions };
    const tools = stepTools(options, spanCtx);
    const event:
      | BoardEvent
      | { type: 'hearsay.approval.rejected'; state: string; by: string; reason: string } = m.rejection
      ? { type: 'hearsay.approval.rejected', ...m.rejection }
      : {
          type: 'board',
          board: base.state,
          version: base.version,
          changed: m.changed,
          activation: {
            id: m.activationId,
            agentId: def.id,
            ...(m.key === undefined ? {} : { key: m.key }),
            depth: m.depth,
            attempt: m.attempt,
            ...(options.fence === undefined ? {} : { fence: options.fence }),
          },
          ...(m.delegation ? { delegation: m.delegation } : {}),
          ...(m.fallbackFor ? { fallbackFor: m.fallbackFor } : {}),
          tools,
        };
    const outcome = await context.with(spanCtx, () => host.step(event, signal));
    span.setAttribute('hearsay.success', outcome.status === 'settled' || outcome.status === 'done');
    if (outcome.status === 'failed' || unhandled !== undefined)
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: unhandled ?? (outcome.status === 'failed' ? describe(outcome.error) : ''),
      });
    const persisted = def.kind === 'singleton' ? host.persisted() : undefined;
    host.stop();
    if (outcome.status === 'aborted') return outcome;
    if (outcome.status === 'failed') return { status: 'failed', error: describe(outcome.error), transitions };
    if (unhandled !== undefined) return { status: 'failed', error: unhandled, transitions };
    return {
      status: outcome.status,
      ...(persisted === undefined ? {} : { snapshot: persisted }),
      transitions,
    };
  } catch (error) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: describe(error) });
    throw error;
  } finally {
    // Every path out of the step, a thrown error included, ends its span.
    span.end();
  }
}

/** The tools of a step run outside the runtime's process. */
function stepTools(options: ExecuteStepOptions, spanCtx: ReturnType<typeof trace.setSpan>): ActivationTools {
  const { def, port, signal, tracer } = options;
  const tools: ActivationTools = {
    signal,
    sleep: (ms) =>
      new Promise((resolve, reject) => {
        const onAbort = () => {
          clearTimeout(t);
          reject(signal.reason);
        };
        const t = setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, ms);
        signal.addEventListener('abort', onAbort, { once: true });
      }),
    charge: (usage) => port.charge(usage),
    startChildRun: () =>
      Promise.reject(
        new Error(
          `Child runs are started by agents in the runtime's process; ${options.where} cannot start one.`,
        ),
      ),
    // The arguments are taken once (a frozen, bounded copy): what is asked for is what the approval is bound to.
    requestApproval: (asked) => {
      const checked = canonicalArgs(
        asked.args,
        `The arguments of the approval request for "${asked.action}"`,
      );
      if (!checked.ok) return Promise.reject(new ApprovalArgsError(checked));
      const req = { ...asked, args: checked.args };
      return port.requestApproval(req).then((d) => usable(d, req, options));
    },
    // The runtime consumes an approval on the run's log (`useApproval`), before the tool runs here; without
    // that port (a worker), irreversible tools do not run in this process (they come back approval_required).
    runTools: (calls, defs, opts = {}) =>
      runToolCalls(calls, defs, {
        signal,
        runId: options.step.runId,
        ...(port.useApproval && opts.approvals ? { approvals: opts.approvals } : {}),
        ...(port.useApproval && opts.missing !== 'refuse'
          ? {
              requestApproval: (call: ValidatedToolCall) =>
                tools.requestApproval({ action: call.name, args: call.args }),
            }
          : {}),
        onRun: (run, latencyMs) => {
          const end = Date.now();
          const toolSpan = tracer.startSpan(
            `execute_tool ${run.name}`,
            {
              kind: SpanKind.INTERNAL,
              startTime: end - latencyMs,
              attributes: {
                'gen_ai.operation.name': 'execute_tool',
                'gen_ai.tool.name': run.name,
                'gen_ai.tool.call.id': run.id,
              },
            },
            spanCtx,
          );
          if (!run.ok) toolSpan.setStatus({ code: SpanStatusCode.ERROR, message: run.message });
          toolSpan.end(end);
        },
      }),
    model: async (req) => {
      if (!options.models)
        throw new Error(`${def.id} called a model, but ${options.where} has no model client.`);
      const { stream: _s, cacheByReads: _c, ...rest } = req;
      const result = await options.models.complete({ tier: def.model?.tier ?? 'large', ...rest, signal });
      const end = Date.now();
      const model = result.model ?? 'unknown';
      const chat = tracer.startSpan(
        `chat ${model}`,
        {
          kind: SpanKind.CLIENT,
          startTime: end - (result.latencyMs ?? 0),
          attributes: {
            'gen_ai.operation.name': 'chat',
            'gen_ai.request.model': model,
            ...(result.ok ? { 'hearsay.cache_hit': result.cached } : {}),
            'gen_ai.usage.input_tokens': result.usage.inputTokens,
            'gen_ai.usage.output_tokens': result.usage.outputTokens,
            'hearsay.cost': result.usage.cost,
          },
        },
        spanCtx,
      );
      if (!result.ok) {
        chat.setAttribute('error.type', result.error.code);
        chat.setStatus({ code: SpanStatusCode.ERROR, message: result.error.message });
      }
      chat.end(end);
      const { inputTokens, outputTokens } = result.usage;
      if (inputTokens + outputTokens > 0 || result.usage.cost > 0)
        port.charge({ inputTokens, outputTokens, cost: result.usage.cost });
      return result;
    },
  };
  return tools;
}

export const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * The decision as a usable approval in this process: marked used here at once (two concurrent uses, one
 * goes on), then used on the run's log by the runtime, which checks it again, before the tool runs.
 */
function usable(
  decision: ApprovalDecision,
  request: { action: string; args: unknown },
  options: ExecuteStepOptions,
): ApprovalDecision {
  const use = options.port.useApproval;
  if (!use) return decision;
  let used = false;
  return issueApproval(
    { ...decision },
    {
      runId: options.step.runId,
      requestId: decision.requestId,
      action: request.action,
      argsHash: argsHashOf(request.action, request.args),
      approved: decision.approved,
      ...(decision.approved ? {} : { reason: decision.reason }),
      consume: () => {
        if (used)
          return {
            ok: false,
            code: 'approval_used',
            message: `The approval ${decision.requestId} was used already: request a new one.`,
          };
        used = true;
        const recorded = use({
          requestId: decision.requestId,
          action: request.action,
          args: request.args,
        }).then(
          (r) => (r.ok ? undefined : { ok: false as const, code: r.code, message: r.message }),
          (error: unknown) => ({
            ok: false as const,
            code: 'approval_required' as const,
            message: `The approval could not be used: ${error instanceof Error ? error.message : String(error)}`,
          }),
        );
        return { ok: true, recorded };
      },
    },
  );
}

import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import {
  type ActivationTools,
  type AgentDefinition,
  AgentHost,
  type AgentRequest,
  type ApprovalDecision,
  type BoardEvent,
  type RuntimeEvent,
  type StepOutcome,
} from '../actors/index.js';
import {
  type AnySchema,
  applyPatches,
  type BoardOf,
  type BoardSnapshot,
  type Patch,
  prepareCommit,
  revive,
  revivePatch,
} from '../blackboard/index.js';
import { type ModelClient, runToolCalls } from '../llm/index.js';
import { parseTraceparent } from '../observability/trace-context.js';
import { type ClientMessageOf, PROTOCOL_VERSION, type ServerMessageOf } from '../protocol/index.js';
import type { HearsayClient } from './client.js';

/** Options of {@link hostAgents}. */
export interface HostAgentsOptions<TSchema extends AnySchema> {
  /** A client connected with a token holding `agent:<id>` for each agent hosted. */
  readonly client: HearsayClient;
  /** The board's schema (the same as the runtime's). */
  readonly schema: TSchema;
  /** The same `defineAgent` definitions the runtime registered as `remote`. */
  readonly agents: readonly AgentDefinition<BoardOf<TSchema>>[];
  /** Model client for the agents' `tools.model` (their usage is charged to the run through the hub). */
  readonly models?: ModelClient;
  /**
   * Where this process's spans go (default: the global `hearsay` tracer). Each step is a span in the run's
   * trace, beneath the activation's span (its W3C traceparent comes with the activation).
   */
  readonly tracer?: Tracer;
}

/** Agents hosted in this process. */
export interface HostedAgents {
  /** Activations run here so far. */
  readonly activations: number;
  /** Stops hosting: activations in progress are aborted. */
  close(): void;
}

/** A run's board as this process follows it: replayed from the hub's snapshot and commits. */
interface Replica {
  snapshot: BoardSnapshot<unknown>;
  waiters: { version: number; resolve: () => void }[];
}

/**
 * Hosts agents' machines in this process for a runtime elsewhere (the peer-to-peer pattern). The runtime's
 * scheduler decides when they run; this process runs each step on its replica of the board and commits
 * back through the hub, where the commit is checked with the same optimistic rules as a local agent's.
 *
 * @example
 * const client = await connect(url, { token: process.env.AGENT_TOKEN });
 * await hostAgents({ client, schema: Board, agents: [reviewer] });
 */
export async function hostAgents<TSchema extends AnySchema>(
  options: HostAgentsOptions<TSchema>,
): Promise<HostedAgents> {
  const { client, schema } = options;
  const tracer = options.tracer ?? trace.getTracer('hearsay');
  const agents = new Map(options.agents.map((a) => [a.id, a as AgentDefinition<unknown>]));
  const replicas = new Map<string, Replica>();
  const running = new Map<string, AbortController>();
  let activations = 0;

  const replica = (runId: string): Replica => {
    let r = replicas.get(runId);
    if (!r) {
      r = { snapshot: { state: undefined, version: -1, seq: 0 }, waiters: [] };
      replicas.set(runId, r);
    }
    return r;
  };
  const advanced = (r: Replica) => {
    r.waiters = r.waiters.filter((w) => {
      if (r.snapshot.version < w.version) return true;
      w.resolve();
      return false;
    });
  };
  /** The replica once it has reached `version` (commits arrive before the activation that follows them). */
  const at = async (runId: string, version: number): Promise<BoardSnapshot<unknown>> => {
    const r = replica(runId);
    if (r.snapshot.version < version)
      await new Promise<void>((resolve) => r.waiters.push({ version, resolve }));
    return r.snapshot;
  };

  const stops = [
    client.on('snapshot', (m) => {
      const r = replica(m.runId);
      r.snapshot = { state: revive(schema, m.state), version: m.version, seq: m.seq };
      advanced(r);
    }),
    client.on('commit', (m) => {
      const r = replica(m.runId);
      if (m.version !== r.snapshot.version + 1) return; // before this replica's snapshot
      const applied = applyPatches(
        r.snapshot.state,
        m.patches.map((p) => revivePatch(schema, p as Patch)),
      );
      if (!applied.ok) return;
      r.snapshot = { state: applied.state, version: m.version, seq: m.seq };
      advanced(r);
    }),
    client.on('abort', (m) => running.get(m.dispatch)?.abort(new Error(m.reason))),
    client.on('activate', (m) => {
      activations += 1;
      activate(m).catch((error: unknown) => {
        // A failure outside the machine (a lost connection, a bug): the runtime's retry policy applies.
        running.delete(m.dispatch);
        sendResult(m, { status: 'failed', error: describe(error) });
      });
    }),
    // A run that ended needs no replica (a resumed run sends a fresh snapshot).
    client.on('outcome', (m) => {
      if (m.outcome !== 'awaiting_approval') replicas.delete(m.runId);
    }),
  ];
  const stream = client.follow('*', { types: ['commit', 'outcome'] });
  // The stream's messages are consumed through the listeners above; drain its queue.
  void (async () => {
    for await (const _ of stream) {
      // nothing: replicas are kept by the listeners
    }
  })();
  await client.hello([...agents.keys()]);

  /** Tells the runtime how a step ended (when the connection is gone, the runtime fails it itself). */
  function sendResult(
    m: ServerMessageOf<'activate'>,
    result: Omit<ClientMessageOf<'activation_result'>, 'v' | 'type' | 'dispatch' | 'activationId'>,
  ): void {
    try {
      client.send({
        v: PROTOCOL_VERSION,
        type: 'activation_result',
        dispatch: m.dispatch,
        activationId: m.activationId,
        ...result,
      });
    } catch {
      // Disconnected: the runtime fails the activation on its side and its retry policy applies.
    }
  }

  async function activate(m: ServerMessageOf<'activate'>): Promise<void> {
    const def = agents.get(m.agentId);
    const controller = new AbortController();
    running.set(m.dispatch, controller);
    const transitions: [string, string, string][] = [];
    const report = (outcome: StepOutcome | { status: 'failed'; error: unknown }, snapshot?: unknown) => {
      running.delete(m.dispatch);
      if (outcome.status === 'aborted') return;
      sendResult(m, {
        status: outcome.status,
        ...(outcome.status === 'failed' ? { error: describe(outcome.error) } : {}),
        ...(snapshot === undefined ? {} : { snapshot }),
        transitions,
      });
    };
    if (!def)
      return report({ status: 'failed', error: new Error(`this process does not host ${m.agentId}`) });
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
      let base = await at(m.runId, m.version);
      let unhandled: string | undefined;
      const request = (req: Parameters<HearsayClient['request']>[0]) => client.request(req);
      const agentRequest = async (
        body: Extract<Parameters<HearsayClient['send']>[0], { type: 'agent_request' }>['request'],
      ) => {
        const reply = await request({
          v: PROTOCOL_VERSION,
          type: 'agent_request',
          id: 0,
          dispatch: m.dispatch,
          activationId: m.activationId,
          request: body,
        });
        return (reply as ServerMessageOf<'ack'>).result;
      };
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
              return client
                .commit(m.runId, {
                  baseVersion: commit.baseVersion,
                  reads: commit.reads,
                  patches: commit.patches,
                  agentId: def.id,
                  activationId: m.activationId,
                })
                .then(async (r): Promise<RuntimeEvent | undefined> => {
                  if (r.ok) {
                    base = await at(m.runId, r.version ?? 0);
                    return { type: 'hearsay.committed', version: r.version ?? 0 };
                  }
                  const rejected: RuntimeEvent = {
                    type: 'hearsay.rejected',
                    code: r.error?.code ?? 'refused',
                    message: r.error?.message ?? 'refused',
                  };
                  // As for a local agent: a refusal the machine does not handle fails the step.
                  if (!host.accepts(rejected))
                    unhandled ??= `commit refused (${rejected.code}): ${rejected.message}`;
                  return rejected;
                });
            }
            case 'hearsay.publish':
              return client
                .publish(m.runId, req.topic, req.payload, { agentId: def.id, activationId: m.activationId })
                .then((r) => {
                  if (!r.ok) throw new Error(r.error?.message ?? 'publish refused');
                  return undefined;
                });
            case 'hearsay.delegate':
              return agentRequest({ type: 'delegate', to: req.to, task: req.task }).then(() => undefined);
            case 'hearsay.charge':
              return agentRequest({ type: 'charge', usage: req.usage }).then(() => undefined);
            case 'hearsay.patch':
              return undefined;
          }
        },
      });
      const started = host.start();
      if (started.status === 'failed') return report(started);
      const tools: ActivationTools = {
        signal: controller.signal,
        sleep: (ms) =>
          new Promise((resolve, reject) => {
            const onAbort = () => {
              clearTimeout(t);
              reject(controller.signal.reason);
            };
            const t = setTimeout(() => {
              controller.signal.removeEventListener('abort', onAbort);
              resolve();
            }, ms);
            controller.signal.addEventListener('abort', onAbort, { once: true });
          }),
        charge: (usage) => void agentRequest({ type: 'charge', usage }).catch(() => undefined),
        startChildRun: () =>
          Promise.reject(
            new Error(
              "Child runs are started by agents in the runtime's process; a remote agent cannot start one.",
            ),
          ),
        requestApproval: async (req) =>
          (await agentRequest({
            type: 'approval',
            action: req.action,
            args: req.args,
            ...(req.summary === undefined ? {} : { summary: req.summary }),
          })) as ApprovalDecision,
        runTools: (calls, defs, opts = {}) =>
          runToolCalls(calls, defs, {
            signal: controller.signal,
            ...(opts.approved ? { approved: opts.approved } : {}),
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
            throw new Error(`${def.id} called a model, but hostAgents was given no model client.`);
          const { stream: _s, cacheByReads: _c, ...rest } = req;
          const result = await options.models.complete({
            tier: def.model?.tier ?? 'large',
            ...rest,
            signal: controller.signal,
          });
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
                'hearsay.cost': result.cost,
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
          if (inputTokens + outputTokens > 0 || result.cost > 0)
            tools.charge({ inputTokens, outputTokens, cost: result.cost });
          return result;
        },
      };
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
            },
            ...(m.delegation ? { delegation: m.delegation } : {}),
            ...(m.fallbackFor ? { fallbackFor: m.fallbackFor } : {}),
            tools,
          };
      const outcome = await context.with(spanCtx, () => host.step(event, controller.signal));
      span.setAttribute('hearsay.success', outcome.status === 'settled' || outcome.status === 'done');
      if (outcome.status === 'failed' || unhandled !== undefined)
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: unhandled ?? (outcome.status === 'failed' ? describe(outcome.error) : ''),
        });
      const persisted = def.kind === 'singleton' ? host.persisted() : undefined;
      host.stop();
      if ((outcome.status === 'settled' || outcome.status === 'done') && unhandled !== undefined)
        return report({ status: 'failed', error: new Error(unhandled) });
      report(outcome, persisted);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: describe(error) });
      throw error;
    } finally {
      // Every path out of the step, a thrown error included, ends its span.
      span.end();
    }
  }

  return {
    get activations() {
      return activations;
    },
    close() {
      for (const stop of stops) stop();
      stream.close();
      for (const c of running.values()) c.abort(new Error('hosting stopped'));
    },
  };
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

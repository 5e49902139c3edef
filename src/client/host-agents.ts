import { type Tracer, trace } from '@opentelemetry/api';
import type { AgentDefinition, ApprovalDecision } from '../actors/index.js';
import { type AnySchema, type BoardOf, type BoardSnapshot, type Patch, revive } from '../blackboard/index.js';
import { applyRevived } from '../blackboard/schema.js';
import type { ApprovalRefusalCode, ModelClient } from '../llm/index.js';
import { type ClientMessageOf, PROTOCOL_VERSION, type ServerMessageOf } from '../protocol/index.js';
import { describe, executeStep } from '../workers/execute-step.js';
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
      const applied = applyRevived(schema, r.snapshot.state, m.patches as Patch[]);
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
    if (!def) {
      running.delete(m.dispatch);
      return sendResult(m, { status: 'failed', error: `this process does not host ${m.agentId}` });
    }
    const agentRequest = async (
      body: Extract<Parameters<HearsayClient['send']>[0], { type: 'agent_request' }>['request'],
    ) => {
      const reply = await client.request({
        v: PROTOCOL_VERSION,
        type: 'agent_request',
        id: 0,
        dispatch: m.dispatch,
        activationId: m.activationId,
        request: body,
      });
      return (reply as ServerMessageOf<'ack'>).result;
    };
    const { v: _v, type: _t, dispatch: _d, ...step } = m;
    const outcome = await executeStep({
      def,
      step,
      signal: controller.signal,
      tracer,
      models: options.models,
      where: 'a remote agent',
      port: {
        at: (version) => at(m.runId, version),
        commit: async (c) => {
          const r = await client.commit(m.runId, { ...c, agentId: def.id, activationId: m.activationId });
          return r.ok
            ? { ok: true, version: r.version ?? 0 }
            : { ok: false, code: r.error?.code ?? 'refused', message: r.error?.message ?? 'refused' };
        },
        publish: async (topic, payload) => {
          const r = await client.publish(m.runId, topic, payload, {
            agentId: def.id,
            activationId: m.activationId,
          });
          if (!r.ok) throw new Error(r.error?.message ?? 'publish refused');
        },
        charge: (usage) => void agentRequest({ type: 'charge', usage }).catch(() => undefined),
        delegate: async (to, task) => {
          await agentRequest({ type: 'delegate', to, task });
        },
        requestApproval: async (req) =>
          (await agentRequest({
            type: 'approval',
            action: req.action,
            args: req.args,
            ...(req.summary === undefined ? {} : { summary: req.summary }),
          })) as ApprovalDecision,
        useApproval: async (req) =>
          (await agentRequest({ type: 'use_approval', ...req })) as
            | { ok: true }
            | { ok: false; code: ApprovalRefusalCode; message: string },
      },
    });
    running.delete(m.dispatch);
    if (outcome.status === 'aborted') return;
    sendResult(m, {
      status: outcome.status,
      ...(outcome.error === undefined ? {} : { error: outcome.error }),
      ...(outcome.snapshot === undefined ? {} : { snapshot: outcome.snapshot }),
      ...(outcome.transitions === undefined ? {} : { transitions: outcome.transitions.map((t) => [...t]) }),
    });
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

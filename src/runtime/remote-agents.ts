import type {
  AgentDefinition,
  AgentHostOptions,
  ApprovalDecision,
  BoardEvent,
  StepHost,
  StepOutcome,
} from '../actors/index.js';
import type { Patch, Path } from '../blackboard/index.js';
import { type HubCommitResult, HubRefusal, type RemoteChannel } from '../hub/index.js';
import { consumeApproval } from '../llm/approval.js';
import type { Usage } from '../llm/index.js';
import { type ClientMessageOf, PROTOCOL_VERSION } from '../protocol/index.js';
import { RemoteAgentHost, type StepSender } from '../workers/remote-host.js';
import type { StepMessage } from '../workers/types.js';

interface Running {
  readonly runId: string;
  readonly activationId: string;
  readonly channel: RemoteChannel;
  readonly agentId: string;
  readonly host: RemoteAgentHost;
  readonly event: BoardEvent;
  readonly finish: (outcome: StepOutcome) => void;
  /** The live approvals this step was given, by request id: only these can be used from its process. */
  readonly approvals?: Map<string, ApprovalDecision>;
}

/**
 * The remote agents of a runtime: which connections host which agents, and the activations running on
 * them. The scheduler drives a remote agent exactly like a local one, through a {@link RemoteAgentHost}.
 */
export class RemoteAgents implements StepSender {
  private readonly channels = new Map<string, RemoteChannel[]>();
  private readonly running = new Map<string, Running>();
  private turn = 0;

  constructor(readonly ids: ReadonlySet<string>) {}

  /** A connection offers to host agents; returns the function that withdraws it (activations on it fail). */
  host(channel: RemoteChannel, agentIds: readonly string[]): () => void {
    const offered = agentIds.filter((id) => this.ids.has(id));
    if (offered.length < agentIds.length) {
      const local = agentIds.filter((id) => !this.ids.has(id));
      throw new HubRefusal('forbidden', `Agents ${local.join(', ')} run in this runtime, not remotely.`);
    }
    for (const id of offered) this.channels.set(id, [...(this.channels.get(id) ?? []), channel]);
    return () => {
      for (const id of offered)
        this.channels.set(
          id,
          (this.channels.get(id) ?? []).filter((c) => c !== channel),
        );
      for (const [dispatch, r] of this.running) {
        if (r.channel === channel) {
          this.end(dispatch);
          r.finish({ status: 'failed', error: new Error(`the process hosting ${r.agentId} disconnected`) });
        }
      }
    };
  }

  /** The host for an agent of a run: remote when the agent is listed as remote, else undefined. */
  hostFor = (
    agent: Pick<AgentDefinition, 'id'>,
    options: AgentHostOptions,
    runId: string,
  ): StepHost | undefined =>
    this.ids.has(agent.id) ? new RemoteAgentHost(this, runId, agent.id, options) : undefined;

  /** @internal Sends a step to a connection hosting the agent, and resolves when its result comes back. */
  send(
    step: { host: RemoteAgentHost; board: BoardEvent; message: StepMessage },
    signal: AbortSignal,
  ): Promise<StepOutcome> {
    const { host, board, message } = step;
    const channel = this.pick(message.agentId, message.runId);
    if (!channel) {
      return Promise.resolve({
        status: 'failed',
        error: new Error(`no process hosts remote agent "${message.agentId}" (connect one with hostAgents)`),
      });
    }
    return new Promise<StepOutcome>((resolve) => {
      const finish = (outcome: StepOutcome) => {
        signal.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      const onAbort = () => {
        this.abandon(dispatch);
        channel.send({
          v: PROTOCOL_VERSION,
          type: 'abort',
          dispatch,
          activationId: message.activationId,
          reason: 'the activation was stopped',
        });
        finish({ status: 'aborted' });
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const dispatch = this.begin({
        runId: message.runId,
        activationId: message.activationId,
        channel,
        agentId: message.agentId,
        host,
        event: board,
        finish,
        approvals: new Map(),
      });
      channel.send({ v: PROTOCOL_VERSION, type: 'activate', dispatch, ...message });
    });
  }

  /** @internal Picks a connection hosting `agentId` whose token admits the run (round robin). */
  pick(agentId: string, runId: string): RemoteChannel | undefined {
    const list = (this.channels.get(agentId) ?? []).filter((c) => c.admits(runId));
    if (list.length === 0) return undefined;
    return list[this.turn++ % list.length];
  }

  /** @internal A step sent to a remote process, under a dispatch id no other step shares. */
  begin(running: Running): string {
    const dispatch = `d${++this.dispatches}`;
    this.running.set(dispatch, running);
    this.byActivation.set(activationKey(running.runId, running.activationId), dispatch);
    return dispatch;
  }

  /** @internal */
  end(dispatch: string): void {
    const r = this.running.get(dispatch);
    this.running.delete(dispatch);
    const key = r && activationKey(r.runId, r.activationId);
    if (key && this.byActivation.get(key) === dispatch) this.byActivation.delete(key);
  }

  private dispatches = 0;
  /** The dispatch in flight for each run's activation (activation ids repeat across runs). */
  private readonly byActivation = new Map<string, string>();

  /**
   * @internal The activation was stopped here: its result may still arrive, and then only the snapshot it
   * reports is kept (the remote actor did move on).
   */
  abandon(dispatch: string): void {
    const r = this.running.get(dispatch);
    this.end(dispatch);
    if (!r) return;
    this.abandoned.set(dispatch, r);
    if (this.abandoned.size > 1000) this.abandoned.delete(this.abandoned.keys().next().value!);
  }

  private readonly abandoned = new Map<string, Running>();

  /** A commit or publish a remote process makes inside an activation it runs. */
  async write(
    channel: RemoteChannel,
    runId: string,
    activationId: string,
    agentId: string,
    request:
      | { type: 'commit'; baseVersion: number; reads: readonly Path[]; patches: readonly Patch[] }
      | { type: 'publish'; topic: string; payload: unknown },
  ): Promise<HubCommitResult> {
    const dispatch = this.byActivation.get(activationKey(runId, activationId));
    const r = this.activation(channel, dispatch ?? '');
    if (r.agentId !== agentId || r.runId !== runId)
      throw new HubRefusal('forbidden', `Activation ${activationId} is ${r.agentId}'s in run ${r.runId}.`);
    const reply =
      request.type === 'commit'
        ? await r.host.request({
            type: 'hearsay.patch',
            baseVersion: request.baseVersion,
            reads: request.reads,
            patches: request.patches,
          })
        : await r.host.request({ type: 'hearsay.publish', topic: request.topic, payload: request.payload });
    if (request.type === 'publish') return { ok: true, version: 0, duplicate: false };
    if (reply?.type === 'hearsay.committed') return { ok: true, version: reply.version, duplicate: false };
    if (reply?.type === 'hearsay.rejected') return { ok: false, code: reply.code, message: reply.message };
    return { ok: false, code: 'run_ended', message: 'The run has ended; nothing was committed.' };
  }

  /** A request of a remote machine (delegate, charge, approval), or how its step ended. */
  async fromRemote(
    channel: RemoteChannel,
    m: ClientMessageOf<'agent_request'> | ClientMessageOf<'activation_result'>,
  ): Promise<unknown> {
    if (m.type === 'activation_result') {
      const late = this.abandoned.get(m.dispatch);
      if (late?.channel === channel) {
        this.abandoned.delete(m.dispatch);
        late.host.finished(m);
        return undefined;
      }
    }
    const r = this.activation(channel, m.dispatch);
    if (m.type === 'activation_result') {
      this.end(m.dispatch);
      r.host.finished(m);
      r.finish(
        m.status === 'failed'
          ? { status: 'failed', error: new Error(m.error ?? `${r.agentId} failed in its remote process`) }
          : m.status === 'done'
            ? { status: 'done', output: undefined }
            : { status: 'settled' },
      );
      return undefined;
    }
    const req = m.request;
    switch (req.type) {
      case 'delegate':
        await r.host.request({ type: 'hearsay.delegate', to: req.to, task: req.task });
        return 'requested';
      case 'charge':
        r.event.tools.charge(req.usage as Partial<Usage>);
        return 'charged';
      case 'approval': {
        const approval = await r.event.tools.requestApproval({
          action: req.action,
          args: req.args,
          ...(req.summary === undefined ? {} : { summary: req.summary }),
        });
        // The remote process gets a copy; the approval itself stays here, used only through `use_approval`.
        r.approvals?.set(approval.requestId, approval);
        return approval;
      }
      case 'use_approval': {
        const live = r.approvals?.get(req.requestId);
        return consumeApproval(live ? [live] : [], { name: req.action, args: req.args }, { runId: r.runId });
      }
    }
  }

  private activation(channel: RemoteChannel, dispatch: string): Running {
    const r = this.running.get(dispatch);
    if (!r || r.channel !== channel)
      throw new HubRefusal('unknown_activation', `No step ${dispatch || '(none)'} runs on this connection.`);
    return r;
  }
}

const activationKey = (runId: string, activationId: string) => `${runId}\u0000${activationId}`;

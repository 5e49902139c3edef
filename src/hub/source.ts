import { brandClass } from '../blackboard/brand.js';
import type { LogEvent, Patch, Path, SubscribeFilter, Unsubscribe } from '../blackboard/index.js';
import type {
  AgentInfo,
  ClientMessageOf,
  PendingApprovalInfo,
  RunInfo,
  ServerMessage,
} from '../protocol/index.js';

/** A run's board as the hub reads it: a consistent snapshot, and the log from any seq onwards. */
export interface HubBoard {
  snapshot(): { readonly state: unknown; readonly version: number; readonly seq: number };
  /** The state at `version` (rejects for a version the board never had). */
  at(version: number): Promise<unknown>;
  subscribe(filter: SubscribeFilter, handler: (event: LogEvent) => void): Unsubscribe;
}

/** How a client's commit or publish came out. */
export type HubCommitResult =
  | { readonly ok: true; readonly version: number; readonly duplicate: boolean }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly detail?: unknown };

/** One connection hosting remote agents, as the source sees it. */
export interface RemoteChannel {
  readonly id: string;
  send(message: ServerMessage): void;
  /** Whether this connection's token admits the run (remote activations go only where they may). */
  admits(runId: string): boolean;
}

/** An operator's answer to an approval request. */
export type OperatorAnswer =
  | { readonly approved: true; readonly by: string; readonly comment?: string }
  | { readonly approved: false; readonly by: string; readonly reason: string };

/**
 * What the hub needs of whatever hosts runs (the runtime implements it). The hub never imports the
 * runtime: it is handed this interface, so it can be tested, and later run, on its own.
 */
export interface HubSource {
  /** Names the server in the welcome message (`hearsay/0.1.0`). */
  readonly server: string;
  listRuns(): Promise<RunInfo[]>;
  /** A run's board, live or read back from the store; undefined when there is no such run. */
  openRun(runId: string): Promise<HubBoard | undefined>;
  /** Calls `listener` when a run starts. Returns a function that stops it. */
  onRunStarted(listener: (runId: string) => void): () => void;
  /**
   * Calls `listener` when a run is deleted (optional): the hub drops its connections' subscriptions to it.
   * Returns a function that stops it.
   */
  onRunDeleted?(listener: (runId: string) => void): () => void;
  /** The paths an agent may write; undefined for an unknown agent. */
  agentWrites(agentId: string): readonly Path[] | undefined;
  /** Commits for `agentId`, already checked to hold that role (and, with `activationId`, to host it). */
  commit(request: {
    runId: string;
    agentId: string;
    /** With `via`: a commit inside an activation that connection runs for a remote agent. */
    activationId?: string;
    via?: RemoteChannel;
    baseVersion: number;
    reads: readonly Path[];
    patches: readonly Patch[];
  }): Promise<HubCommitResult>;
  publish(request: {
    runId: string;
    agentId: string;
    activationId?: string;
    via?: RemoteChannel;
    topic: string;
    payload: unknown;
  }): Promise<HubCommitResult>;
  /** The run an approval request belongs to (undefined for an id that names none). */
  runOf(requestId: string): string | undefined;
  /** The approval requests waiting for an answer (of one run, or of every run here). */
  pendingApprovals(runId?: string): Promise<PendingApprovalInfo[]>;
  /** Answers an approval request; resolves with what it came to (`answered`, `unknown_request`, …). */
  answer(requestId: string, answer: OperatorAnswer): Promise<string>;
  /** Vetoes or promotes an agent (or an item) in a running run; false when the run is not running here. */
  agenda(runId: string, action: 'veto' | 'promote', agentId: string, key?: string): boolean;
  /** Remote agents: a connection offers to host these agents. Returns a function that withdraws it. */
  hostAgents(channel: RemoteChannel, agentIds: readonly string[]): () => void;
  /** Remote agents: a request or the result of an activation this channel runs. */
  fromRemote(
    channel: RemoteChannel,
    message: ClientMessageOf<'agent_request'> | ClientMessageOf<'activation_result'>,
  ): Promise<unknown>;
  /** The machine definitions of agents, for the Stately-compatible stream (JSON of each machine's config). */
  machineDefinition(agentId: string): string | undefined;
  /** The agents registered on the runtime, for inspectors. */
  describeAgents(): AgentInfo[];
}

/**
 * Thrown by a {@link HubSource} to refuse a request for a reason the client can act on: the hub sends it
 * back as a typed `error` reply with this `code` and message (any other error is reported as `internal`).
 *
 * @example
 * import { HubRefusal, type HubSource } from 'hearsay/hub';
 *
 * // a method of your HubSource, guarding the one it wraps:
 * async commit(request: Parameters<HubSource['commit']>[0]) {
 *   if (request.patches.length > 100) throw new HubRefusal('invalid_message', 'At most 100 patches a commit: split it.');
 *   return this.inner.commit(request);
 * }
 */
export class HubRefusal extends Error {
  constructor(
    readonly code: 'forbidden' | 'unknown_run' | 'unknown_activation' | 'invalid_message',
    message: string,
  ) {
    super(message);
    this.name = 'HubRefusal';
  }
}
brandClass(HubRefusal, 'HubRefusal');

import {
  type Actor,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  createActor,
  type Snapshot,
} from 'xstate';
import {
  type AgentHostOptions,
  type ApprovalRejectedEvent,
  type BoardEvent,
  type RuntimeEvent,
  type StepHost,
  type StepOutcome,
  taggedTarget,
} from '../actors/index.js';
import type { StepMessage, StepResult } from './types.js';

/** Carries a step to the process that runs it (a hub connection, or the activation queue of a store). */
export interface StepSender {
  send(
    step: { readonly host: RemoteAgentHost; readonly board: BoardEvent; readonly message: StepMessage },
    signal: AbortSignal,
  ): Promise<StepOutcome>;
}

/**
 * Drives an agent whose machine runs in another process. Eligibility (`can`) and the irreversible-state
 * check are answered here, from a shadow of the machine that is never started (nothing of the agent runs
 * in this process); a step is sent to the hosting process, whose commits come back through the same
 * `onRequest` path, and so the same optimistic rules, as a local agent's. The shadow follows the
 * persisted snapshot the remote process reports after each step.
 */
export class RemoteAgentHost implements StepHost {
  private shadow: Actor<AnyStateMachine>;
  /** The persisted snapshot the shadow was restored from: what the remote actor continues from. */
  private persistedState: Snapshot<unknown> | undefined;
  private lastBoardEvent: BoardEvent | undefined;
  private readonly machine: AnyStateMachine;

  constructor(
    private readonly sender: StepSender,
    private readonly runId: string,
    private readonly agentId: string,
    private readonly options: AgentHostOptions,
  ) {
    this.machine = options.machine;
    this.persistedState = options.snapshot;
    this.shadow = this.shadowOf(options.snapshot);
  }

  start(): StepOutcome {
    // The remote process starts the actor (and runs its entry actions) at its first activation.
    return { status: 'settled' };
  }

  get status(): string {
    return this.shadow.getSnapshot().status;
  }

  can(event: BoardEvent): boolean {
    this.lastBoardEvent = event;
    const snap = this.shadow.getSnapshot();
    return snap.status === 'active' && snap.can(event as never);
  }

  /** The remote process decides what its machine handles; a refusal it does not handle fails its step there. */
  accepts(): boolean {
    return true;
  }

  entersTagged(event: BoardEvent, tag: string): string | undefined {
    this.lastBoardEvent = event;
    return taggedTarget(this.machine, this.snapshot(), event, tag);
  }

  step(event: BoardEvent | RuntimeEvent | ApprovalRejectedEvent, signal: AbortSignal): Promise<StepOutcome> {
    const board = event.type === 'board' ? (event as BoardEvent) : this.lastBoardEvent;
    if (!board)
      return Promise.resolve({ status: 'failed', error: new Error('a remote step needs a board event') });
    if (signal.aborted) return Promise.resolve({ status: 'aborted' });
    const { activation } = board;
    const persisted = this.persistedState;
    const message: StepMessage = {
      runId: this.runId,
      activationId: activation.id,
      agentId: this.agentId,
      ...(activation.key === undefined ? {} : { key: activation.key }),
      version: board.version,
      changed: board.changed.map((p) => [...p]),
      depth: activation.depth,
      attempt: activation.attempt,
      ...(board.delegation ? { delegation: board.delegation } : {}),
      ...(board.fallbackFor ? { fallbackFor: board.fallbackFor } : {}),
      ...(activation.traceparent === undefined ? {} : { traceparent: activation.traceparent }),
      ...(event.type === 'hearsay.approval.rejected'
        ? { rejection: { state: event.state, by: event.by, reason: event.reason } }
        : {}),
      ...(persisted === undefined ? {} : { snapshot: persisted }),
    };
    return this.sender.send({ host: this, board, message }, signal);
  }

  snapshot(): AnyMachineSnapshot {
    return this.shadow.getSnapshot() as AnyMachineSnapshot;
  }

  persisted(): Snapshot<unknown> {
    return this.shadow.getPersistedSnapshot();
  }

  stop(): void {
    // Nothing runs here; the shadow was never started.
  }

  /** @internal Performs a request of the remote machine through the scheduler. */
  request(req: Parameters<AgentHostOptions['onRequest']>[0]): Promise<RuntimeEvent | undefined> {
    return Promise.resolve(this.options.onRequest(req));
  }

  /** @internal The remote step ended: follow its snapshot and record its transitions. */
  finished(m: Pick<StepResult, 'status' | 'snapshot' | 'transitions'>): void {
    for (const [from, to, eventType] of m.transitions ?? []) this.options.onTransition?.(from, to, eventType);
    if (m.snapshot !== undefined && m.status !== 'failed') {
      try {
        this.shadow = this.shadowOf(m.snapshot as Snapshot<unknown>);
        this.persistedState = m.snapshot as Snapshot<unknown>;
      } catch {
        // A snapshot this machine cannot restore: keep the last good shadow.
      }
    }
  }

  private shadowOf(snapshot: Snapshot<unknown> | undefined): Actor<AnyStateMachine> {
    return createActor(this.machine, {
      ...(this.options.input === undefined ? {} : { input: this.options.input }),
      ...(snapshot === undefined ? {} : { snapshot }),
    });
  }
}

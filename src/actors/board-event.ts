import type { Path } from '../blackboard/index.js';
// Types only: agents see the model layer's request and result shapes, never its implementation.
import type {
  ModelRequest,
  ModelResult,
  ToolDefinition,
  ToolRun,
  Usage,
  ValidatedToolCall,
} from '../llm/index.js';
import type { Budget } from './define-agent.js';

/**
 * A model call from inside an activation. The runtime fills in the agent's tier, the activation's
 * abort signal, the budget gate (agent and run), usage charging, and records retries, fallbacks,
 * degradation, refusals and cache hits on the run's log.
 */
export type ActivationModelRequest<TOutput> = Omit<
  ModelRequest<TOutput>,
  'signal' | 'budget' | 'onEvent' | 'onDelta'
> & {
  /** Publish text deltas on the run's log as they arrive (topic `hearsay.stream/<activationId>`). */
  readonly stream?: boolean;
  /** Cache by the content of the paths the agent watches too: reused exactly until what it read changes. */
  readonly cacheByReads?: boolean;
};

/** What an agent asks a human to approve: an irreversible action and its exact arguments. */
export interface ApprovalRequest {
  /** The action, such as a tool name (`send_email`). */
  readonly action: string;
  readonly args: unknown;
  /** One line for the person deciding. */
  readonly summary?: string;
}

/**
 * A human's answer, as `tools.requestApproval` returns it. Approved, it is also the capability to run the
 * action once: `tools.runTools` / `runToolCalls({ approvals })` consume it on the run's log when the action
 * runs. Only the object the runtime handed over counts: one built by hand, copied, or read from a log
 * approves nothing.
 *
 * @example
 * const approval = await tools.requestApproval({ action: 'send_email', args });
 * if (approval.approved) await tools.runTools([call], [sendEmail], { approvals: [approval] });
 */
export type ApprovalDecision =
  | {
      readonly approved: true;
      readonly requestId: string;
      readonly argsHash: string;
      readonly by: string;
      readonly comment?: string;
    }
  | {
      readonly approved: false;
      readonly requestId: string;
      readonly argsHash: string;
      readonly by: string;
      readonly reason: string;
      /** Set when nobody answered within the run's `approvalTimeoutMs`. */
      readonly timedOut?: boolean;
    };

/** What slow work inside an activation (an invoked promise actor) is given by the runtime. */
export interface ActivationTools {
  /** Aborted when the run is cancelled, the goal is reached, or the activation is stopped. */
  readonly signal: AbortSignal;
  /**
   * Waits on the run's clock (virtual in deterministic mode). Rejects with the signal's reason when the run
   * is cancelled or ends, or the activation is stopped (its timeout), so an invoked actor awaiting it stops
   * there (`onError`). A sleep still pending when its activation ends on its own (the machine settled
   * without waiting for it) never settles: code chained on it does not run after the activation, and no
   * rejection is left for nobody to handle.
   *
   * @example
   * const poll = fromPromise(async ({ input }: { input: BoardEvent }) => {
   *   await input.tools.sleep(1_000); // rejects if the run is cancelled meanwhile
   *   return 'waited';
   * });
   */
  sleep(ms: number): Promise<void>;
  /** Charges model usage to this activation's agent and run; the scheduler's budgets read it. */
  charge(usage: Partial<Usage>): void;
  /** Calls a model through the runtime's model client (usage is charged for you). */
  model<TOutput = string>(request: ActivationModelRequest<TOutput>): Promise<ModelResult<TOutput>>;
  /**
   * Asks a human to approve an irreversible action with these exact arguments, and waits. The request is
   * on the run's log; if nothing else can advance meanwhile the run ends `awaiting_approval`, and
   * `runtime.resume` continues it once answered. An approval is single-use and bound to the run, the action
   * and the canonical arguments; it is consumed when the action runs (`runTools`, or an irreversible state).
   */
  requestApproval(request: ApprovalRequest): Promise<ApprovalDecision>;
  /**
   * Runs a model's validated tool calls (see `runToolCalls`), each recorded on the run's log
   * (`hearsay.tool`) and traced as a span of this activation. An irreversible tool runs only by consuming
   * an approval of this run for exactly that call: one of `approvals` (from `requestApproval`), or else
   * one it requests itself and waits for. Each approval covers one run; a call refused comes back
   * `approval_rejected`, `approval_used` or `approval_required`, and the refusal is on the log.
   *
   * @example
   * const runs = await tools.runTools(r.toolCalls, myTools); // asks a human before each irreversible call
   */
  runTools(
    calls: readonly ValidatedToolCall[],
    tools: readonly ToolDefinition[],
    options?: {
      /** Approvals already obtained with `requestApproval`, consumed by the calls they were issued for. */
      readonly approvals?: readonly ApprovalDecision[];
      /** `'request'` (default): ask for a missing approval and wait; `'refuse'`: come back `approval_required`. */
      readonly missing?: 'request' | 'refuse';
    },
  ): Promise<ToolRun[]>;
  /**
   * Delegates a whole sub-problem to a child run of a team registered in `createRuntime({ children })`,
   * with its own board and agents, and waits for its outcome. The child inherits what is left of this
   * activation's causal depth and of the agent's and run's budgets; its spend is charged here; cancelling
   * this activation cancels it. Commit what it returns to the parent board from the machine.
   */
  startChildRun(
    team: string,
    input: unknown,
    options?: { readonly budget?: Budget },
  ): Promise<ChildRunResult>;
}

/** How a child run ended, as the parent's agent receives it. */
export interface ChildRunResult {
  readonly runId: string;
  readonly team: string;
  readonly outcome: string;
  readonly reason: string;
  /** The child's final board, as JSON. */
  readonly board: unknown;
  readonly activations: number;
  readonly usage: Usage;
}

/** Identifies one activation of one agent. */
export interface ActivationInfo {
  readonly id: string;
  readonly agentId: string;
  /** The work item, for a pooled agent's instance. */
  readonly key?: string;
  /** Causal depth: 1 for activations enabled by the run's input, one more than the enabling activation otherwise. */
  readonly depth: number;
  /** 1 for the first attempt, more for retries. */
  readonly attempt: number;
  /** The W3C traceparent of this activation's span, when the run is traced (propagate it to your calls). */
  readonly traceparent?: string;
  /**
   * On a worker (`role: 'worker'`): the fence token of this worker's lease on the step. A step whose worker
   * lost its lease may run again on another worker with a higher token: give side effects `id` as their
   * idempotency key, and `fence` to services that can refuse a stale holder.
   */
  readonly fence?: number;
}

/**
 * The event the scheduler sends an agent's machine. Guards decide from it whether the agent can advance
 * (`snapshot.can(event)` is asked first); transitions taken on it start the activation's work.
 *
 * @example
 * guards: { hasOpenTask: ({ event }) => event.type === 'board' && [...event.board.tasks.values()].some(isOpen) }
 */
export interface BoardEvent<TBoard = unknown> {
  readonly type: 'board';
  /** The board the activation works from (frozen). */
  readonly board: TBoard;
  readonly version: number;
  /**
   * Paths written by the commit(s) that enabled this activation (`[[]]` for the run's start). Under the
   * `tainted` approval policy, reading it taints the activation when a path carries keys a tainted writer
   * chose (a record's or a Keyed collection's keys).
   */
  readonly changed: readonly Path[];
  readonly activation: ActivationInfo;
  /** Set when another agent delegated a task to this one. */
  readonly delegation?: { readonly from: string; readonly task: unknown };
  /** Set when this agent is activated as the fallback of an agent whose retries ran out. */
  readonly fallbackFor?: { readonly agentId: string; readonly error: string };
  readonly tools: ActivationTools;
}

/** Sent to the machine after a commit it asked for was accepted. */
export interface CommittedEvent {
  readonly type: 'hearsay.committed';
  readonly version: number;
}

/** Sent to the machine after a commit it asked for was refused (conflict, schema, permission). */
export interface RejectedEvent {
  readonly type: 'hearsay.rejected';
  readonly code: string;
  readonly message: string;
}

/**
 * Sent instead of the board event when a human rejected entering a state tagged `irreversible`; the
 * machine decides what to do (a transition on it), or the activation ends without the step.
 */
export interface ApprovalRejectedEvent {
  readonly type: 'hearsay.approval.rejected';
  readonly state: string;
  readonly by: string;
  readonly reason: string;
}

/** Events the runtime sends to agent machines. */
export type RuntimeEvent<TBoard = unknown> = BoardEvent<TBoard> | CommittedEvent | RejectedEvent;

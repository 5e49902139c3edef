import type { AnyMachineSnapshot } from 'xstate';
import type {
  ActivationModelRequest,
  ActivationTools,
  AgentDefinition,
  AgentHostOptions,
  Budget,
  ChildRunResult,
  SharedWrite,
  StepHost,
} from '../actors/index.js';
import type { Clock } from '../blackboard/clock.js';
import type { Blackboard, BoardSnapshot, Path } from '../blackboard/index.js';
import type { ModelResult, Tally, Usage } from '../llm/index.js';
import type { LogTopic, PayloadOf, RecordWriter } from '../protocol/records.js';
import type { DeclinedApproval } from './approvals.js';
import type { Enabler } from './events.js';
import type { RunWarning } from './idle-pools.js';
import type { RunOutcome } from './outcome.js';
import type { ResumeState } from './resume.js';

export type { RunOutcome } from './outcome.js';

/** Limits of one run. */
export interface RunLimits {
  /** Deepest causal chain allowed (default 5). */
  readonly depth: number;
  /** Activations in flight at once, all agents together (default 256). */
  readonly concurrency: number;
  /** Activations in all, a last guard against runaway runs (default 10,000). */
  readonly maxActivations: number;
  /** The run's token and money budget (default none). */
  readonly budget?: { readonly tokens?: number; readonly cost?: number };
  /** Share of a budget (agent's or run's) after which model calls use the tier's cheaper model (default 0.8). */
  readonly degradeAt?: number;
  /** How long an approval request may wait (default: forever). */
  readonly approvalTimeoutMs?: number;
  /** At the timeout: `reject` the request (default), or `escalate` it once (a record) and keep waiting. */
  readonly approvalTimeout?: 'reject' | 'escalate';
  /**
   * `always` (default): every request waits for a human. `tainted`: a request from an activation that saw
   * no tainted data is approved by the policy; one that did (it called a model, ran tools, read a value
   * written from model output or by a tainted activation, read changed keys a tainted writer chose, or is a
   * later activation of a singleton that was tainted before) waits for a human.
   */
  readonly approvalPolicy?: 'always' | 'tainted';
}

/** Tokens and money spent so far, updated in place (a mutable {@link Usage}). */
export type Spent = Tally;

/** An activation that failed for good (its retries and fallback spent). */
export interface RunFailure {
  readonly agentId: string;
  /** The work item, for a pooled agent's instance. */
  readonly key?: string;
  readonly error: string;
}

/** What the scheduler hands back when the run ends. */
export interface SchedulerResult {
  readonly outcome: RunOutcome;
  readonly reason: string;
  readonly activations: number;
  readonly failures: readonly RunFailure[];
  /**
   * Irreversible steps that did not happen: their approval was rejected or timed out (which request,
   * which action, who said no or that nobody answered). The reason says so too.
   */
  readonly declined: readonly DeclinedApproval[];
  readonly usage: Usage & { readonly byAgent: Record<string, Usage> };
  /** What did not stop the run but looks like a mistake (a pooled agent that never had work). */
  readonly warnings: readonly RunWarning[];
}

/** What a run scheduler is given. */
export interface RunSchedulerOptions<TBoard> {
  readonly board: Blackboard<TBoard>;
  readonly agents: readonly AgentDefinition<TBoard>[];
  readonly goal?: (board: TBoard) => boolean;
  readonly limits: RunLimits;
  readonly clock: Clock;
  /** Tie-break order of the agents (registration order, or a seeded permutation of it). */
  readonly order: readonly number[];
  /** Paths several agents may write, found once at registration; recorded as a warning at the start. */
  readonly sharedWrites?: readonly SharedWrite[];
  /** Record each singleton's persisted snapshot after its activations, so a resumed run restores it. */
  readonly persistActors?: boolean;
  /** Picks up a run from its log (see `resumeStateFrom`). */
  readonly resume?: ResumeState;
  /** Performs agents' model calls (`tools.model`); the runtime binds it to its model client. */
  readonly callModel?: ModelCaller;
  /** Runs tool calls for `tools.runTools` (the runtime binds it to the model layer's `runToolCalls`). */
  readonly runTools?: ToolRunner;
  /** Starts child runs for `tools.startChildRun` (the runtime's registered child teams). */
  readonly startChild?: ChildStarter;
  /** Sees every record as it is appended, and more (tracing, metrics, cost): see {@link RunObserver}. */
  readonly observer?: RunObserver;
  /**
   * Hosts an agent's actor somewhere other than this process (a remote agent): return a host, or
   * undefined to run it here.
   */
  readonly hostFor?: (
    agent: AgentDefinition<TBoard>,
    options: AgentHostOptions,
    runId: string,
  ) => StepHost | undefined;
}

/** @internal What the scheduler knows of one agent in one run. */
export interface AgentState<TBoard> {
  readonly def: AgentDefinition<TBoard>;
  readonly order: number;
  lastActivated: number;
  readonly spent: Spent;
  /** What the agent's model calls and child runs in flight hold, until they are charged. */
  readonly held: Spent;
  breakerOpen: boolean;
  running: number;
  /** The singleton's actor (recreated from `lastGood` after a failure). */
  host: StepHost | undefined;
  /** The actor's snapshot after its last successful activation (persisted form is computed on demand). */
  lastGood: AnyMachineSnapshot | undefined;
  /** A persisted snapshot read back from the log, to restore the actor from when the run is resumed. */
  restored: unknown;
  /** The singleton's activation in flight. */
  current: Activation<TBoard> | undefined;
  /** Pooled: item keys with an instance in flight (a finished item listed again by `items` is offered again). */
  readonly taken: Set<string>;
  /** Pooled: the change that first offered each item not yet taken. */
  readonly offeredBy: Map<string, Enabler>;
  /** Candidates already recorded as deferred for concurrency (recorded once until they run). */
  readonly deferred: Set<string>;
}

/** @internal One activation in flight. */
export interface Activation<TBoard> {
  readonly id: string;
  readonly agent: AgentState<TBoard>;
  readonly key: string | undefined;
  readonly depth: number;
  readonly enabler: Enabler;
  readonly controller: AbortController;
  readonly delegation:
    | { readonly from: string; readonly task: unknown; readonly fromActivation?: string | undefined }
    | undefined;
  attempt: number;
  /** The board this activation works from; moves to the head after each of its own commits. */
  snapshot: BoardSnapshot<TBoard>;
  host: StepHost | undefined;
  /** The first refused commit, when the machine did not handle the refusal itself. */
  rejected: string | undefined;
  /** Set when this activation stands in for an agent that failed. */
  fallbackFor?: { readonly agentId: string; readonly error: string };
  /** Commits requested in the current attempt (numbers their idempotency keys). */
  commits: number;
  /** Approvals requested in the current attempt (numbers their keys). */
  approvalCount: number;
  /** Set when the activation was in flight when its run stopped, and runs again after a resume. */
  resumed?: boolean;
  /** When the current attempt started (the run clock's milliseconds). */
  startedAt: number;
  /** Why a budget refused this activation's model call: a failure after it is not retried. */
  budgetRefused?: string;
  /** The W3C traceparent of the current attempt's span, when the run is traced. */
  traceparent?: string | undefined;
  /**
   * The host its cycle asked `can` on this activation's snapshot and got yes from: its first attempt
   * sends the event without asking again (nothing ran in between).
   */
  askedHost?: StepHost | undefined;
}

/**
 * Follows a run as it happens, synchronously: the tracer of `src/observability` implements it. The scheduler
 * never depends on what it does with what it sees.
 */
export interface RunObserver {
  /** Every scheduler record, in order, as it is appended to the log. */
  record<T extends LogTopic>(topic: T, payload: PayloadOf<T>): void;
  /** Something worth tracing that is not on the log: a refused commit, a model call's content summary. */
  note(kind: 'commit_refused' | 'model_summary', payload: Record<string, unknown>): void;
  /** The W3C traceparent of an activation's span (sent to remote agents, put on its `started` record). */
  traceparent(activationId: string): string | undefined;
  /** Runs `fn` in the trace context of an activation, so what it starts is traced beneath it. */
  within<T>(activationId: string, fn: () => T): T;
}

/** What a model call from an activation is bound to. */
export interface ModelCallContext {
  readonly agentId: string;
  readonly activationId: string;
  readonly tier: string;
  readonly signal: AbortSignal;
  readonly watches: readonly Path[];
  readonly board: unknown;
  readonly agentBudget: Budget | undefined;
  readonly agentSpent: Spent;
  readonly runBudget: Budget | undefined;
  readonly runSpent: Spent;
  /**
   * What is left of the agent's and the run's budgets, the tighter per limit: neither spent nor held by
   * other model calls and child runs in flight. Undefined when neither sets a limit.
   */
  readonly left: () => Budget | undefined;
  /**
   * Holds `tokens` (a call's estimate) against the agent's and the run's budgets until the returned
   * function is called: calls in flight at once cannot each count on the same tokens left.
   */
  readonly hold: (tokens: number) => () => void;
  /** Records a scheduler record on the log. */
  readonly record: RecordWriter;
  /** Hands the run's observer a summary of the call's input and output (for tracing; not logged). */
  readonly note?: (payload: Record<string, unknown>) => void;
  /** Switch to the tier's cheaper model once this share of a budget is spent. */
  readonly degradeAt: number;
  readonly charge: (usage: Partial<Usage>) => void;
  /**
   * Tells the scheduler the call was refused for budget before it was sent (it needed about `needed`
   * tokens): the agent's breaker opens, or the run ends `budget_exceeded`, and the activation is not retried.
   */
  readonly refusedForBudget?: (needed: number) => void;
  /** The run's clock (virtual in deterministic mode): when a call starts, as its record says. */
  readonly now: () => number;
}

/** Runs an activation's tool calls, recording each (`hearsay.tool`). */
export type ToolRunner = (
  ctx: {
    readonly activationId: string;
    readonly agentId: string;
    readonly signal: AbortSignal;
    readonly record: RecordWriter;
    /** The run's clock: when each call starts, as its record says. */
    readonly now: () => number;
    /** The run: only its approvals are accepted. */
    readonly runId: string;
    /** Asks for an approval of an irreversible call that has none (the activation's `requestApproval`). */
    readonly requestApproval: ActivationTools['requestApproval'];
  },
  ...args: Parameters<ActivationTools['runTools']>
) => ReturnType<ActivationTools['runTools']>;

/** Performs a model call for an activation. */
export type ModelCaller = <TOutput>(
  ctx: ModelCallContext,
  request: ActivationModelRequest<TOutput>,
) => Promise<ModelResult<TOutput>>;

/** What the scheduler hands the runtime to start a child run for an activation. */
export interface ChildRunContext {
  readonly parentRunId: string;
  readonly activationId: string;
  readonly agentId: string;
  /** The attempt of the activation (a retried attempt starts new child runs). */
  readonly attempt: number;
  /** The activation's causal depth, and the run's limit: the child gets what is left. */
  readonly depth: number;
  readonly depthLimit: number;
  /** What is left of the agent's and the run's budgets (the tighter of each). */
  readonly budgetLeft: { readonly tokens?: number; readonly cost?: number };
  readonly signal: AbortSignal;
  readonly record: RecordWriter;
}

/** Starts a child run and resolves with how it ended (the runtime implements it). */
export type ChildStarter = (
  ctx: ChildRunContext,
  team: string,
  input: unknown,
  options: { readonly budget?: { readonly tokens?: number; readonly cost?: number } },
) => Promise<ChildRunResult>;

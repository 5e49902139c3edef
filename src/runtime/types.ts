/**
 * The runtime's public types: its configuration, a run's options, handle and result, and the runtime
 * itself. `createRuntime` (create-runtime.ts) builds one.
 */
import type { Server } from 'node:http';
import type { AgentDefinition } from '../actors/index.js';
import type { AnySchema, Blackboard, BoardLimits, BoardOf, Clock, Store } from '../blackboard/index.js';
import type { Hub, HubAddress, HubOptions } from '../hub/index.js';
import type { ModelClient, Usage } from '../llm/index.js';
import type { CostBreakdown, ObservabilityOptions } from '../observability/index.js';
import type {
  DeclinedApproval,
  PendingApproval,
  RunFailure,
  RunLimits,
  RunOutcome,
  RunWarning,
} from '../scheduler/index.js';
import type { WorkerOptions, WorkerStats } from '../workers/index.js';
import type { RetentionPolicy } from './retention.js';

/** Configuration of {@link createRuntime}. */
export interface RuntimeConfig<TSchema extends AnySchema> {
  readonly board: {
    readonly schema: TSchema;
    readonly initial: unknown;
    /** Bounds on what a commit or message may carry (see `BoardLimits`); the defaults otherwise. */
    readonly limits?: Partial<BoardLimits>;
  };
  readonly agents: readonly AgentDefinition<BoardOf<TSchema>>[];
  /** The run is `completed` as soon as this holds. */
  readonly goal?: (board: BoardOf<TSchema>) => boolean;
  readonly limits?: Partial<RunLimits>;
  /** Where runs' logs live (a new MemoryStore by default). */
  readonly store?: Store;
  /** The runtime's clock (real time by default; a VirtualClock in deterministic mode). */
  readonly clock?: Clock;
  /**
   * Deterministic mode: ties between equal candidates are broken by a permutation drawn from `seed`,
   * and a virtual clock (created if `clock` is not one) is advanced whenever everything else waits,
   * so runs with simulated latency are fast and replay identically.
   */
  readonly deterministic?: { readonly seed: number };
  /** The model client agents call through `tools.model` (see `createModelClient`). */
  readonly models?: ModelClient;
  /** Resume every interrupted or paused run of the store as soon as the runtime is created (see `ready`). */
  readonly resumeOnStart?: boolean;
  /**
   * Agents (registered in `agents`) whose machines run in other processes that connect to the hub
   * with `hostAgents` from `hearsay/client`. The scheduler activates them like local ones.
   */
  readonly remote?: readonly string[];
  /**
   * Child teams, by name: an agent delegates a whole sub-problem to one with `tools.startChildRun(name,
   * input)`, a run with its own board and agents that shares this runtime's store, models and hubs. Names
   * are letters, digits, `_` and `-`.
   */
  // biome-ignore lint/suspicious/noExplicitAny: each child team has its own board schema
  readonly children?: Readonly<Record<string, RuntimeConfig<any>>>;
  /**
   * Tracing and metrics through `@opentelemetry/api` (the global tracer and meter by default, which do
   * nothing until you register an SDK): a trace per run, a span per activation and model call.
   */
  readonly observability?: ObservabilityOptions;
  /**
   * Where agents' steps run. `local` (the default): in this process. `worker`: through the store's
   * activation queue (a `PostgresStore`), where every runtime of the team with this role claims them,
   * in any process; this process runs steps too. `dispatcher`: through the queue, but this process runs
   * none (a process that only starts runs or serves the hub). Each run's scheduler stays in the process
   * that started (or resumed) it.
   */
  readonly role?: 'local' | 'worker' | 'dispatcher';
  /** How this process claims and holds steps, with `role: 'worker'` (see {@link WorkerOptions}). */
  readonly worker?: WorkerOptions;
  /**
   * How long finished runs stay in the store (see {@link RetentionPolicy}). Default: the newest 1,000
   * ({@link DEFAULT_MEMORY_RETENTION}) when the store is in memory; `'keep-all'` with a durable store
   * (file, PostgreSQL), whose runs are deleted only when you give a policy or call `deleteRun`. A child
   * team's runs go with their top-level run.
   */
  readonly retention?: RetentionPolicy | 'keep-all';
}

/**
 * What {@link Runtime.deleteRun} came to.
 *
 * @example
 * const r = await runtime.deleteRun(runId);
 * if (!r.ok && r.code === 'running') runtime.runs.get(runId)?.cancel();
 */
export type DeleteRunResult =
  | {
      readonly ok: true;
      readonly runId: string /** The run and its child runs. */;
      readonly deleted: readonly string[];
    }
  | {
      readonly ok: false;
      /** `running`: in progress here; `unknown_run`: the store holds no such run; `child_run`: delete its top-level run. */
      readonly code: 'running' | 'unknown_run' | 'child_run';
      readonly message: string;
    };

/**
 * What a runtime holds per run, counted (for tests and operators watching a long-lived process).
 *
 * @example
 * const { storedRuns, live } = await runtime.footprint();
 */
export interface RuntimeFootprint {
  /** Runs in progress (and their schedulers). */
  readonly live: number;
  readonly schedulers: number;
  /** Runs being started, resumed or deleted right now. */
  readonly opening: number;
  /** Per-activation counters of child runs started. */
  readonly childOrdinals: number;
  /** Runs the store holds, finished or not (what `listRuns` counts). */
  readonly storedRuns: number;
  /** Finished runs the store holds as ended (what the retention policy weighs). */
  readonly endedRuns: number;
  /** Entries the hub sources cache about runs (infos, start times, followed boards). */
  readonly hubCache: number;
  /** Runs paused awaiting approval whose pending requests this runtime keeps (until answered or resumed). */
  readonly paused: number;
  /** Hubs served. */
  readonly hubs: number;
}

/** Options of {@link Runtime.listen} and {@link Runtime.attach}: the hub's, without its source. */
export type ListenOptions = Omit<HubOptions, 'source'> & {
  /** Default 0 (any free port). */
  readonly port?: number;
  /** Default `127.0.0.1` (loopback). */
  readonly host?: string;
  /** Serve the inspector page at `/` (default true); its address is printed through `log`. */
  readonly inspector?: boolean;
};

/** A hub listening on its own port. */
export interface Listening extends HubAddress {
  readonly hub: Hub;
  /** The inspector page's address (absent with `inspector: false`). */
  readonly inspectorUrl?: string;
  close(): Promise<void>;
}

/** What a run returns: a typed outcome with its reason, the final board, and what was spent. */
export interface RunResult<TBoard> {
  readonly runId: string;
  readonly outcome: RunOutcome;
  readonly reason: string;
  readonly board: TBoard;
  readonly version: number;
  readonly activations: number;
  readonly failures: readonly RunFailure[];
  /**
   * Irreversible steps that did not happen because their approval was rejected or timed out: which
   * request, which action, who said no (or that nobody answered in time), and why. Empty when none.
   */
  readonly declined: readonly DeclinedApproval[];
  /** Tokens and money spent, in all and per agent (model calls, `tools.charge`, child runs). */
  readonly usage: Usage & { readonly byAgent: Readonly<Record<string, Usage>> };
  /**
   * What did not stop the run but looks like a mistake, each with a `code`: `pool_idle`, a pooled agent
   * that never ran because its pool never offered an item (a `statusPool` whose open status no item has).
   */
  readonly warnings: readonly RunWarning[];
  /** The run's trace (all its activations' and model calls' spans are in it). */
  readonly traceId: string;
  /** What the run's model calls spent: in all, per agent and per model. */
  readonly cost: CostBreakdown;
}

/** Options of {@link Runtime.run}. */
export interface RunOptions {
  /** Cancels the run (outcome `cancelled`). */
  readonly signal?: AbortSignal;
  readonly runId?: string;
  /**
   * Set by `startChildRun`: the run is a child of an activation of another run, and inherits what is left
   * of that activation's causal depth and budget.
   */
  readonly parent?: ParentLink;
}

/** Where a child run comes from, and what it inherits. */
export interface ParentLink {
  readonly runId: string;
  readonly activationId: string;
  readonly team: string;
  /** Causal depth left to the child (its depth limit). */
  readonly depthLeft: number;
  readonly budget?: { readonly tokens?: number; readonly cost?: number };
}

/** A run in progress. */
export interface RunHandle<TBoard> {
  readonly runId: string;
  readonly board: Blackboard<TBoard>;
  readonly result: Promise<RunResult<TBoard>>;
  cancel(reason?: string): void;
  /** Refuses an agent's (or one item's) activations in this run from now on. */
  veto(agentId: string, key?: string): void;
  /** Ranks an agent (or one item) first from now on. */
  promote(agentId: string, key?: string): void;
  /** The persisted XState snapshot of a singleton agent, or (with `key`) of a running pooled instance. */
  persistedSnapshot(agentId: string, key?: string): unknown;
  /** What the run's model calls spent so far: in all, per agent and per model. */
  cost(): CostBreakdown;
  /** The run's trace id. */
  readonly traceId: string;
}

/** What answering an approval came to. */
export type ApprovalResult = 'answered' | 'unknown_request' | 'already_answered';

/** The process-level host of runs. */
export interface Runtime<TBoard> {
  /** Starts a run and waits for its outcome. `input` replaces top-level board keys before agents start. */
  run(input?: Partial<TBoard>, options?: RunOptions): Promise<RunResult<TBoard>>;
  /** Starts a run and returns its handle at once. */
  start(input?: Partial<TBoard>, options?: RunOptions): Promise<RunHandle<TBoard>>;
  /**
   * Picks up a run the store holds (after a crash or a restart): the board from its snapshot and log,
   * each agent's persisted XState snapshot, and the activations that were in flight, run again under
   * their ids (their commits carry idempotency keys, so none applies twice). A run that had ended
   * resolves with its recorded outcome.
   */
  resume(runId: string, options?: Omit<RunOptions, 'runId'>): Promise<RunHandle<TBoard>>;
  /**
   * Approves a pending request (its id is on the log, in the `hearsay.approval` record). In a run in
   * progress, the waiting activation goes on; for a run that paused as `awaiting_approval`, the answer
   * is recorded and `resume(runId)` continues it.
   */
  approve(requestId: string, answer: { by: string; comment?: string }): Promise<ApprovalResult>;
  /**
   * Resumes every run the store holds that has not ended (interrupted by a crash, or paused awaiting
   * approval): call it at start to pick up where the process left off. Returns their handles; a run it
   * cannot resume is skipped, logged and reported in the result's `failures` (see {@link ResumeFailure}).
   *
   * @example
   * const resumed = await runtime.resumeAll();
   * for (const f of resumed.failures) console.error(f.runId, f.code, f.message);
   */
  resumeAll(): Promise<ResumedRuns<TBoard>>;
  /** Rejects a pending request; the agent's `requestApproval` resolves with `approved: false`. */
  reject(requestId: string, answer: { by: string; reason: string }): Promise<ApprovalResult>;
  /**
   * The approval requests waiting for an answer: of the runs in progress and of those this runtime saw
   * pause `awaiting_approval`, or (with `runId`) of that run, read from the store if it is not here.
   * Each names its `requestId`, the action and its exact arguments: answer with `approve`/`reject`.
   *
   * @example
   * for (const p of await runtime.pendingApprovals()) console.log(p.requestId, p.action, p.args);
   */
  pendingApprovals(runId?: string): Promise<PendingApproval[]>;
  /**
   * With `resumeOnStart`: the handles of the runs picked up at creation, and in `failures` those that could
   * not be (as `resumeAll` returns them); empty otherwise. Rejects only if the store cannot list its runs.
   */
  readonly ready: Promise<ResumedRuns<TBoard>>;
  /** Runs in progress, by id. */
  readonly runs: ReadonlyMap<string, RunHandle<TBoard>>;
  /** Warnings found at registration (paths several agents may write). */
  readonly warnings: readonly string[];
  /** With `role: 'worker'`: this process's worker (its id and what it has done). */
  readonly worker?: { readonly id: string; readonly stats: Readonly<WorkerStats> };
  /**
   * Serves the hub (every run's messages over WebSockets, remote agents, approvals) on its own HTTP
   * server, on loopback unless `host` says otherwise. Resolves with its address.
   */
  listen(options?: ListenOptions): Promise<Listening>;
  /** Serves the hub on the caller's HTTP server (WebSocket upgrades on the hub's path). */
  attach(server: Server, options?: Omit<ListenOptions, 'port' | 'host'>): Hub;
  /**
   * Deletes a run that is not in progress (and its child runs) from the store, and whatever the runtime
   * and its hubs keep about it; its board can no longer be opened. A running run is refused (`running`):
   * cancel it first.
   */
  deleteRun(runId: string): Promise<DeleteRunResult>;
  /** Applies the retention policy now (it also runs whenever a run ends). Resolves with the runs deleted. */
  prune(): Promise<string[]>;
  /** Counts what the runtime holds per run. */
  footprint(): Promise<RuntimeFootprint>;
  /**
   * Cancels every run in progress, closes hubs it serves, waits for the runs' outcomes, and lets go of
   * what it kept per run; closes the store too when the runtime made it (no `store` given).
   */
  close(): Promise<void>;
}

/**
 * A run {@link Runtime.resumeAll} (or `resumeOnStart`) could not pick up. The others were resumed all the same.
 *
 * - `empty`: the store holds the run but nothing on its log (a start that failed before its first event, or
 *   a start refused by a version that left such runs behind). Start it again under its id, or delete it with
 *   `runtime.deleteRun(runId)`.
 * - `failed`: resuming it threw (`error` says why: the store could not be reached, its log is damaged, …).
 *   Mend the cause and call `resumeAll()` again: runs already in progress are skipped.
 *
 * @example
 * const resumed = await runtime.resumeAll();
 * for (const f of resumed.failures) console.error(`run ${f.runId} not resumed (${f.code}): ${f.message}`);
 */
export interface ResumeFailure {
  readonly runId: string;
  readonly code: 'empty' | 'failed';
  readonly message: string;
  /** What was thrown while resuming it. */
  readonly error: unknown;
}

/**
 * The handles of the runs `resumeAll` picked up (an array, as before), with the runs it could not resume in
 * `failures` (empty when every run was resumed; a property that is not enumerable, so the array compares and
 * serialises as before).
 *
 * @example
 * const resumed = await runtime.resumeAll();
 * console.log(`${resumed.length} runs resumed, ${resumed.failures.length} not`);
 */
export type ResumedRuns<TBoard> = RunHandle<TBoard>[] & { readonly failures: readonly ResumeFailure[] };

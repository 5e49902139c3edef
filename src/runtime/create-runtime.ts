import { once, setMaxListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AgentDefinition, describeSharedWrite, findSharedWrites } from '../actors/index.js';
import {
  type AnySchema,
  assertAgentIdAllowed,
  type Blackboard,
  type BoardOf,
  type Clock,
  type CommitEvent,
  checkRunId,
  commitWaitingOut,
  createBlackboard,
  FileStore,
  type LogEvent,
  MemoryStore,
  type Store,
  systemClock,
} from '../blackboard/index.js';
import { assertBoardConfig } from '../blackboard/schema-check.js';
import { Hub, type HubSource } from '../hub/index.js';
import { inspectorHandler } from '../inspector/index.js';
import { stableHash } from '../llm/index.js';
import { RunTracer, resolveObservability } from '../observability/index.js';
import { childRunId, childRunTeam } from '../protocol/index.js';
import {
  approvalsFrom,
  type ChildStarter,
  declinedOf,
  emptySpent,
  type PendingApproval,
  pendingOf,
  permutation,
  type ResumeState,
  type RunLimits,
  RunScheduler,
  type RunSchedulerOptions,
  resumeStateFrom,
  runOfRequest,
  type SchedulerResult,
  seededRandom,
  TOPICS,
  tighterBudget,
  VirtualClock,
} from '../scheduler/index.js';
import {
  type ActivationQueue,
  ActivationWorker,
  checkWorkerNames,
  isActivationQueue,
  QueueSender,
} from '../workers/index.js';
import { RemoteAgentHost } from '../workers/remote-host.js';
import { assertAgentDefinition } from './agent-definitions.js';
import { combineHubSources, runtimeHubSource } from './hub-source.js';
import { callModel, runTools } from './model-call.js';
import { RemoteAgents } from './remote-agents.js';
import { NothingToResume, resumedRuns, resumeFailure } from './resume-report.js';
import { checkRetention, DEFAULT_MEMORY_RETENTION, runsToDrop } from './retention.js';
import { checkRunInput, discardStart, inputCommit, inputRefused } from './start-input.js';
import type {
  ApprovalResult,
  DeleteRunResult,
  Listening,
  ListenOptions,
  ParentLink,
  ResumedRuns,
  ResumeFailure,
  RunHandle,
  RunOptions,
  RunResult,
  Runtime,
  RuntimeConfig,
} from './types.js';
import { isLoopbackHost, VERSION } from './version.js';

const DEFAULT_LIMITS: RunLimits = { depth: 5, concurrency: 256, maxActivations: 10_000 };

/**
 * Creates the runtime that hosts runs of a team of agents over one board schema.
 *
 * @example
 * const runtime = createRuntime({ board: { schema: Board, initial }, agents: [planner, worker], goal: (b) => b.done });
 * const result = await runtime.run({ goal: 'Write a haiku' });
 * console.log(result.outcome, result.reason);
 */
export function createRuntime<TSchema extends AnySchema>(
  config: RuntimeConfig<TSchema>,
): Runtime<BoardOf<TSchema>> {
  type TBoard = BoardOf<TSchema>;
  assertBoardConfig(config.board);
  const ids = new Set<string>();
  for (const agent of config.agents) {
    if (ids.has(agent.id)) throw new TypeError(`Two agents are named "${agent.id}".`);
    // An agent built without defineAgent (a plain object) is held to the same list.
    assertAgentIdAllowed(agent.id);
    assertAgentDefinition(agent);
    ids.add(agent.id);
  }
  for (const agent of config.agents) {
    if (agent.fallback !== undefined && !ids.has(agent.fallback)) {
      throw new TypeError(`Agent "${agent.id}" falls back to "${agent.fallback}", which is not registered.`);
    }
  }
  for (const id of config.remote ?? []) {
    if (!ids.has(id)) throw new TypeError(`Remote agent "${id}" is not registered in \`agents\`.`);
  }
  const remote = new RemoteAgents(new Set(config.remote ?? []));
  const role = config.role ?? 'local';
  const runStarted = new Set<(runId: string) => void>();
  const hubs = new Set<{ close(): Promise<void> }>();
  const observability = resolveObservability(config.observability, VERSION);
  const models = config.models;
  const limits: RunLimits = { ...DEFAULT_LIMITS, ...config.limits };
  const store = config.store ?? new MemoryStore();
  const queueName = config.worker?.queue ?? 'default';
  checkWorkerNames(config.worker);
  let sender: QueueSender | undefined;
  if (role !== 'local') {
    if (!isActivationQueue(store))
      throw new TypeError(
        `role "${role}" runs steps through the store's activation queue; give a store that has one (PostgresStore from hearsay/postgres).`,
      );
    if (config.deterministic)
      throw new TypeError('Deterministic mode runs in one process: use role "local" (the default).');
    sender = new QueueSender(store, queueName, async (runId) => runs.get(runId)?.board.refresh());
  }
  // Actor snapshots go on the log only where the log outlives the process.
  const durable = !(store instanceof MemoryStore) || store instanceof FileStore;
  const retention = config.retention ?? (durable ? 'keep-all' : DEFAULT_MEMORY_RETENTION);
  checkRetention(retention);
  const deterministic = config.deterministic;
  const clock: Clock = config.clock ?? (deterministic ? new VirtualClock() : systemClock);
  // Child teams share this runtime's store, clock, models and observability unless they bring their own;
  // a child never drives a virtual clock (the top runtime does).
  const children = new Map<string, Runtime<unknown>>();
  const childStores = new Map<string, Store>();
  /** Set on a child team's runtime: its runs belong to their parents' activations. */
  let isChild = false;
  for (const [team, child] of Object.entries(config.children ?? {})) {
    if (!TEAM_NAME.test(team)) throw new TypeError(`Child team "${team}": use letters, digits, _ and -.`);
    const childModels = child.models ?? config.models;
    const childObservability = child.observability ?? config.observability;
    children.set(
      team,
      createRuntime({
        ...child,
        store: child.store ?? store,
        clock: child.clock ?? clock,
        // A child team's steps go through its own queue: its agents' ids may repeat the parent's.
        ...(child.role === undefined && role !== 'local'
          ? { role, worker: { ...config.worker, ...child.worker, queue: `${queueName}.${team}` } }
          : {}),
        ...(childModels ? { models: childModels } : {}),
        ...(childObservability ? { observability: childObservability } : {}),
      }) as Runtime<unknown>,
    );
    childStores.set(team, child.store ?? store);
    internals.get(children.get(team)!)!.markChild();
  }
  /** Child runs started per activation: a child run's id is derived from its activation and ordinal. */
  const childOrdinals = new Map<string, number>();
  const startChild: ChildStarter = async (ctx, team, input) => {
    const child = children.get(team);
    if (!child)
      throw new TypeError(
        `No child team "${team}" (this runtime has ${[...children.keys()].map((t) => `"${t}"`).join(', ') || 'none'}: createRuntime({ children })).`,
      );
    const key = `${ctx.parentRunId}\u0000${ctx.activationId}\u0000${ctx.attempt}`;
    const ordinal = (childOrdinals.get(key) ?? 0) + 1;
    childOrdinals.set(key, ordinal);
    // The same attempt's n-th child has the same id after a restart: resuming finds it.
    const runId = childRunId(ctx.parentRunId, team, stableHash([ctx.activationId, ctx.attempt, ordinal]));
    const zero = emptySpent();
    const at = { childRunId: runId, team, activationId: ctx.activationId, agentId: ctx.agentId };
    const depthLeft = ctx.depthLimit - ctx.depth;
    if (depthLeft < 1) {
      const reason = `no causal depth left for a child run (the activation is at depth ${ctx.depth} of ${ctx.depthLimit})`;
      ctx.record(TOPICS.child, { phase: 'refused', ...at, outcome: 'depth_exceeded', reason });
      return { runId, team, outcome: 'depth_exceeded', reason, board: null, activations: 0, usage: zero };
    }
    const budget = ctx.budgetLeft;
    if (
      (budget.tokens !== undefined && budget.tokens <= 0) ||
      (budget.cost !== undefined && budget.cost <= 0)
    ) {
      const reason = `no budget left for a child run (${JSON.stringify(budget)})`;
      ctx.record(TOPICS.child, { phase: 'refused', ...at, outcome: 'budget_exceeded', reason });
      return { runId, team, outcome: 'budget_exceeded', reason, board: null, activations: 0, usage: zero };
    }
    const parent: ParentLink = {
      runId: ctx.parentRunId,
      activationId: ctx.activationId,
      team,
      depthLeft,
      ...(budget.tokens === undefined && budget.cost === undefined ? {} : { budget }),
    };
    ctx.record(TOPICS.child, { phase: 'started', ...at });
    let r: RunResult<unknown>;
    try {
      const held = (await childStores.get(team)!.listRuns?.())?.includes(runId) ?? false;
      const handle = held
        ? await child.resume(runId, { signal: ctx.signal, parent })
        : await child.start(input as never, { runId, signal: ctx.signal, parent });
      r = await handle.result;
    } catch (error) {
      // The child never ran (its input does not fit its board, say): the log says it ended.
      const reason = error instanceof Error ? error.message : String(error);
      ctx.record(TOPICS.child, { phase: 'ended', ...at, outcome: 'failed', reason, usage: zero });
      throw error;
    }
    const { byAgent: _, ...usage } = r.usage;
    ctx.record(TOPICS.child, {
      phase: 'ended',
      ...at,
      outcome: r.outcome,
      reason: r.reason,
      usage,
      byModel: r.cost.byModel,
    });
    return {
      runId,
      team,
      outcome: r.outcome,
      reason: r.reason,
      board: JSON.parse(JSON.stringify(r.board ?? null)) as unknown,
      activations: r.activations,
      usage,
    };
  };
  const order = deterministic
    ? permutation(config.agents.length, seededRandom(deterministic.seed))
    : config.agents.map((_, i) => i);
  const runs = new Map<string, RunHandle<TBoard>>();
  const schedulers = new Map<string, RunScheduler<TBoard>>();
  /** Requests of the runs that paused `awaiting_approval` in this process, until answered or resumed. */
  const paused = new Map<string, PendingApproval[]>();
  let counter = 0;

  const sharedWrites = findSharedWrites(config.agents);
  const warnings = sharedWrites.map(describeSharedWrite);

  const queued = sender;
  const hostFor: RunSchedulerOptions<TBoard>['hostFor'] = queued
    ? (def, options, runId) =>
        remote.hostFor(def, options, runId) ?? new RemoteAgentHost(queued, runId, def.id, options)
    : remote.ids.size > 0
      ? remote.hostFor
      : undefined;
  const worker =
    role === 'worker'
      ? new ActivationWorker({
          queue: store as Store & ActivationQueue,
          store,
          schema: config.board.schema,
          initial: config.board.initial,
          agents: config.agents.filter((a) => !remote.ids.has(a.id)) as AgentDefinition<unknown>[],
          models,
          clock,
          options: config.worker ?? {},
        })
      : undefined;
  worker?.start();

  /** Aborted as the runtime closes: boards stop waiting out the store's outages (their appends fail). */
  const closing = new AbortController();
  // Every open board listens to it (and lets go when it closes): as many listeners as live runs is expected.
  setMaxListeners(0, closing.signal);
  const openBoard = (runId: string) =>
    createBlackboard({
      schema: config.board.schema,
      initial: config.board.initial,
      store,
      runId,
      clock,
      signal: closing.signal,
      ...(config.board.limits ? { limits: config.board.limits } : {}),
    });

  /** Runs being started or resumed (between the check and `runs`): two calls never open one run twice. */
  const opening = new Set<string>();
  async function claiming<T>(runId: string, open: () => Promise<T>): Promise<T> {
    checkRunId(runId);
    if (runs.has(runId) || opening.has(runId))
      throw new TypeError(`The run "${runId}" is already in progress in this runtime.`);
    opening.add(runId);
    try {
      return await open();
    } finally {
      opening.delete(runId);
    }
  }

  function start(input?: Partial<TBoard>, options: RunOptions = {}): Promise<RunHandle<TBoard>> {
    const runId = options.runId ?? `run-${++counter}`;
    return claiming(runId, () => startRun(runId, input, options));
  }

  function resume(
    runId: string,
    options: Omit<RunOptions, 'runId'> = {},
    /** Set by `resumeAll`, which found the run in the store's list already. */
    listed = false,
  ): Promise<RunHandle<TBoard>> {
    const team = teamOf(runId);
    if (team !== undefined)
      return Promise.reject(
        new TypeError(
          `"${runId}" is a run of the child team "${team}": it resumes when its parent's activation runs again.`,
        ),
      );
    return claiming(runId, () => resumeRun(runId, options, listed));
  }

  async function startRun(
    runId: string,
    input: Partial<TBoard> | undefined,
    options: RunOptions,
  ): Promise<RunHandle<TBoard>> {
    // What can be refused is refused before the store sees the run: a refused start leaves nothing behind.
    await checkRunInput(config.board, input);
    const board = await openBoard(runId);
    if (board.seq > 0) {
      await board.close();
      throw new TypeError(
        `The store already holds a run "${runId}": resume it with runtime.resume("${runId}").`,
      );
    }
    try {
      if (input && Object.keys(input).length > 0) {
        // Waited out through an outage, as the board's opening was (the key makes a retry land once).
        const nonce = deterministic ? `${deterministic.seed}/${runId}` : undefined;
        const r = await commitWaitingOut(board, inputCommit(board.version, input, nonce), closing.signal);
        if (!r.ok && r.error.code === 'conflict')
          throw new TypeError(
            `The run "${runId}" was started by another process at the same time: resume it with runtime.resume("${runId}").`,
          );
        if (!r.ok) throw inputRefused(r.error.message);
      }
      return launch(runId, board, options, undefined);
    } catch (error) {
      await discardStart(store, board);
      throw error;
    }
  }

  async function resumeRun(
    runId: string,
    options: Omit<RunOptions, 'runId'>,
    listed: boolean,
  ): Promise<RunHandle<TBoard>> {
    // Opening a run the store does not hold would create it (an empty run left behind by every bad id).
    if (!listed && store.listRuns && !(await store.listRuns()).includes(runId))
      throw new TypeError(`The store holds no run "${runId}" to resume.`);
    const board = await openBoard(runId);
    if (board.seq === 0) {
      await board.close();
      throw new NothingToResume(
        `The store holds no run "${runId}" to resume: it has nothing on its log (a start that failed before its first event). Start it again under its id, or delete it with runtime.deleteRun("${runId}").`,
      );
    }
    const history = await store.read(runId, 1, board.seq);
    const read = resumeStateFrom(history);
    const earlier = history.findLast((e) => e.type === 'message' && e.topic === TOPICS.trace);
    if ('ended' in read) {
      // The run had ended: its outcome stands; nothing runs again.
      const ended = Promise.resolve<RunResult<TBoard>>({
        runId,
        ...read.ended,
        board: board.state,
        version: board.version,
        activations: 0,
        failures: [],
        declined: [...approvalsFrom(history).values()].flatMap((r) => declinedOf(r) ?? []),
        usage: { tokens: 0, inputTokens: 0, outputTokens: 0, cost: 0, byAgent: {} },
        warnings: [],
        traceId: traceIdOf(earlier),
        cost: {
          total: { tokens: 0, inputTokens: 0, outputTokens: 0, cost: 0, calls: 0 },
          byAgent: {},
          byModel: {},
        },
      });
      return {
        runId,
        board,
        result: ended,
        traceId: traceIdOf(earlier),
        cancel: () => {},
        veto: () => {},
        promote: () => {},
        persistedSnapshot: () => undefined,
        cost: () => ({
          total: { tokens: 0, inputTokens: 0, outputTokens: 0, cost: 0, calls: 0 },
          byAgent: {},
          byModel: {},
        }),
      };
    }
    return launch(runId, board, options, read.state, traceparentOf(earlier), history);
  }

  function launch(
    runId: string,
    board: Blackboard<TBoard>,
    options: Omit<RunOptions, 'runId'>,
    resumeState: ResumeState | undefined,
    earlierTrace?: string,
    history: readonly LogEvent[] = [],
  ): RunHandle<TBoard> {
    // A resumed run's requests are its scheduler's again.
    paused.delete(runId);
    const tracer = new RunTracer(
      runId,
      observability.tracer,
      observability.instruments,
      observability.options,
      () => clock.now(),
      earlierTrace,
      deterministic ? `${deterministic.seed}/${runId}` : undefined,
    );
    tracer.replayCosts(history);
    // The run's trace goes on its log, so whoever reads the log (the hub, a resumed run) can join it.
    void board.publish(
      TOPICS.trace,
      { traceId: tracer.traceId, traceparent: tracer.traceparentOfRun },
      { author: 'scheduler' },
    );
    if (options.parent)
      void board.publish(
        TOPICS.parent,
        { runId: options.parent.runId, activationId: options.parent.activationId, team: options.parent.team },
        { author: 'scheduler' },
      );
    const stopTracing = board.subscribe({ types: ['commit'] }, (e) => tracer.commit(e as CommitEvent));
    const scheduler = new RunScheduler<TBoard>({
      observer: tracer,
      board,
      agents: config.agents,
      ...(config.goal ? { goal: config.goal } : {}),
      limits: options.parent ? inherited(limits, options.parent) : limits,
      clock,
      order,
      sharedWrites,
      persistActors: durable,
      ...(resumeState ? { resume: resumeState } : {}),
      ...(models ? { callModel: (ctx, request) => callModel(models, ctx, request) } : {}),
      ...(hostFor ? { hostFor } : {}),
      runTools,
      ...(children.size > 0 ? { startChild } : {}),
    });
    const onAbort = () =>
      scheduler.cancel(`cancelled: ${String(options.signal?.reason ?? 'signal aborted')}`);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const result = scheduler.result
      .then((r): SchedulerResult => {
        options.signal?.removeEventListener('abort', onAbort);
        stopTracing();
        // The run has ended: its board no longer follows the store (a database store would read for it forever).
        board.unfollow();
        tracer.end(r.outcome, r.reason);
        runs.delete(runId);
        schedulers.delete(runId);
        if (r.outcome === 'awaiting_approval') paused.set(runId, scheduler.pendingApprovals());
        else paused.delete(runId);
        for (const key of childOrdinals.keys())
          if (key.startsWith(`${runId}\u0000`)) childOrdinals.delete(key);
        return r;
      })
      .then(async (r): Promise<RunResult<TBoard>> => {
        // A finished run is marked ended and the retention policy applied before the caller hears of it, so
        // what the store holds is bounded whenever a result is in hand. A paused run is not finished.
        if (!isChild && r.outcome !== 'awaiting_approval') await retire(runId);
        return {
          runId,
          ...r,
          board: board.state,
          version: board.version,
          traceId: tracer.traceId,
          cost: tracer.cost(),
        };
      });
    const handle: RunHandle<TBoard> = {
      runId,
      board,
      result,
      cancel: (reason = 'cancelled by the caller') => scheduler.cancel(reason),
      veto: (agentId, key) => scheduler.veto(agentId, key),
      promote: (agentId, key) => scheduler.promote(agentId, key),
      persistedSnapshot: (agentId, key) => scheduler.persistedSnapshot(agentId, key),
      cost: () => tracer.cost(),
      traceId: tracer.traceId,
    };
    runs.set(runId, handle);
    schedulers.set(runId, scheduler);
    scheduler.start();
    for (const listener of runStarted) listener(runId);
    if (options.signal?.aborted) onAbort();
    if (clock instanceof VirtualClock && deterministic) void drive(clock, result);
    return handle;
  }

  async function answer(
    requestId: string,
    decision:
      | { approved: true; by: string; comment?: string }
      | { approved: false; by: string; reason: string },
  ): Promise<ApprovalResult> {
    const runId = runOfRequest(requestId);
    if (runId === undefined) return 'unknown_request';
    const team = teamOf(runId);
    if (team !== undefined) {
      const owner = descendants().get(team)!;
      return decision.approved
        ? owner.approve(requestId, {
            by: decision.by,
            ...(decision.comment === undefined ? {} : { comment: decision.comment }),
          })
        : owner.reject(requestId, { by: decision.by, reason: decision.reason });
    }
    const waiting = paused.get(runId)?.filter((p) => p.requestId !== requestId);
    if (waiting) paused.set(runId, waiting);
    const live = schedulers.get(runId);
    // Opening a run the store does not hold would create it.
    if (!live && store.listRuns && !(await store.listRuns()).includes(runId)) return 'unknown_request';
    if (live) {
      const answered = live.answer(requestId, decision);
      if (answered !== 'ended') return answered;
      // What the ended run still had queued (its request among it) lands first.
      await runs.get(runId)?.board.refresh();
    }
    const board = await openBoard(runId);
    const rec = approvalsFrom(await store.read(runId, 1, board.seq)).get(requestId);
    if (!rec) return 'unknown_request';
    if (rec.answer) return 'already_answered';
    const full = { ...decision, requestId, argsHash: rec.argsHash };
    const r = await board.publish(
      TOPICS.approval,
      { phase: 'answered', requestId, decision: full },
      { author: 'operator' },
    );
    if (!r.ok) throw new Error(r.error.message);
    return 'answered';
  }

  async function resumeAll(): Promise<ResumedRuns<TBoard>> {
    if (!store.listRuns) throw new TypeError('This store cannot list its runs.');
    const handles: RunHandle<TBoard>[] = [];
    const failures: ResumeFailure[] = [];
    for (const runId of await store.listRuns()) {
      // A child team's run resumes when its parent's activation runs again, under that team's runtime.
      if (runs.has(runId) || opening.has(runId) || teamOf(runId) !== undefined) continue;
      // One read of the log decides: a run that had ended resolves with its recorded outcome and is not
      // running, so only the runs actually picked up are returned.
      try {
        const handle = await resume(runId, {}, true);
        if (runs.get(runId) === handle) handles.push(handle);
      } catch (error) {
        // One run that cannot be resumed does not keep the others from it: it is reported, and logged.
        const failure = resumeFailure(runId, error);
        failures.push(failure);
        console.warn(`hearsay: ${failure.message}`);
      }
    }
    return resumedRuns(handles, failures);
  }

  /** Retirements and prunes, one at a time (two runs ending at once must not both delete the oldest). */
  let retiring: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const next = retiring.then(work, work);
    retiring = next.catch(() => undefined);
    return next;
  };
  /** Listeners told of deleted runs (hub sources drop what they cache, hub connections their subscriptions). */
  const runDeleted = new Set<(runId: string) => void>();

  async function retire(runId: string): Promise<void> {
    try {
      await serially(async () => {
        await store.markEnded(runId, clock.now());
        await pruneNow();
      });
    } catch (error) {
      // Retention is housekeeping: a store that fails at it does not change the run's outcome.
      console.warn(`hearsay: retiring run ${runId} failed: ${String(error)}`);
    }
  }

  async function pruneNow(): Promise<string[]> {
    if (retention === 'keep-all' || isChild) return [];
    const dropped: string[] = [];
    for (const runId of runsToDrop(await store.endedRuns(), retention, clock.now())) {
      // A finished run resumed or started again under its id is not dropped while it runs.
      if (runs.has(runId) || opening.has(runId) || teamOf(runId) !== undefined) continue;
      const r = await deleteNow(runId);
      if (r.ok) dropped.push(...r.deleted);
    }
    return dropped;
  }

  const isBelow = (id: string, runId: string) => id.startsWith(`${runId}/`) && childRunTeam(id) !== undefined;

  async function deleteNow(runId: string): Promise<DeleteRunResult> {
    const team = teamOf(runId);
    if (team !== undefined)
      return {
        ok: false,
        code: 'child_run',
        message: `"${runId}" is a run of the child team "${team}": delete its top-level run, and its child runs go with it.`,
      };
    if (runs.has(runId) || opening.has(runId))
      return {
        ok: false,
        code: 'running',
        message: `Run "${runId}" is in progress: cancel it (handle.cancel()), wait for its result, then delete it.`,
      };
    opening.add(runId);
    try {
      const below = ((await store.listRuns?.()) ?? []).filter((id) => isBelow(id, runId));
      const held = await store.deleteRun(runId);
      for (const id of below) await store.deleteRun(id);
      if (!held && below.length === 0)
        return { ok: false, code: 'unknown_run', message: `The store holds no run "${runId}".` };
      const deleted = [runId, ...below];
      for (const id of deleted) {
        paused.delete(id);
        for (const listener of runDeleted) listener(id);
        const owner = teamOf(id);
        if (owner !== undefined) internals.get(descendants().get(owner)!)?.deleted(id);
      }
      return { ok: true, runId, deleted };
    } finally {
      opening.delete(runId);
    }
  }

  const ready: Promise<ResumedRuns<TBoard>> = config.resumeOnStart
    ? resumeAll()
    : Promise.resolve(resumedRuns([], []));
  // Whoever never awaits `ready` must not get an unhandled rejection; whoever does still sees the error.
  ready.catch(() => undefined);

  const approve = (requestId: string, a: { by: string; comment?: string }) =>
    answer(requestId, { approved: true, ...a });
  const reject = (requestId: string, a: { by: string; reason: string }) =>
    answer(requestId, { approved: false, ...a });

  /** The hub sources made over this runtime's runs (their caches are counted by `footprint`). */
  const rawSources: { cached(): number }[] = [];
  const hubCacheSize = () => rawSources.reduce((n, s) => n + s.cached(), 0);

  /** This runtime's runs as the hub sees them (`owns` picks its runs out of a store shared with child teams). */
  const rawSource = (owns: (runId: string) => boolean): HubSource => {
    const made = runtimeHubSource({
      owns,
      server: `hearsay/${VERSION}`,
      agents: config.agents,
      store,
      live: runs as never,
      openBoard: (runId) => openBoard(runId) as Promise<Blackboard<unknown>>,
      onRunStarted: (listener) => {
        runStarted.add(listener);
        return () => runStarted.delete(listener);
      },
      onRunDeleted: (listener) => {
        runDeleted.add(listener);
        return () => runDeleted.delete(listener);
      },
      answer: async (requestId, a) => {
        const result = a.approved
          ? await approve(requestId, { by: a.by, ...(a.comment === undefined ? {} : { comment: a.comment }) })
          : await reject(requestId, { by: a.by, reason: a.reason });
        // An answer from an operator continues a run that paused for it.
        const runId = runOfRequest(requestId);
        // A child team's paused run already answered its parent: it is not resumed on its own.
        if (
          result === 'answered' &&
          !isChild &&
          runId !== undefined &&
          !runs.has(runId) &&
          !opening.has(runId)
        ) {
          resume(runId).catch((error: unknown) =>
            console.warn(`hearsay: resuming ${runId} failed: ${String(error)}`),
          );
        }
        return result;
      },
      remote,
      remoteIds: new Set(config.remote ?? []),
      usageOf: (runId) => schedulers.get(runId)?.usage(),
      runOf: runOfRequest,
      pendingApprovals: (runId) => pendingApprovals(runId),
    });
    rawSources.push(made);
    return made;
  };

  /** Every child team below this runtime, by name (names are unique across the tree). */
  const descendants = (): Map<string, Runtime<unknown>> => {
    const out = new Map<string, Runtime<unknown>>();
    for (const [team, child] of children) {
      if (out.has(team)) throw new TypeError(`Two child teams are named "${team}".`);
      out.set(team, child);
      for (const [t, rt] of internals.get(child)!.descendants()) {
        if (out.has(t)) throw new TypeError(`Two child teams are named "${t}".`);
        out.set(t, rt);
      }
    }
    return out;
  };

  let teamsBelow: Map<string, Runtime<unknown>> | undefined;
  /** The child team a run belongs to (a child run's id ends in `/<team>.<8 hex>`), or undefined for this runtime's own. */
  const teamOf = (runId: string): string | undefined => {
    if (children.size === 0) return undefined;
    teamsBelow ??= descendants();
    const team = childRunTeam(runId);
    return team !== undefined && teamsBelow.has(team) ? team : undefined;
  };

  let source: HubSource | undefined;
  const hubSource = (): HubSource => {
    if (source) return source;
    const teams = descendants();
    if (teams.size === 0) {
      source = rawSource(() => true);
      return source;
    }
    source = combineHubSources(
      rawSource((runId) => teamOf(runId) === undefined),
      new Map(
        [...teams].map(([team, rt]) => [team, internals.get(rt)!.rawSource((id) => teamOf(id) === team)]),
      ),
      teamOf,
    );
    return source;
  };

  function attach(server: Server, options: Omit<ListenOptions, 'port' | 'host'> = {}): Hub {
    const hub = new Hub({ ...options, source: hubSource() });
    hub.attach(server);
    hubs.add(hub);
    return hub;
  }

  async function listen(options: ListenOptions = {}): Promise<Listening> {
    const host = options.host ?? '127.0.0.1';
    if (options.insecureDevMode && !isLoopbackHost(host))
      throw new TypeError(`Development mode (no tokens) listens on loopback only, not on "${host}".`);
    const { port: _p, host: _h, inspector: withInspector = true, ...hubOptions } = options;
    const hub = new Hub({ ...hubOptions, source: hubSource() });
    const inspector = withInspector ? inspectorHandler({ hubPath: hub.path }) : undefined;
    const server = createServer((req, res) => {
      if (inspector?.(req, res)) return;
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('Not found: WebSocket clients connect to the hub path.\n');
    });
    // This server is the hub's alone: an upgrade for any other path is refused, not left hanging.
    server.on('upgrade', (req, socket, head) => {
      if (!hub.handleUpgrade(req, socket, head)) socket.destroy();
    });
    server.listen(options.port ?? 0, host);
    await once(server, 'listening');
    const address = server.address() as AddressInfo;
    const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const inspectorUrl = inspector ? `http://${shown}:${address.port}/` : undefined;
    if (inspectorUrl)
      hub.log(`hearsay: inspector at ${inspectorUrl}${options.tokens ? '#token=<token>' : ''}`);
    const listening: Listening = {
      hub,
      host: address.address,
      port: address.port,
      url: `ws://${shown}:${address.port}${hub.path}`,
      ...(inspectorUrl ? { inspectorUrl } : {}),
      async close() {
        hubs.delete(listening);
        await hub.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
    hubs.add(listening);
    return listening;
  }

  async function pendingApprovals(runId?: string): Promise<PendingApproval[]> {
    if (runId === undefined)
      return [
        ...[...schedulers.values()].flatMap((sc) => sc.pendingApprovals()),
        ...[...paused.values()].flat(),
      ];
    const live = schedulers.get(runId);
    if (live) return live.pendingApprovals();
    const known = paused.get(runId);
    if (known) return known;
    // Not here: what the store says, if the run paused awaiting approval (another process, a restart).
    if (store.listRuns && !(await store.listRuns()).includes(runId)) return [];
    const board = await openBoard(runId);
    const history = await store.read(runId, 1, board.seq);
    const read = resumeStateFrom(history);
    if ('ended' in read) return [];
    return [...approvalsFrom(history).values()].flatMap((r) => pendingOf(runId, r) ?? []);
  }

  const runtime: Runtime<TBoard> = {
    start,
    pendingApprovals,
    resume,
    listen,
    attach,
    resumeAll,
    ready,
    approve,
    reject,
    async run(input, options) {
      return (await start(input, options)).result;
    },
    runs,
    warnings,
    ...(worker ? { worker } : {}),
    deleteRun: (runId) => serially(() => deleteNow(runId)),
    prune: () => serially(pruneNow),
    async footprint() {
      return {
        live: runs.size,
        schedulers: schedulers.size,
        opening: opening.size,
        childOrdinals: childOrdinals.size,
        // A closed store holds nothing (and refuses to be asked).
        storedRuns: await Promise.resolve(store.listRuns?.()).then(
          (r) => r?.length ?? 0,
          () => 0,
        ),
        endedRuns: await store.endedRuns().then(
          (r) => r.length,
          () => 0,
        ),
        hubCache: hubCacheSize(),
        hubs: hubs.size,
        paused: paused.size,
      };
    },
    async close() {
      closing.abort();
      const pending = [...runs.values()];
      for (const h of pending) h.cancel('the runtime is closing');
      await Promise.all(pending.map((h) => h.result));
      await worker?.close();
      await Promise.all([...hubs].map((h) => h.close()));
      hubs.clear();
      await Promise.all([...children.values()].map((c) => c.close()));
      await retiring;
      // What was kept per run goes: listeners, caches, counters; and the store, when the runtime made it.
      runStarted.clear();
      runDeleted.clear();
      childOrdinals.clear();
      paused.clear();
      rawSources.length = 0;
      source = undefined;
      if (config.store === undefined) await store.close();
    },
  };
  internals.set(runtime as Runtime<unknown>, {
    rawSource,
    descendants,
    deleted: (runId) => {
      for (const listener of runDeleted) listener(runId);
    },
    markChild: () => {
      isChild = true;
    },
  });
  return runtime;
}

const TEAM_NAME = /^[\w-]+$/;

/** What a parent runtime needs of its child runtimes (not part of the public Runtime). */
const internals = new WeakMap<
  Runtime<unknown>,
  {
    rawSource(owns: (runId: string) => boolean): HubSource;
    descendants(): Map<string, Runtime<unknown>>;
    /** A run of this (child) runtime's team was deleted by its top-level run's runtime. */
    deleted(runId: string): void;
    markChild(): void;
  }
>();

/** A child run's limits: its own, tightened by what its parent's activation has left. */
function inherited(limits: RunLimits, parent: ParentLink): RunLimits {
  const budget = tighterBudget(limits.budget, parent.budget);
  return { ...limits, depth: Math.min(limits.depth, parent.depthLeft), ...(budget ? { budget } : {}) };
}

/**
 * Advances a virtual clock whenever the process has nothing else to do, until `until` settles: every
 * promise chain runs to its end (setImmediate comes after them), then the next timer fires.
 */
async function drive(clock: VirtualClock, until: Promise<unknown>): Promise<void> {
  let settled = false;
  void until.finally(() => {
    settled = true;
  });
  while (!settled) {
    await new Promise((r) => setImmediate(r));
    if (!settled && !clock.advanceToNext()) await new Promise((r) => setTimeout(r, 1));
  }
}

const traceparentOf = (e: LogEvent | undefined): string | undefined =>
  e?.type === 'message'
    ? String((e.payload as { traceparent?: unknown }).traceparent ?? '') || undefined
    : undefined;

const traceIdOf = (e: LogEvent | undefined): string =>
  e?.type === 'message' ? String((e.payload as { traceId?: unknown }).traceId ?? '') : '';

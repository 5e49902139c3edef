import type { Snapshot } from 'xstate';
import {
  type ActivationTools,
  AgentHost,
  type AgentHostOptions,
  type AgentRequest,
  type ApprovalDecision,
  type BoardEvent,
  type Budget,
  type ChildRunResult,
  forbiddenCommit,
  handled,
  type RuntimeEvent,
  type SharedWrite,
  type StepHost,
  type StepOutcome,
} from '../actors/index.js';
import type { Clock } from '../blackboard/clock.js';
import {
  type Blackboard,
  type BoardSnapshot,
  type Commit,
  type CommitEvent,
  commitWaitingOut,
  type Path,
  prepareCommit,
  type Unsubscribe,
  waitOut,
} from '../blackboard/index.js';
import { consumeApproval } from '../llm/approval.js';
import type { Usage } from '../llm/index.js';
import type { LogTopic, PayloadOf } from '../protocol/records.js';
import { admit, type Refusal, shallower } from './admission.js';
import { ApprovalDesk, type OperatorDecision } from './approval-desk.js';
import { describeDeclined, type PendingApproval } from './approvals.js';
import { addUsage, budgetLeft, budgetRefusal, emptySpent, exhausted, plus, tighterBudget } from './budget.js';
import type {
  ActivationRecord,
  AgendaItem,
  AgendaRecord,
  Enabler,
  RefusalReason,
  SpanRecord,
} from './events.js';
import { AGENDA_DEFERRED_SHOWN, recordedEnabler, stepCommitKey, TOPICS } from './events.js';
import { idlePoolWarnings } from './idle-pools.js';
import { canFromInitial } from './initial-snapshot.js';
import { quiescentOutcome } from './outcome.js';
import { type RankInput, rankCandidates } from './rank.js';
import type { ResumeState } from './resume.js';
import { carriesTaintedKeys, type TaintSource, TaintTracker } from './taint.js';
import { TaskGraph } from './task-graph.js';
import type {
  Activation,
  AgentState,
  RunOutcome,
  RunSchedulerOptions,
  SchedulerResult,
  Spent,
} from './types.js';
import { WatchIndex } from './watch-index.js';
import { WriteClaims } from './write-claims.js';

const ROOT: Path[] = [[]];
/** Why an ended activation's signal aborts (one shared reason: no stack captured per activation). */
const ACTIVATION_ENDED = new Error('the activation ended');
/**
 * `tools.sleep`: a sleep on the run's clock that rejects when the run is cancelled or the activation is
 * stopped (a timeout), and never settles when it is cut short by its activation's own end: what a machine
 * chained on a sleep it did not wait for does not run after its activation, nor rejects with nobody to
 * handle it.
 */
function activationSleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    clock.sleep(ms, signal).then(resolve, (error: unknown) => {
      if (signal.reason !== ACTIVATION_ENDED) reject(error);
    });
  });
}
/** The options of the scheduler's records (one object, not one per record). */
const BY_SCHEDULER = Object.freeze({ author: 'scheduler' });
/** The signal of candidate events, which never run work. */
const NEVER_ABORTED = new AbortController().signal;

/** A guard tool: throws at once (a rejected promise that a synchronous guard drops would be unhandled). */
const refused = (tool: string) => (): never => {
  throw new Error(`tools.${tool} was called while a guard was deciding: guards only read the board event.`);
};

/**
 * The tools of the board event a candidate's guards are asked about. Guards decide, they do not act (the
 * activation gets tools of its own): one shared object instead of a set of closures per candidate and cycle.
 * A guard that uses one throws, and a throwing guard counts as able to advance, so the activation asks
 * again with real tools.
 */
const GUARD_TOOLS: ActivationTools = Object.freeze({
  signal: NEVER_ABORTED,
  sleep: refused('sleep'),
  charge: refused('charge'),
  model: refused('model'),
  requestApproval: refused('requestApproval'),
  runTools: refused('runTools'),
  startChildRun: refused('startChildRun'),
});
const message = (error: unknown): string => {
  // What a machine throws may be anything: an object without a prototype cannot even become a string.
  try {
    return error instanceof Error ? String(error.message) : String(error);
  } catch {
    return Object.prototype.toString.call(error);
  }
};

/** Groups and agents per group listed in the `shared_writes` warning on the log; the rest are counted. */
const SHARED_WRITES_LISTED = 20;

/**
 * The `shared_writes` warning recorded at a run's start: the paths several agents may write, each with its
 * writers, bounded (a thousand agents sharing a counter is one group, listed by its first 20 ids and a count).
 */
function sharedWritesRecord(shared: readonly SharedWrite[]) {
  return {
    kind: 'shared_writes' as const,
    groups: shared.slice(0, SHARED_WRITES_LISTED).map((g) => ({
      path: g.path,
      agents: g.agents.slice(0, SHARED_WRITES_LISTED),
      ...(g.agents.length > SHARED_WRITES_LISTED
        ? { moreAgents: g.agents.length - SHARED_WRITES_LISTED }
        : {}),
    })),
    ...(shared.length > SHARED_WRITES_LISTED ? { moreGroups: shared.length - SHARED_WRITES_LISTED } : {}),
  };
}

/** An agent (and for a pooled one, an item) the cycle may activate, with what ranks it. */
interface Candidate<TBoard> extends RankInput {
  readonly st: AgentState<TBoard>;
  readonly enabler: Enabler;
}

/**
 * The control component of one run: after each commit it finds the agents whose watched paths changed,
 * asks each machine whether it can advance, ranks the candidates and activates them within the limits
 * (concurrency, budgets, causal depth, the task graph), records every decision on the run's log, and
 * decides how the run ends.
 */
export class RunScheduler<TBoard> {
  private readonly board: Blackboard<TBoard>;
  private readonly agents = new Map<string, AgentState<TBoard>>();
  private readonly watchIndex = new WatchIndex();
  private readonly taskGraph = new TaskGraph();
  private readonly inflight = new Map<string, Activation<TBoard>>();
  private readonly depthOf = new Map<string, number>();
  private readonly pending: Enabler[] = [];
  /** Agents with an enabling change that arrived while busy (or was deferred by a limit): checked again later. */
  private readonly dirty = new Map<string, Enabler>();
  /** The declared writes of what is in flight: a candidate that would certainly conflict waits (see `cycle`). */
  private readonly claims = new WriteClaims();
  /** Agents held back by an activation in flight, by its id: checked again when it ends. */
  private readonly waiting = new Map<string, Map<string, Enabler>>();
  /** Singletons waiting (see `waitsForClaim`) whose `can` was asked and said yes. */
  private readonly askedWhileWaiting = new Set<string>();
  private readonly spent = emptySpent();
  /** What model calls and child runs in flight hold, run-wide (each agent's share is in its `held`). */
  private readonly held = emptySpent();
  private readonly failures: { agentId: string; key?: string; error: string }[] = [];
  private readonly vetoes = new Set<string>();
  /** This run's approval requests. */
  private readonly desk: ApprovalDesk;
  /**
   * Which activations and paths carry tainted data: tracked only under the `tainted` approval policy, its
   * only reader (otherwise every commit would pay a scan of its values for nothing).
   */
  private readonly taint: TaintTracker | undefined;
  private readonly promotions = new Set<string>();
  private cycleQueued = false;
  /** Whether the last `canAdvance` said yes because a guard threw (the attempt then asks again, and fails). */
  private guardThrew = false;
  /** While a cycle decides, records wait here (see `cycle`). */
  private holding: (() => void)[] | undefined;
  private cycles = 0;
  private tick = 0;
  private activations = 0;
  private refusedFor: 'activation_limit' | 'depth' | 'budget' | undefined;
  private done = false;
  private endedAs: RunOutcome | undefined;
  private unsubscribe: Unsubscribe | undefined;
  private resolveResult!: (result: SchedulerResult) => void;
  /** Resolves once, when the run ends. */
  readonly result: Promise<SchedulerResult>;

  constructor(private readonly options: RunSchedulerOptions<TBoard>) {
    this.taint = options.limits.approvalPolicy === 'tainted' ? new TaintTracker() : undefined;
    this.board = options.board;
    this.desk = new ApprovalDesk({
      runId: options.board.runId,
      clock: options.clock,
      timeoutMs: options.limits.approvalTimeoutMs,
      onTimeout: options.limits.approvalTimeout ?? 'reject',
      record: (topic, payload) => this.record(topic, payload),
      persist: (topic, payload) => this.persist(topic, payload),
      version: () => this.board.version,
      onWaiting: () => {
        this.wakeParkedBehindHumans();
        this.queueCycle();
      },
    });
    this.result = new Promise((resolve) => {
      this.resolveResult = resolve;
    });
    options.agents.forEach((def, i) => {
      this.agents.set(def.id, {
        def,
        order: options.order[i] ?? i,
        lastActivated: -1,
        spent: emptySpent(),
        held: emptySpent(),
        breakerOpen: false,
        running: 0,
        host: undefined,
        lastGood: undefined,
        restored: undefined,
        current: undefined,
        taken: new Set(),
        offeredBy: new Map(),
        deferred: new Set(),
      });
      this.watchIndex.add(def.id, def.watches);
    });
  }

  /**
   * Starts scheduling: every agent is considered once against the board. A singleton's actor starts at
   * its first activation (its entry actions run then); until then its guards are asked on the machine's
   * initial snapshot.
   */
  start(): void {
    const shared = this.options.sharedWrites ?? [];
    const resume = this.options.resume;
    if (shared.length > 0 && !resume) this.record(TOPICS.warning, sharedWritesRecord(shared));
    if (resume) this.restore(resume);
    this.unsubscribe = this.board.subscribe({ types: ['commit'] }, (e) => this.onCommit(e as CommitEvent));
    this.pending.push({ seq: this.board.seq, version: this.board.version, paths: ROOT, depth: 0 });
    // The first cycle waits for the next turn of the event loop, so whoever started the run can subscribe,
    // veto or promote before any agent runs.
    this.cycleQueued = true;
    setImmediate(() => {
      this.cycleQueued = false;
      this.cycle();
    });
  }

  /** Restores what the log said, and runs again under their ids the activations that were in flight. */
  private restore(resume: ResumeState): void {
    this.activations = resume.activations;
    this.desk.restore(resume.approvals);
    this.taint?.restore(resume.taint);
    for (const [id, depth] of resume.depthOf) this.depthOf.set(id, depth);
    for (const [agentId, spent] of resume.spent) {
      const st = this.agents.get(agentId);
      if (st) addUsage(st.spent, spent);
      addUsage(this.spent, spent);
    }
    for (const [agentId, snapshot] of resume.actors) {
      const st = this.agents.get(agentId);
      if (st) st.restored = snapshot;
    }
    const snap = this.board.snapshot();
    for (const r of resume.inflight) {
      const st = this.agents.get(r.agentId);
      if (!st) continue;
      const act = this.reserve(st, r.key, r.enabledBy, r.depth, snap, undefined, r.activationId);
      act.attempt = r.attempt;
      act.resumed = true;
      this.launch(act);
    }
  }

  /** Records an operator's answer to one of this run's approval requests. */
  answer(
    requestId: string,
    decision: OperatorDecision,
  ): 'answered' | 'unknown_request' | 'already_answered' | 'ended' {
    // The run has just ended (paused for this very approval, say): its records are no longer written, so
    // the answer is not taken here; the caller writes it on the log for the resumed run.
    if (this.done) return 'ended';
    return this.desk.answer(requestId, decision);
  }

  /** This run's approval requests that have no answer yet. */
  pendingApprovals(): PendingApproval[] {
    return this.desk.pending();
  }

  /** Stops the run now with `cancelled` (in-flight activations are aborted and recorded). */
  cancel(reason: string): void {
    this.finish('cancelled', reason);
  }

  /** Refuses the agent's (or one item's) pending and future activations in this run. */
  veto(agentId: string, key?: string): void {
    this.vetoes.add(key === undefined ? agentId : `${agentId}\u0000${key}`);
  }

  /** Ranks the agent (or one item) ahead of every other candidate from now on. */
  promote(agentId: string, key?: string): void {
    this.promotions.add(key === undefined ? agentId : `${agentId}\u0000${key}`);
    this.queueCycle();
  }

  /**
   * The persisted XState snapshot of an agent's actor: a singleton's as of its last successful activation,
   * or (with `key`) a pooled instance's while it runs.
   */
  persistedSnapshot(agentId: string, key?: string): unknown {
    const st = this.agents.get(agentId);
    if (!st) return undefined;
    if (key !== undefined) {
      for (const act of this.inflight.values())
        if (act.agent === st && act.key === key) return act.host?.persisted();
      return undefined;
    }
    return st.lastGood ? st.def.machine.getPersistedSnapshot(st.lastGood) : st.host?.persisted();
  }

  private onCommit(event: CommitEvent): void {
    this.taint?.observe(event);
    const depth = event.activationId === undefined ? 0 : (this.depthOf.get(event.activationId) ?? 0);
    this.pending.push({
      seq: event.seq,
      version: event.version,
      paths: event.writes,
      depth,
      ...(event.activationId === undefined ? {} : { activationId: event.activationId }),
    });
    this.queueCycle();
  }

  private queueCycle(): void {
    if (this.cycleQueued || this.done) return;
    this.cycleQueued = true;
    queueMicrotask(() => {
      this.cycleQueued = false;
      this.cycle();
    });
  }

  /** One scheduling cycle: concerned agents → `can` → rank → admit → activate. */
  private cycle(): void {
    if (this.done) return;
    const snap = this.board.snapshot();
    if (this.options.goal && this.goalReached(snap.state)) return;
    const concerned = new Map<string, Enabler>();
    for (const change of this.pending.splice(0)) {
      const ids =
        change.paths.length === 1 && change.paths[0]!.length === 0
          ? this.agents.keys()
          : this.watchIndex.match(change.paths);
      for (const id of ids) concerned.set(id, shallower(concerned.get(id), change));
    }
    for (const [id, enabler] of this.dirty) {
      const st = this.agents.get(id)!;
      if (st.running >= st.def.concurrency) continue;
      this.dirty.delete(id);
      concerned.set(id, shallower(concerned.get(id), enabler));
    }
    const candidates: Candidate<TBoard>[] = [];
    const candidate = (st: AgentState<TBoard>, enabler: Enabler, key?: string): Candidate<TBoard> => ({
      st,
      enabler,
      agentId: st.def.id,
      ...(key === undefined ? {} : { key }),
      priority: st.def.priority + (this.isMarked(this.promotions, st.def.id, key) ? 1e9 : 0),
      lastActivated: st.lastActivated,
      order: st.order,
    });
    for (const [id, enabler] of concerned) {
      const st = this.agents.get(id)!;
      // Busy to its limit (a singleton running, a pool with every instance out): checked again when one ends,
      // without asking its guard or listing its items meanwhile (a pool of 1,000 instances would list the
      // items not yet claimed at each of their 1,000 claims).
      if (st.running >= (st.def.kind === 'singleton' ? 1 : st.def.concurrency)) {
        this.dirty.set(id, shallower(this.dirty.get(id), enabler));
        continue;
      }
      // One whose commit would certainly conflict with an activation in flight waits for it to end, and is
      // not even asked `can` meanwhile: fifty agents incrementing one counter run one after the other,
      // each on the version before it, instead of all at once with one winner.
      if (this.waitsForClaim(st, undefined, enabler, snap)) continue;
      if (st.def.kind === 'singleton') {
        candidates.push(candidate(st, enabler));
        continue;
      }
      let keys: string[];
      try {
        keys = [...st.def.pool!.items(snap.state)];
      } catch (error) {
        this.failures.push({ agentId: id, error: `pool.items threw: ${message(error)}` });
        continue;
      }
      for (const key of keys) {
        if (st.taken.has(key)) continue;
        // An item's causal depth comes from the change that first offered it, not from later re-checks.
        if (!st.offeredBy.has(key)) st.offeredBy.set(key, enabler);
        candidates.push(candidate(st, st.offeredBy.get(key)!, key));
      }
    }
    if (candidates.length === 0) {
      this.checkQuiescence();
      return;
    }
    // Ranked first, then asked `can` in that order: the order is the same as asking first, and a
    // candidate held back by one admitted before it in this cycle is never asked.
    const ranked = rankCandidates(candidates);
    const items: AgendaItem[] = [];
    let moreDeferred = 0;
    let deferredListed = 0;
    let rank = 0;
    // Records made while deciding are held so the agenda comes first in the log, then its consequences.
    const held: (() => void)[] = [];
    const admitted: Activation<TBoard>[] = [];
    this.holding = held;
    try {
      for (const c of ranked) {
        if (this.waitsForClaim(c.st, c.key, c.enabler, snap)) continue;
        if (c.key === undefined && !this.canAdvance(c.st, snap, c.enabler)) {
          this.askedWhileWaiting.delete(c.agentId);
          continue;
        }
        const refusal = this.admit(c.st, c.key, c.enabler);
        const deferred = refusal?.reason === 'concurrency';
        if (deferred && deferredListed >= AGENDA_DEFERRED_SHOWN) moreDeferred += 1;
        else {
          if (deferred) deferredListed += 1;
          const why = recordedEnabler(c.enabler);
          items.push({
            agentId: c.st.def.id,
            ...(c.key === undefined ? {} : { key: c.key }),
            rank,
            priority: c.st.def.priority,
            ...(c.st.def.estimate ? { estimate: c.st.def.estimate } : {}),
            ...(c.st.def.budget ? { budgetLeft: budgetLeft(c.st.spent, c.st.def.budget) } : {}),
            why: {
              seq: c.enabler.seq,
              paths: why.paths,
              ...(why.morePaths === undefined ? {} : { morePaths: why.morePaths }),
            },
            decision: refusal?.reason ?? 'activate',
          });
        }
        rank += 1;
        if (refusal) this.refuse(c.st, c.key, c.enabler, refusal.reason, refusal.detail);
        else {
          const act = this.reserve(c.st, c.key, c.enabler, c.enabler.depth + 1, snap, undefined);
          // A singleton whose actor was asked just now (not its initial snapshot: starting it runs entry
          // actions, so it is asked again then).
          if (c.key === undefined && c.st.host !== undefined && !this.guardThrew) act.askedHost = c.st.host;
          admitted.push(act);
        }
      }
    } finally {
      this.holding = undefined;
    }
    if (rank === 0) {
      this.checkQuiescence();
      return;
    }
    this.record(TOPICS.agenda, {
      cycle: ++this.cycles,
      version: snap.version,
      items,
      ...(moreDeferred > 0 ? { moreDeferred } : {}),
    } satisfies AgendaRecord);
    for (const write of held) write();
    for (const act of admitted) this.launch(act);
    this.checkQuiescence();
  }

  /**
   * Whether `st` is held back by an activation in flight whose declared writes certainly collide with its
   * own (see {@link WriteClaims.blocker}): if it can advance, it is parked on that activation and checked
   * again when it ends; if not, it is dropped. One that would be refused anyway (vetoed, its breaker open,
   * too deep, the activation limit reached) does not wait: it is asked `can` and refused now, with the
   * refusal on the log.
   */
  private waitsForClaim(
    st: AgentState<TBoard>,
    key: string | undefined,
    enabler: Enabler,
    snap: BoardSnapshot<TBoard>,
  ): boolean {
    const blocker = this.claims.blocker(st.def.writes, snap.state);
    // One waiting for a human may wait for hours: nothing waits behind it (its commit may then conflict and
    // be retried, the commit rule's way).
    if (blocker === undefined || this.desk.isWaiting(blocker)) return false;
    // Slots are not the question here: only the refusals that waiting would not change.
    if (this.admit(st, key, enabler, false)) return false;
    // Asked once: one that cannot advance is dropped (a later change that concerns it asks again), so only
    // agents really waiting are carried from one blocker to the next, and those are not asked again
    // meanwhile (fifty agents waiting on one counter cost one `can` per update, not fifty).
    if (st.def.kind === 'singleton' && !this.askedWhileWaiting.has(st.def.id)) {
      if (!this.canAdvance(st, snap, enabler)) return true;
      this.askedWhileWaiting.add(st.def.id);
    }
    let parked = this.waiting.get(blocker);
    if (!parked) {
      parked = new Map();
      this.waiting.set(blocker, parked);
    }
    parked.set(st.def.id, shallower(parked.get(st.def.id), enabler));
    return true;
  }

  /** Agents parked behind an activation that now waits for a human are checked again (see `waitsForClaim`). */
  private wakeParkedBehindHumans(): void {
    for (const blocker of [...this.waiting.keys()]) if (this.desk.isWaiting(blocker)) this.unpark(blocker);
  }

  /** The agents parked on `blocker` are checked again at the next cycle, each for its shallowest change. */
  private unpark(blocker: string): void {
    const parked = this.waiting.get(blocker);
    if (!parked) return;
    this.waiting.delete(blocker);
    for (const [id, enabler] of parked) this.dirty.set(id, shallower(this.dirty.get(id), enabler));
  }

  /** Whether a singleton would advance; a throwing guard counts as yes, so its failure is handled as an activation's. */
  private canAdvance(
    st: AgentState<TBoard>,
    snap: BoardSnapshot<TBoard>,
    enabler: Enabler,
    fallbackFor?: { agentId: string; error: string },
  ): boolean {
    this.guardThrew = false;
    if (st.host && st.host.status !== 'active') return false;
    try {
      const event: BoardEvent<TBoard> = {
        type: 'board',
        board: snap.state,
        version: snap.version,
        changed: enabler.paths,
        activation: { id: 'candidate', agentId: st.def.id, depth: enabler.depth + 1, attempt: 1 },
        ...(fallbackFor ? { fallbackFor } : {}),
        tools: GUARD_TOOLS,
      };
      return st.host ? st.host.can(event) : canFromInitial(st.def.machine, event);
    } catch {
      this.guardThrew = true;
      return true;
    }
  }

  /** The admission rule for a candidate; without `slots`, only the refusals that waiting would not change. */
  private admit(
    st: AgentState<TBoard>,
    key: string | undefined,
    enabler: Enabler,
    slots = true,
  ): Refusal | undefined {
    const refusal = admit({
      agentId: st.def.id,
      vetoed: this.isMarked(this.vetoes, st.def.id, key),
      breakerOpen: st.breakerOpen,
      depth: enabler.depth + 1,
      limits: this.options.limits,
      activations: this.activations,
      inflight: slots ? this.inflight.size : 0,
      running: slots ? st.running : 0,
      concurrency: slots ? st.def.concurrency : Number.POSITIVE_INFINITY,
    });
    // A candidate deferred for concurrency is checked again when a slot frees.
    if (refusal?.reason === 'concurrency')
      this.dirty.set(st.def.id, shallower(this.dirty.get(st.def.id), enabler));
    return refusal;
  }

  private refuse(
    st: AgentState<TBoard>,
    key: string | undefined,
    enabler: Enabler,
    reason: RefusalReason,
    detail: string,
  ): void {
    if (reason === 'concurrency') {
      // A deferral is recorded once; the candidate is checked again when a slot frees.
      if (st.deferred.has(key ?? '')) return;
      st.deferred.add(key ?? '');
    }
    if (reason === 'activation_limit') this.refusedFor = 'activation_limit';
    else if (reason === 'depth' && this.refusedFor !== 'activation_limit') this.refusedFor = 'depth';
    else if (reason === 'breaker') this.refusedFor ??= 'budget';
    this.record(TOPICS.activation, {
      phase: 'refused',
      agentId: st.def.id,
      ...(key === undefined ? {} : { key }),
      reason,
      detail,
      enabledBy: recordedEnabler(enabler),
    } satisfies ActivationRecord);
  }

  /** Counts an activation as in flight (so limits see it) before it starts. */
  private reserve(
    st: AgentState<TBoard>,
    key: string | undefined,
    enabler: Enabler,
    depth: number,
    snap: BoardSnapshot<TBoard>,
    delegation: { from: string; task: unknown } | undefined,
    resumedId?: string,
  ): Activation<TBoard> {
    const id = resumedId ?? `${st.def.id}${key === undefined ? '' : `[${key}]`}#${++this.activations}`;
    const act: Activation<TBoard> = {
      id,
      commits: 0,
      approvalCount: 0,
      agent: st,
      key,
      depth,
      enabler,
      controller: new AbortController(),
      startedAt: this.options.clock.now(),
      delegation,
      attempt: 1,
      snapshot: snap,
      host: undefined,
      rejected: undefined,
    };
    this.inflight.set(id, act);
    this.claims.hold(id, st.def.writes);
    this.askedWhileWaiting.delete(st.def.id);
    this.depthOf.set(id, depth);
    st.running += 1;
    st.lastActivated = ++this.tick;
    if (key !== undefined) {
      st.taken.add(key);
      st.offeredBy.delete(key);
    }
    st.deferred.delete(key ?? '');
    if (st.def.kind === 'singleton') st.current = act;
    return act;
  }

  private launch(act: Activation<TBoard>): void {
    void this.runActivation(act).catch((error) => {
      // A bug in the scheduler itself must not hang the run.
      this.failures.push({ agentId: act.agent.def.id, error: `scheduler error: ${message(error)}` });
      this.endActivation(act);
    });
  }

  private async runActivation(act: Activation<TBoard>): Promise<void> {
    const { def } = act.agent;
    for (;;) {
      this.recordStarted(act, {
        phase: 'started',
        activationId: act.id,
        agentId: def.id,
        ...(act.key === undefined ? {} : { key: act.key }),
        depth: act.depth,
        attempt: act.attempt,
        enabledBy: recordedEnabler(act.enabler),
        ...(act.delegation === undefined ? {} : { delegatedBy: act.delegation.from }),
        ...(act.delegation?.fromActivation === undefined
          ? {}
          : { delegatedByActivation: act.delegation.fromActivation }),
      });
      act.commits = 0;
      act.approvalCount = 0;
      act.startedAt = this.options.clock.now();
      const outcome = await this.attempt(act);
      if (this.done || outcome.status === 'aborted') {
        this.record(TOPICS.activation, {
          phase: 'aborted',
          activationId: act.id,
          agentId: def.id,
          reason: this.endedAs ? `the run ended: ${this.endedAs}` : 'stopped',
          ...(this.endedAs === 'awaiting_approval' ? { resumable: true } : {}),
        } satisfies ActivationRecord);
        this.recordSpan(act, 'aborted');
        break;
      }
      if (outcome.status === 'settled' || outcome.status === 'done') {
        if (def.kind === 'singleton') {
          act.agent.lastGood = act.host?.snapshot();
          if (this.options.persistActors && act.agent.lastGood) {
            this.record(TOPICS.actor, {
              agentId: def.id,
              snapshot: def.machine.getPersistedSnapshot(act.agent.lastGood),
            });
          }
        }
        this.record(TOPICS.activation, {
          phase: 'completed',
          activationId: act.id,
          agentId: def.id,
          ...(act.key === undefined ? {} : { key: act.key }),
        } satisfies ActivationRecord);
        this.recordSpan(act, 'ok');
        break;
      }
      const error = act.budgetRefused
        ? `${message(outcome.error)} (after a model call refused for budget: ${act.budgetRefused})`
        : message(outcome.error);
      // A refusal for budget would only be refused again: never retried.
      const retry = act.attempt < def.retry.attempts && act.budgetRefused === undefined;
      const fallback = !retry && def.fallback !== undefined && this.agents.has(def.fallback);
      this.record(TOPICS.activation, {
        phase: 'failed',
        activationId: act.id,
        agentId: def.id,
        ...(act.key === undefined ? {} : { key: act.key }),
        attempt: act.attempt,
        error,
        next: retry ? 'retry' : fallback ? 'fallback' : 'none',
      } satisfies ActivationRecord);
      this.recordSpan(act, 'error', error);
      // A singleton whose actor died starts again from its last good snapshot at the next attempt.
      if (def.kind === 'singleton' && act.host?.status !== 'active') {
        act.agent.host?.stop();
        act.agent.host = undefined;
      }
      if (retry) {
        const backoff = def.retry.backoffMs * 2 ** (act.attempt - 1);
        act.attempt += 1;
        if (backoff > 0) {
          try {
            await this.options.clock.sleep(backoff, act.controller.signal);
          } catch {
            continue;
          }
        }
        act.snapshot = this.board.snapshot();
        continue;
      }
      if (fallback) {
        const fb = this.agents.get(def.fallback!)!;
        const snap = this.board.snapshot();
        const fallbackFor = { agentId: def.id, error };
        // A fallback is admitted like any activation: vetoes, breakers, limits and concurrency apply.
        const refusal = this.admit(fb, undefined, act.enabler);
        if (refusal) this.refuse(fb, undefined, act.enabler, refusal.reason, refusal.detail);
        if (!refusal && this.canAdvance(fb, snap, act.enabler, fallbackFor)) {
          const rescue = this.reserve(fb, undefined, act.enabler, act.depth, snap, act.delegation);
          rescue.fallbackFor = fallbackFor;
          // The error it is handed may carry what the failed activation read.
          if (this.taint?.isTainted(act.id)) this.taintActivation(rescue.id, fb.def.id, 'fallback');
          this.launch(rescue);
        } else
          this.failures.push({
            agentId: def.id,
            ...(act.key === undefined ? {} : { key: act.key }),
            error: `${error} (fallback ${def.fallback} could not advance${refusal ? `: ${refusal.detail}` : ''})`,
          });
      } else {
        this.failures.push({ agentId: def.id, ...(act.key === undefined ? {} : { key: act.key }), error });
      }
      break;
    }
    this.endActivation(act);
  }

  /** One attempt: (pooled) a fresh instance, its `can`, the claim; then the step itself. */
  private async attempt(act: Activation<TBoard>): Promise<StepOutcome> {
    const st = act.agent;
    // The activation's board event, on the snapshot it holds now.
    const eventNow = (): BoardEvent<TBoard> =>
      this.boardEvent(
        act.snapshot,
        act.enabler,
        {
          id: act.id,
          agent: st,
          depth: act.depth,
          key: act.key,
          attempt: act.attempt,
          fallbackFor: act.fallbackFor,
        },
        act,
        act.delegation,
      );
    const event = eventNow();
    if (st.def.kind === 'pooled') {
      const host = this.newHost(
        st,
        this.hostOptions(st, () => act, { key: act.key }),
      );
      act.host = host;
      this.taintFromHost(act);
      const started = host.start();
      if (started.status === 'failed') return started;
      try {
        if (!host.can(event)) {
          host.stop();
          return { status: 'settled' };
        }
      } catch (error) {
        return { status: 'failed', error };
      }
      if (act.attempt === 1) {
        const claimed = await this.claim(act);
        if (!claimed) {
          host.stop();
          return { status: 'settled' };
        }
        act.snapshot = this.board.snapshot();
        // A new event on the claimed snapshot (a spread of the old one would read its lazy `changed`).
        return this.committedStep(act, host, eventNow());
      }
      return this.committedStep(act, host, event);
    }
    if (!st.host) {
      const started = this.createHost(st);
      if (started.status === 'failed') {
        // An actor that could not start (its context or an entry action threw) is started again next time.
        (st.host as StepHost | undefined)?.stop();
        st.host = undefined;
        return started;
      }
    }
    act.host = st.host;
    this.taintFromHost(act);
    if (act.host?.status !== 'active')
      return { status: 'failed', error: new Error(`${st.def.id}'s machine is not running`) };
    // Asked already by the cycle that admitted it, on this snapshot, with no step in between: the machine's
    // own guards decide again as it takes the event.
    const asked = act.attempt === 1 && act.askedHost === act.host;
    act.askedHost = undefined;
    if (!asked) {
      try {
        if (!act.host.can(event)) return { status: 'settled' };
      } catch (error) {
        return { status: 'failed', error };
      }
    }
    return this.committedStep(act, act.host, event);
  }

  /**
   * Steps the machine, and fails the attempt when a commit it made was refused and it did not handle the
   * refusal (`hearsay.rejected`): the retry policy then applies, for singletons and pooled items alike.
   */
  private async committedStep(
    act: Activation<TBoard>,
    host: StepHost,
    event: BoardEvent<TBoard>,
  ): Promise<StepOutcome> {
    act.rejected = undefined;
    const outcome = await this.gatedStep(act, host, event);
    if ((outcome.status === 'settled' || outcome.status === 'done') && act.rejected)
      return { status: 'failed', error: new Error(act.rejected) };
    return outcome;
  }

  /**
   * Sends the board event, unless it would enter a state tagged `irreversible`: then a human (or the
   * approval policy) must approve entering it first. A rejection is sent to the machine as
   * `hearsay.approval.rejected` if it handles it; otherwise the activation ends without the step.
   */
  private async gatedStep(
    act: Activation<TBoard>,
    host: StepHost,
    event: BoardEvent<TBoard>,
  ): Promise<StepOutcome> {
    let state: string | undefined;
    try {
      state = host.entersTagged(event, 'irreversible');
    } catch (error) {
      return { status: 'failed', error };
    }
    if (state !== undefined) {
      let decision: ApprovalDecision;
      const action = `enter:${state}`;
      const args = { agent: act.agent.def.id, state, version: event.version };
      try {
        decision = await event.tools.requestApproval({
          action,
          args,
          summary: `${act.agent.def.id} enters "${state}" (marked irreversible) at board version ${event.version}`,
        });
      } catch {
        return { status: 'aborted' };
      }
      if (decision.approved) {
        // Entering the state is the irreversible action: its approval is used now, on the log, first.
        const used = await consumeApproval([decision], { name: action, args }, { runId: this.board.runId });
        if (!used.ok) return { status: 'failed', error: new Error(used.message) };
      } else {
        const rejected = {
          type: 'hearsay.approval.rejected' as const,
          state,
          by: decision.by,
          reason: decision.reason,
        };
        if (!host.accepts(rejected)) return { status: 'settled' };
        return this.within(act, () => host.step(rejected, act.controller.signal));
      }
    }
    return this.within(act, () => host.step(event, act.controller.signal));
  }

  private async claim(act: Activation<TBoard>): Promise<boolean> {
    const pool = act.agent.def.pool!;
    // An activation resumed after a crash may have claimed its item already (only those need to look).
    if (
      act.resumed &&
      (await waitOut(() => this.board.findCommit(`${act.id}:claim`), {
        isOutage: (e) => this.board.isOutage(e),
        signal: act.controller.signal,
      }))
    )
      return true;
    const { value, commit } = prepareCommit(act.snapshot, (d) => pool.claim(d, act.key!), {
      author: act.agent.def.id,
      activationId: act.id,
      idempotencyKey: `${act.id}:claim`,
      limits: this.board.limits,
    });
    if (value === false || !commit) return false;
    // Keyed: waited out through an outage without claiming twice.
    const r = await commitWaitingOut(this.board, commit, act.controller.signal);
    if (r.ok) return true;
    this.refuse(act.agent, act.key, act.enabler, 'claimed_elsewhere', r.error.message);
    return false;
  }

  /**
   * The span of one attempt of an activation, on the log: its parent is the activation whose commit
   * enabled it (the causal chain through the board), so a waterfall can be drawn from the log alone.
   */
  private recordSpan(act: Activation<TBoard>, status: SpanRecord['status'], error?: string): void {
    const parent = act.enabler.activationId;
    this.record(TOPICS.span, {
      spanId: act.attempt === 1 ? act.id : `${act.id}#${act.attempt}`,
      ...(parent === undefined ? {} : { parentSpanId: parent }),
      name: `agent.${act.agent.def.id}`,
      start: act.startedAt,
      end: this.options.clock.now(),
      status,
      attributes: {
        agentId: act.agent.def.id,
        activationId: act.id,
        depth: act.depth,
        attempt: act.attempt,
        ...(act.key === undefined ? {} : { key: act.key }),
        ...(error === undefined ? {} : { error: error.slice(0, 500) }),
      },
    } satisfies SpanRecord);
  }

  private endActivation(act: Activation<TBoard>): void {
    if (!this.inflight.delete(act.id)) return;
    // What the activation started and left running (a sleep nobody awaits, a model call) stops with it,
    // and lets go of the listeners it put on the signal.
    act.controller.abort(ACTIVATION_ENDED);
    act.agent.running -= 1;
    this.claims.release(act.id);
    this.unpark(act.id);
    if (act.agent.current === act) act.agent.current = undefined;
    if (act.delegation !== undefined) this.taskGraph.remove(act.delegation.from, act.agent.def.id);
    if (act.agent.def.kind === 'pooled') {
      act.host?.stop();
      if (act.key !== undefined) act.agent.taken.delete(act.key);
    }
    this.queueCycle();
  }

  private createHost(st: AgentState<TBoard>): StepOutcome {
    st.host = this.newHost(st, {
      ...this.hostOptions(st, () => st.current, undefined),
      ...(st.lastGood !== undefined
        ? { snapshot: st.def.machine.getPersistedSnapshot(st.lastGood) }
        : st.restored !== undefined
          ? { snapshot: st.restored as Snapshot<unknown> }
          : {}),
    });
    const started = st.host.start();
    if (started.status === 'settled') st.lastGood = st.host.snapshot();
    return started;
  }

  /**
   * A singleton's actor failed while none of its activations ran (a delayed transition's action threw or
   * rejected): recorded, and counted among the run's failures. An actor that died starts again from its
   * last good snapshot at its next activation.
   */
  private failedBetween(st: AgentState<TBoard>, error: unknown): void {
    const text = message(error);
    this.record(TOPICS.warning, { kind: 'failed_between_activations', agentId: st.def.id, error: text });
    this.failures.push({ agentId: st.def.id, error: `between activations: ${text}` });
    const host = st.host;
    if (host && host.status !== 'active') {
      st.host = undefined;
      // Not from inside the actor's own notification.
      queueMicrotask(() => host.stop());
    }
  }

  private newHost(st: AgentState<TBoard>, options: AgentHostOptions): StepHost {
    return this.options.hostFor?.(st.def, options, this.board.runId) ?? new AgentHost(options);
  }

  private hostOptions(st: AgentState<TBoard>, current: () => Activation<TBoard> | undefined, input: unknown) {
    const clock = this.options.clock;
    return {
      machine: st.def.machine,
      ...(input === undefined ? {} : { input }),
      clock: {
        setTimeout: (fn: (...args: unknown[]) => void, ms: number) => clock.setTimeout(fn, ms),
        clearTimeout: (id: unknown) => clock.clearTimeout(id),
      },
      onRequest: (req: AgentRequest) => this.handle(st, current(), req),
      onIdleFailure: (error: unknown) => {
        // During an activation the failure fails its next step; between activations it is recorded here.
        if (current() !== undefined || this.done) return false;
        this.failedBetween(st, error);
        return true;
      },
      onTransition: (from: string, to: string, eventType: string) => {
        const act = current();
        this.record(TOPICS.transition, {
          agentId: st.def.id,
          ...(act?.key === undefined ? {} : { key: act.key }),
          ...(act ? { activationId: act.id } : {}),
          from,
          to,
          event: eventType,
        });
      },
    };
  }

  /** Performs what a machine asked for. Returns the event to send back, if any. */
  private handle(
    st: AgentState<TBoard>,
    act: Activation<TBoard> | undefined,
    req: AgentRequest,
  ): Promise<RuntimeEvent | undefined> | undefined {
    if (this.done) return undefined;
    switch (req.type) {
      case 'hearsay.commit':
        return this.commitFor(st, act, req.recipe as (draft: unknown) => unknown);
      case 'hearsay.patch':
        return this.commitFor(st, act, req);
      case 'hearsay.publish':
        return this.board.publish(req.topic, req.payload, { author: st.def.id }).then((r) => {
          if (!r.ok) throw new Error(r.error.message);
          return undefined;
        });
      case 'hearsay.delegate':
        this.delegate(st, act, req.to, req.task);
        return undefined;
      case 'hearsay.charge':
        this.charge(st, req.usage);
        return undefined;
    }
  }

  /** Runs `fn` in the activation's trace context, when the run is traced. */
  private within<T>(act: Activation<TBoard>, fn: () => T): T {
    return this.options.observer ? this.options.observer.within(act.id, fn) : fn();
  }

  /** Commits what a recipe does to the activation's board, or a commit a remote agent prepared. */
  private async commitFor(
    st: AgentState<TBoard>,
    act: Activation<TBoard> | undefined,
    change: ((draft: unknown) => unknown) | Pick<Commit, 'baseVersion' | 'reads' | 'patches'>,
  ): Promise<RuntimeEvent | undefined> {
    // The n-th commit of an activation has a stable key, so an attempt re-run after a failure or a crash
    // cannot apply a commit that already landed.
    const who = {
      author: st.def.id,
      ...(act ? { activationId: act.id, idempotencyKey: stepCommitKey(act.id, ++act.commits) } : {}),
    };
    const commit: Commit | undefined =
      typeof change === 'function'
        ? prepareCommit(act?.snapshot ?? this.board.snapshot(), change as never, {
            ...who,
            limits: this.board.limits,
          }).commit
        : { baseVersion: change.baseVersion, reads: change.reads, patches: change.patches, ...who };
    if (!commit) return undefined;
    const forbidden = forbiddenCommit(
      st.def,
      commit.patches.map((p) => p.path),
    );
    const result = forbidden
      ? { ok: false as const, error: forbidden }
      : await commitWaitingOut(this.board, commit, act?.controller.signal);
    if (result.ok) {
      if (act) act.snapshot = this.board.snapshot();
      return { type: 'hearsay.committed', version: result.event.version };
    }
    const rejected: RuntimeEvent = {
      type: 'hearsay.rejected',
      code: result.error.code,
      message: result.error.message,
    };
    this.options.observer?.note('commit_refused', {
      agentId: st.def.id,
      ...(act ? { activationId: act.id, attempt: act.attempt } : {}),
      code: result.error.code,
    });
    // A machine that handles refusals decides what to do; otherwise the activation fails (and may be retried).
    const handles = act?.host?.accepts(rejected) ?? false;
    if (!handles && act) act.rejected ??= `commit refused (${result.error.code}): ${result.error.message}`;
    return handles ? rejected : undefined;
  }

  private delegate(
    st: AgentState<TBoard>,
    act: Activation<TBoard> | undefined,
    to: string,
    task: unknown,
  ): void {
    const target = this.agents.get(to);
    const enabler: Enabler = act?.enabler ?? {
      seq: this.board.seq,
      version: this.board.version,
      paths: ROOT,
      depth: 0,
    };
    const depth = (act?.depth ?? 0) + 1;
    const cycle = target ? this.taskGraph.cycleIf(st.def.id, to) : undefined;
    if (!target || cycle) {
      this.record(TOPICS.delegation, {
        from: st.def.id,
        to,
        task,
        accepted: false,
        ...(cycle ? { cycle } : { reason: `no agent "${to}"` }),
      });
      if (target)
        this.refuse(
          target,
          undefined,
          enabler,
          'cycle',
          `delegation ${cycle!.join(' → ')} would close a cycle`,
        );
      return;
    }
    const snap = this.board.snapshot();
    const refusal = this.admit(target, undefined, { ...enabler, depth: depth - 1 });
    if (refusal) {
      this.record(TOPICS.delegation, { from: st.def.id, to, task, accepted: false, reason: refusal.detail });
      this.refuse(target, undefined, enabler, refusal.reason, refusal.detail);
      return;
    }
    this.taskGraph.add(st.def.id, to);
    this.record(TOPICS.delegation, { from: st.def.id, to, task, accepted: true });
    this.launch(
      this.reserve(target, undefined, enabler, depth, snap, {
        from: st.def.id,
        task,
        ...(act ? { fromActivation: act.id } : {}),
      }),
    );
  }

  private charge(
    st: AgentState<TBoard>,
    usage: Partial<Usage>,
    source: 'model' | 'agent' | 'child' = 'agent',
  ): void {
    this.record(TOPICS.usage, { agentId: st.def.id, usage, source });
    addUsage(st.spent, usage);
    addUsage(this.spent, usage);
    if (!st.breakerOpen && exhausted(st.spent, st.def.budget)) {
      st.breakerOpen = true;
      this.record(TOPICS.breaker, { agentId: st.def.id, spent: { ...st.spent }, budget: st.def.budget });
    }
    const runBudget = this.options.limits.budget;
    if (exhausted(this.spent, runBudget)) {
      const { tokens, cost } = this.spent;
      this.finish(
        'budget_exceeded',
        `the run spent ${tokens} tokens and ${cost} of its budget ${JSON.stringify(runBudget)}`,
      );
    }
  }

  /**
   * A model call of the agent was refused before sending: it needs more tokens than a budget has left.
   * When the run's budget, spent alone, cannot pay for it the run ends `budget_exceeded`; when the agent's
   * cannot, its breaker opens (it is not activated again). Either way the activation is not retried.
   */
  private refusedForBudget(
    st: AgentState<TBoard>,
    act: Activation<TBoard> | undefined,
    needed: number,
  ): void {
    const verdict = budgetRefusal({
      needed,
      agentLeft: budgetLeft(st.spent, st.def.budget).tokens,
      runLeft: budgetLeft(this.spent, this.options.limits.budget).tokens,
    });
    if (act) act.budgetRefused ??= verdict.detail;
    if (verdict.stop === 'run') {
      this.finish('budget_exceeded', `${st.def.id}: ${verdict.detail}`);
    } else if (verdict.stop === 'agent' && !st.breakerOpen) {
      st.breakerOpen = true;
      this.refusedFor ??= 'budget';
      this.record(TOPICS.breaker, {
        agentId: st.def.id,
        spent: { ...st.spent },
        budget: st.def.budget,
        refused: { needed, detail: verdict.detail },
      });
    }
  }

  private boardEvent(
    snap: BoardSnapshot<TBoard>,
    enabler: Enabler,
    who: {
      id: string;
      agent: AgentState<TBoard>;
      depth: number;
      key?: string | undefined;
      attempt?: number;
      fallbackFor?: { agentId: string; error: string } | undefined;
    },
    act?: Activation<TBoard>,
    delegation?: { from: string; task: unknown },
  ): BoardEvent<TBoard> {
    const signal = act?.controller.signal ?? NEVER_ABORTED;
    const taint = this.taint;
    const event: BoardEvent<TBoard> = {
      type: 'board',
      board: this.boardView(snap.state, who.id, who.agent.def.id),
      version: snap.version,
      changed: enabler.paths,
      activation: {
        id: who.id,
        agentId: who.agent.def.id,
        ...(act?.traceparent === undefined ? {} : { traceparent: act.traceparent }),
        ...(who.key === undefined ? {} : { key: who.key }),
        depth: who.depth,
        attempt: who.attempt ?? 1,
      },
      ...(delegation ? { delegation } : {}),
      ...(who.fallbackFor ? { fallbackFor: who.fallbackFor } : {}),
      tools: {
        signal,
        // A tool's promise a machine drops (a sleep cut short by the run's end) must not go unhandled.
        sleep: (ms) => handled(activationSleep(this.options.clock, ms, signal)),
        charge: (usage) => {
          if (!this.done) this.charge(who.agent, usage);
        },
        requestApproval: (request) => {
          if (!act) return Promise.reject(new Error('Approvals are requested from inside an activation.'));
          if (this.done) return Promise.reject(new Error('The run has ended.'));
          const asker = {
            activationId: act.id,
            agentId: act.agent.def.id,
            signal: act.controller.signal,
            ordinal: ++act.approvalCount,
          };
          // What the activation read decides, not what it watches (see TaintTracker and its board view).
          const byPolicy =
            this.options.limits.approvalPolicy === 'tainted' && !this.taint!.isTainted(act.id)
              ? { approved: true as const, by: 'policy', comment: 'the activation read no tainted data' }
              : undefined;
          return this.desk.request(asker, request, byPolicy);
        },
        runTools: (calls, tools, opts) => {
          if (!this.options.runTools)
            return Promise.reject(
              new Error('This runtime runs no tools (the scheduler was given no runner).'),
            );
          // Tool results come from outside: what the activation does next derives from untrusted data. It is
          // marked once the tools have run, not before: the approvals they ask for on the way are decided on
          // what the activation had read until then (its arguments are its own, or tainted already).
          const tainted = (): void => this.taintActivation(who.id, who.agent.def.id, 'tool');
          return this.options
            .runTools(
              {
                activationId: who.id,
                agentId: who.agent.def.id,
                signal,
                record: (topic, payload) => this.record(topic, payload),
                now: () => this.options.clock.now(),
                runId: this.board.runId,
                requestApproval: (request) => event.tools.requestApproval(request),
              },
              calls,
              tools,
              opts,
            )
            .finally(tainted);
        },
        startChildRun: async (team, input, opts = {}) => {
          if (!this.options.startChild)
            throw new Error(
              'This runtime has no child teams (createRuntime({ children: { name: config } })).',
            );
          if (this.done) throw new Error('The run has ended.');
          // A child run's board comes from its own agents' model calls: what this activation does with it
          // derives from untrusted data, as after a model call of its own.
          this.taint?.markActivation(who.id, who.agent.def.id);
          // The child holds what it is given until it ends and is charged, so children started at once
          // cannot each spend the same budget left.
          const left = tighterBudget(this.left(who.agent), opts.budget);
          const release = this.hold(who.agent, left ?? {});
          try {
            return await this.runChild(who, team, input, opts, left, signal);
          } finally {
            release();
          }
        },
        model: (request) => {
          // Model output is untrusted: whatever this activation does next derives from tainted data.
          this.taint?.markActivation(who.id, who.agent.def.id);
          if (!this.options.callModel) {
            throw new Error(
              `Agent "${who.agent.def.id}" called a model, but the runtime has no model client (createRuntime({ models })).`,
            );
          }
          return this.options.callModel(
            {
              agentId: who.agent.def.id,
              activationId: who.id,
              tier: who.agent.def.model?.tier ?? 'large',
              signal,
              watches: who.agent.def.watches as readonly Path[],
              board: snap.state,
              agentBudget: who.agent.def.budget,
              agentSpent: who.agent.spent,
              runBudget: this.options.limits.budget,
              runSpent: this.spent,
              left: () => this.left(who.agent),
              hold: (tokens) => this.hold(who.agent, { tokens }),
              degradeAt: this.options.limits.degradeAt ?? 0.8,
              now: () => this.options.clock.now(),
              record: (topic, payload) => this.record(topic, payload),
              ...(this.options.observer
                ? {
                    note: (payload: Record<string, unknown>) =>
                      this.options.observer!.note('model_summary', payload),
                  }
                : {}),
              charge: (usage) => {
                if (!this.done) this.charge(who.agent, usage, 'model');
              },
              refusedForBudget: (needed) => {
                if (!this.done) this.refusedForBudget(who.agent, act, needed);
              },
            },
            request,
          );
        },
      },
    };
    // Read lazily under taint tracking: a changed path's segments (a record's keys) were chosen by its
    // writer, so reading them taints the activation when a tainted writer chose them. One that never reads
    // `changed` is not. (Without taint tracking it stays a plain property.)
    if (taint)
      Object.defineProperty(event, 'changed', {
        enumerable: true,
        configurable: true,
        get: () => {
          if (who.id !== 'candidate' && carriesTaintedKeys(taint, this.board.schema, enabler.paths))
            this.taintActivation(who.id, who.agent.def.id, 'changed');
          return enabler.paths;
        },
      });
    return event;
  }

  /**
   * What is left of an agent's and the run's budgets, the tighter per limit: neither spent nor held by its
   * model calls and child runs in flight. Undefined when neither sets a limit.
   */
  private left(st: AgentState<TBoard>): Budget | undefined {
    return tighterBudget(
      budgetLeft(plus(st.spent, st.held), st.def.budget),
      budgetLeft(plus(this.spent, this.held), this.options.limits.budget),
    );
  }

  /**
   * Holds tokens and money against an agent's and the run's budgets (a model call's estimate, a child run's
   * allowance) until the returned function is called: what is held counts as spent when the next call or
   * child asks what is left.
   */
  private hold(st: AgentState<TBoard>, amount: Budget): () => void {
    const tokens = amount.tokens ?? 0;
    const cost = amount.cost ?? 0;
    for (const held of [st.held, this.held]) {
      held.tokens += tokens;
      held.cost += cost;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const held of [st.held, this.held]) {
        held.tokens -= tokens;
        held.cost -= cost;
      }
    };
  }

  /**
   * The board an activation is shown: under the `tainted` policy a view that marks the activation tainted
   * when it reads a tainted value (in guards, actions, invoked actors, tools: wherever the event goes).
   */
  private boardView(state: TBoard, activationId: string, agentId: string): TBoard {
    if (!this.taint || activationId === 'candidate') return state;
    return this.taint.view(state, () => this.taintActivation(activationId, agentId, 'read'));
  }

  /** Marks an activation tainted, and records why the first time (a resumed run rebuilds it from that). */
  private taintActivation(activationId: string, agentId: string, source: TaintSource): void {
    if (this.taint?.markActivation(activationId, agentId))
      this.record(TOPICS.taint, { activationId, agentId, source } satisfies {
        activationId: string;
        agentId: string;
        source: TaintSource;
      });
  }

  /**
   * An activation whose machine runs in another process (a remote or queued host) reads where its reads
   * cannot be seen: it counts as tainted. So does one delegated by a tainted activation (its task).
   */
  private taintFromHost(act: Activation<TBoard>): void {
    if (!this.taint) return;
    const agentId = act.agent.def.id;
    if (act.host && !(act.host instanceof AgentHost)) this.taintActivation(act.id, agentId, 'remote');
    const from = act.delegation?.fromActivation;
    if (from !== undefined && this.taint.isTainted(from)) this.taintActivation(act.id, agentId, 'delegation');
    // A singleton's actor keeps its context and state: once one activation of it was tainted, what it
    // carries into the next may be tainted data. (A pooled instance is fresh for each item.)
    if (act.agent.def.kind === 'singleton' && this.taint.isAgentTainted(agentId))
      this.taintActivation(act.id, agentId, 'state');
  }

  /** Starts a child run for an activation under the budget it was given, and charges its spend here. */
  private async runChild(
    who: { id: string; agent: AgentState<TBoard>; depth: number; attempt?: number },
    team: string,
    input: unknown,
    opts: { readonly budget?: Budget },
    left: Budget | undefined,
    signal: AbortSignal,
  ): Promise<ChildRunResult> {
    const result = await this.options.startChild!(
      {
        parentRunId: this.board.runId,
        activationId: who.id,
        agentId: who.agent.def.id,
        attempt: who.attempt ?? 1,
        depth: who.depth,
        depthLimit: this.options.limits.depth,
        budgetLeft: left ?? {},
        signal,
        record: (topic, payload) => this.record(topic, payload),
      },
      team,
      input,
      opts,
    );
    // What the child spent is this agent's spend: the parent's budgets and breakers see it.
    const u = result.usage;
    if (!this.done && (u.tokens > 0 || u.cost > 0))
      this.charge(
        who.agent,
        { tokens: u.tokens, inputTokens: u.inputTokens, outputTokens: u.outputTokens, cost: u.cost },
        'child',
      );
    return result;
  }

  private isMarked(set: Set<string>, agentId: string, key: string | undefined): boolean {
    return set.has(agentId) || (key !== undefined && set.has(`${agentId}\u0000${key}`));
  }

  private goalReached(state: TBoard): boolean {
    let reached = false;
    try {
      reached = this.options.goal!(state);
    } catch (error) {
      this.finish('failed', `the goal predicate threw: ${message(error)}`);
      return true;
    }
    if (reached) this.finish('completed', 'the goal was reached');
    return reached;
  }

  private checkQuiescence(): void {
    if (this.done || this.cycleQueued || this.pending.length > 0) return;
    if (this.inflight.size > 0) {
      // Everything in flight waits for a human: the run pauses as awaiting_approval (resume it once answered).
      const blocked = this.desk.blockedActivations();
      // The common case, checked first: something in flight is not waiting for a human.
      if (blocked.size < this.inflight.size) return;
      // An agent marked to be checked again while its own activations fill its slots cannot move either.
      const dirtyCanMove = [...this.dirty.keys()].some((id) => {
        const st = this.agents.get(id)!;
        return st.running < st.def.concurrency;
      });
      if (!dirtyCanMove && [...this.inflight.keys()].every((id) => blocked.has(id))) {
        const ids = this.desk.pendingIds();
        this.finish('awaiting_approval', `${ids.length} approval(s) pending: ${ids.join(', ')}`);
      }
      return;
    }
    if (this.options.goal && this.goalReached(this.board.state)) return;
    if (this.dirty.size > 0) {
      this.queueCycle();
      return;
    }
    const { outcome, reason } = quiescentOutcome({
      refusedFor: this.refusedFor,
      depthLimit: this.options.limits.depth,
      maxActivations: this.options.limits.maxActivations,
      failures: this.failures,
      breakers: [...this.agents.values()].filter((a) => a.breakerOpen).map((a) => a.def.id),
      hasGoal: this.options.goal !== undefined,
    });
    this.finish(outcome, reason);
  }

  /** What the run's agents were charged so far, in all. */
  usage(): Spent {
    return { ...this.spent };
  }

  /** Ends the run once: aborts what is in flight, records the outcome, resolves `result`. */
  private finish(outcome: RunOutcome, why: string): void {
    if (this.done) return;
    this.done = true;
    this.desk.close();
    const declined = this.desk.declined();
    // A human-in-the-loop step that did not happen must not read as success.
    const reason = declined.length > 0 ? `${why}; ${describeDeclined(declined)}` : why;
    this.endedAs = outcome;
    this.unsubscribe?.();
    for (const act of this.inflight.values()) act.controller.abort(new Error(`run ${outcome}`));
    for (const st of this.agents.values()) st.host?.stop();
    const byAgent: Record<string, Spent> = Object.create(null);
    for (const [id, st] of this.agents) byAgent[id] = { ...st.spent };
    // A paused run has not ended: its pools may yet get work.
    const warnings =
      outcome === 'awaiting_approval' ? [] : idlePoolWarnings(this.agents.values(), this.board.state);
    // On the log ahead of the outcome (the run is done: `record` would drop them).
    for (const w of warnings)
      void this.write(TOPICS.warning, { kind: w.code, agentId: w.agentId, message: w.message }).catch(
        () => undefined,
      );
    const result: SchedulerResult = {
      outcome,
      reason,
      activations: this.activations,
      failures: [...this.failures],
      declined,
      usage: { ...this.spent, byAgent },
      warnings,
    };
    // The outcome record is queued on the board behind everything recorded before it.
    void this.write(TOPICS.outcome, {
      outcome,
      reason,
      usage: { ...this.spent },
      ...(declined.length > 0 ? { declined } : {}),
    })
      // An outcome record that could not be written (the runtime closed during an outage) still ends the run.
      .catch(() => undefined)
      .finally(() => this.resolveResult(result));
  }

  /** Appends a scheduler record to the log, without waiting (records keep log order through the board's queue). */
  private record<T extends LogTopic>(topic: T, payload: PayloadOf<T>): void {
    if (this.holding) {
      // Written once the cycle's agenda is on the log (holding is over by then).
      this.holding.push(() => this.record(topic, payload));
      return;
    }
    if (this.done && topic !== TOPICS.outcome && topic !== TOPICS.activation && topic !== TOPICS.span) return;
    void this.write(topic, payload);
  }

  /** Appends a scheduler record and resolves once it is on the log (false once the run has ended or on failure). */
  private persist<T extends LogTopic>(topic: T, payload: PayloadOf<T>): Promise<boolean> {
    if (this.done) return Promise.resolve(false);
    return this.write(topic, payload).then(
      (r) => r.ok,
      () => false,
    );
  }

  /** Tells the observer and appends the record, whatever the run's state (callers decide whether to). */
  private write<T extends LogTopic>(
    topic: T,
    payload: PayloadOf<T>,
  ): ReturnType<Blackboard<TBoard>['publish']> {
    this.options.observer?.record(topic, payload);
    return this.board.publish(topic, payload, BY_SCHEDULER);
  }

  /**
   * Records the start of an attempt (never held: attempts start after their cycle's records). When the run
   * is traced its span begins here, and its traceparent goes on the record: the log links it to its trace.
   */
  private recordStarted(
    act: Activation<TBoard>,
    payload: Extract<ActivationRecord, { phase: 'started' }>,
  ): void {
    const observer = this.options.observer;
    observer?.record(TOPICS.activation, payload);
    act.traceparent = observer?.traceparent(act.id);
    const traceparent = act.traceparent;
    void this.board.publish(
      TOPICS.activation,
      traceparent ? { ...payload, traceparent } : payload,
      BY_SCHEDULER,
    );
  }
}

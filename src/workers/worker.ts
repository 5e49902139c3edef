import { hostname } from 'node:os';
import { type Tracer, trace } from '@opentelemetry/api';
import { type AgentDefinition, forbiddenCommit } from '../actors/index.js';
import {
  type AnySchema,
  type Blackboard,
  type BoardSnapshot,
  type Clock,
  commitWaitingOut,
  createBlackboard,
  type LogEvent,
  type Store,
  waitOut,
} from '../blackboard/index.js';
import type { ModelClient, Usage } from '../llm/index.js';
import { stepCommitKey } from '../scheduler/index.js';
import { describe, executeStep } from './execute-step.js';
import {
  type ActivationQueue,
  activationKeyOf,
  type Claim,
  fenceOf,
  outage,
  type StepResult,
} from './types.js';

/** How a worker claims and holds steps (`createRuntime({ role: 'worker', worker })`). */
export interface WorkerOptions {
  /** The queue this team's steps go through (default `default`); runtimes of one team share it. */
  readonly queue?: string;
  /**
   * Steps this process runs at once (default 16). A step whose result is being recorded no longer counts:
   * the next one is claimed meanwhile.
   */
  readonly concurrency?: number;
  /** How long a claim holds without a heartbeat, by the database clock (default 10,000 ms). */
  readonly leaseMs?: number;
  /** Heartbeats per lease (default 3): the lease is renewed every `leaseMs / heartbeats`. */
  readonly heartbeats?: number;
  /** A step whose lease expired this many times fails instead of being claimed again (default 3). */
  readonly maxClaims?: number;
  /** Names this worker on the rows it claims (default: host name, pid and a random suffix). */
  readonly id?: string;
  /** Boards of runs this worker has not touched for this long are closed (default 30,000 ms). */
  readonly idleBoardMs?: number;
}

/** What a worker has done so far. */
export interface WorkerStats {
  /** Steps claimed (reclaims of another worker's expired step included). */
  claimed: number;
  /** Claims of steps another worker had held before (its lease expired). */
  reclaimed: number;
  /** Steps run to an end and recorded. */
  completed: number;
  /** Steps whose lease this worker lost while running them: stopped, nothing more committed. */
  leaseLost: number;
  /** Commits and completions the store refused because the lease was lost. */
  fenced: number;
}

interface WorkerInit {
  readonly queue: ActivationQueue;
  readonly store: Store;
  readonly schema: AnySchema;
  readonly initial: unknown;
  readonly agents: readonly AgentDefinition<unknown>[];
  readonly models?: ModelClient | undefined;
  readonly clock: Clock;
  readonly tracer?: Tracer;
  readonly options: WorkerOptions;
}

/**
 * Runs the steps a team's schedulers dispatch (in any process) through the store's activation queue: it
 * claims them (`FOR UPDATE SKIP LOCKED`, a lease on the database clock, a fence token), renews the lease
 * while a step runs, commits with the fence, and records the result if the lease still holds. A step whose
 * lease is lost is stopped; whatever it tries to commit after is refused as `fenced`.
 */
export class ActivationWorker {
  readonly id: string;
  readonly stats: WorkerStats = { claimed: 0, reclaimed: 0, completed: 0, leaseLost: 0, fenced: 0 };
  private readonly agents: Map<string, AgentDefinition<unknown>>;
  private readonly running = new Map<string, Running>();
  /** Steps of {@link running} not yet ended (those recording their result take no slot). */
  private stepping = 0;
  private readonly boards = new Map<string, BoardEntry>();
  /** Claims being given back as the worker closes. */
  private readonly releasing = new Set<Promise<void>>();
  private readonly queueName: string;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly maxClaims: number;
  private stopHints: (() => void) | undefined;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private claiming = false;
  /** The claiming loop while it runs: close waits for a claim in flight, and gives back what it got. */
  private claimLoop: Promise<void> | undefined;
  private again = false;
  private closed = false;
  /** Aborted as the worker closes: whatever waits out an outage for it stops waiting. */
  private readonly closing = new AbortController();

  constructor(private readonly init: WorkerInit) {
    const o = init.options;
    this.agents = new Map(init.agents.map((a) => [a.id, a]));
    this.queueName = o.queue ?? 'default';
    this.concurrency = o.concurrency ?? 16;
    this.leaseMs = o.leaseMs ?? 10_000;
    this.maxClaims = o.maxClaims ?? 3;
    this.id = o.id ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1)
      throw new TypeError('worker.concurrency must be a positive integer.');
    // At most a day: a timer cannot wait much longer (Node fires an overflowing one every millisecond).
    if (!(this.leaseMs >= 100 && this.leaseMs <= 86_400_000))
      throw new TypeError('worker.leaseMs must be from 100 ms to one day (86,400,000 ms).');
  }

  /** Starts claiming: now, on every hint that a step was queued or ended, and on the store's poll. */
  start(): void {
    this.stopHints = this.init.queue.onHint((hint) => {
      if ('ended' in hint) {
        // A step this worker runs was cancelled (or taken over): the heartbeat tells, now.
        const r = this.running.get(activationKeyOf(hint.ended));
        if (r) void this.beat(r);
      }
      this.kick();
    });
    const idle = this.init.options.idleBoardMs ?? 30_000;
    // Not unref'd: a worker keeps its process alive until it is closed. Through a database outage nothing
    // else may (its connections are gone, and the store's timers to reconnect are unref'd): a worker
    // process would otherwise end quietly in the middle of the outage it should wait out.
    this.sweeper = setInterval(() => this.sweep(idle), Math.min(idle, 5_000));
    this.kick();
  }

  /** Claims as many steps as there are free slots, until none is left. */
  private kick(): void {
    if (this.closed) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    this.claiming = true;
    this.claimLoop = (async () => {
      try {
        do {
          this.again = false;
          while (!this.closed && this.stepping < this.concurrency) {
            const seen = this.seen();
            const claims = await this.init.queue.claim({
              queue: this.queueName,
              owner: this.id,
              agents: [...this.agents.keys()],
              limit: this.concurrency - this.stepping,
              leaseMs: this.leaseMs,
              maxClaims: this.maxClaims,
              seen,
            });
            // Claimed as the worker closed: not started, but given back for another worker to take.
            if (this.closed) {
              for (const claim of claims) this.giveBack(claim);
              break;
            }
            for (const claim of claims) this.launch(claim, seen.get(claim.runId));
            if (claims.length === 0) break;
          }
        } while (this.again && !this.closed);
      } catch (error) {
        // The database is unreachable: the next hint or poll tries again. Anything else (a permission, a
        // read-only server) is also tried again, but said once per message: it will not mend by waiting.
        if (!outage(this.init.queue, error))
          this.warnOnce(`hearsay: worker ${this.id} cannot claim steps: ${describe(error)}`);
      } finally {
        this.claiming = false;
      }
    })();
  }

  private launch(claim: Claim, claimedAfter: number | undefined): void {
    this.stats.claimed += 1;
    if (claim.claims > 1) this.stats.reclaimed += 1;
    const entry: Running = {
      claim,
      controller: new AbortController(),
      done: Promise.resolve(),
      ending: false,
    };
    this.running.set(activationKeyOf(claim), entry);
    this.stepping += 1;
    const every = this.leaseMs / (this.init.options.heartbeats ?? 3);
    // Once the step has ended its lease is no longer renewed (its completion may already have landed).
    const heartbeat = setInterval(() => void this.beat(entry), every);
    entry.done = this.run(claim, entry, claimedAfter)
      .catch(() => undefined)
      .finally(() => {
        clearInterval(heartbeat);
        this.ended(entry);
        this.running.delete(activationKeyOf(claim));
        this.kick();
      });
  }

  /**
   * The step has ended (its lease is no longer renewed): its slot is free, and the next step is claimed
   * while its result is recorded, not one round trip after.
   */
  private ended(entry: Running): void {
    if (entry.ending) return;
    entry.ending = true;
    this.stepping -= 1;
    this.kick();
  }

  /** The seq each open board of this worker has read to: a claim brings the events after it. */
  private seen(): Map<string, number> {
    const seen = new Map<string, number>();
    for (const [runId, entry] of this.boards) if (entry.opened) seen.set(runId, entry.opened.snapshot().seq);
    return seen;
  }

  /**
   * Events a claim brought, by run, for the board's next read: served by {@link primedStore} when that read
   * starts where they start, else dropped.
   */
  private readonly primes = new Map<string, { from: number; events: readonly LogEvent[] }>();

  /** The worker's store for its boards: a read a claim already made is served from it. */
  private get primedStore(): Store {
    this.primedProxy ??= this.primedStoreOf(this.init.store);
    return this.primedProxy;
  }

  private primedProxy: Store | undefined;

  private primedStoreOf(store: Store): Store {
    return new Proxy(store, {
      get: (target, key, receiver) => {
        if (key === 'read')
          return (runId: string, from: number, to?: number): Promise<LogEvent[]> => {
            const prime = this.primes.get(runId);
            if (prime) {
              this.primes.delete(runId);
              if (prime.from === from && to === undefined) return Promise.resolve([...prime.events]);
            }
            return target.read(runId, from, to);
          };
        const value = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  /**
   * The board at `version` or later. The board first catches up from the events its claim brought, if they
   * start where it is (no read: messages included, so its commit need not read them either); a board still
   * behind `version` (it moved meanwhile) reads the store.
   */
  private async boardAt(
    board: Blackboard<unknown>,
    runId: string,
    version: number,
    primed: { from: number; events: readonly LogEvent[] } | undefined,
  ): Promise<BoardSnapshot<unknown>> {
    if (primed && primed.events.length > 0 && primed.from === board.snapshot().seq + 1) {
      this.primes.set(runId, primed);
      try {
        await board.refresh();
      } finally {
        if (this.primes.get(runId) === primed) this.primes.delete(runId);
      }
    }
    if (board.version >= version) return board.snapshot();
    // The board's reads wait out the database's outages (until the worker closes).
    const snap = await board.refresh();
    if (snap.version < version)
      throw new Error(`run "${runId}" has no version ${version} yet (it is at ${snap.version})`);
    return snap;
  }

  /** What this worker has warned about, once each. */
  private readonly warned = new Set<string>();

  private warnOnce(message: string): void {
    if (this.warned.has(message) || this.warned.size >= 100) return;
    this.warned.add(message);
    console.warn(message);
  }

  /** Renews the lease of a step that has not ended; a lost one stops the step. */
  private async beat(entry: Running): Promise<void> {
    const { claim, controller } = entry;
    if (entry.ending || controller.signal.aborted) return;
    let held: boolean;
    try {
      held = await this.init.queue.heartbeat(claim, this.leaseMs);
    } catch {
      // Unreachable database: the next beat tries again. Past a long outage the lease may have expired and
      // the step been taken over: this one's commits and completion are then refused as fenced.
      return;
    }
    // A heartbeat that lands after the step's own completion is refused: nothing was lost.
    if (!held && !entry.ending && !controller.signal.aborted) {
      this.stats.leaseLost += 1;
      controller.abort(new Error(`the lease on ${claim.activationId} was lost`));
    }
  }

  /** Gives a claim back to the queue (the worker is closing); close waits for it. */
  private giveBack(claim: Claim): void {
    const done = this.init.queue.release(claim).catch(() => undefined);
    this.releasing.add(done);
    void done.finally(() => this.releasing.delete(done));
  }

  /**
   * Records a step's result, trying again while the database is unreachable (the store's `complete` is
   * idempotent); a result that could not be recorded before the worker closed is left to the lease.
   */
  private async record(claim: Claim, ended: StepResult): Promise<void> {
    const { queue } = this.init;
    try {
      const recorded = await waitOut(() => queue.complete(claim, ended), {
        isOutage: (error) => outage(queue, error),
        signal: this.closing.signal,
      });
      if (recorded === 'fenced') this.stats.fenced += 1;
      else this.stats.completed += 1;
    } catch {
      // Refused, or still unreachable as the worker closed: the lease runs out and the step is taken over.
    }
  }

  private async run(claim: Claim, entry: Running, claimedAfter: number | undefined): Promise<void> {
    const { controller } = entry;
    const def = this.agents.get(claim.agentId);
    const usage: Partial<Usage>[] = [];
    const delegations: { to: string; task: unknown }[] = [];
    let result: StepResult | { status: 'aborted' };
    if (!def) {
      result = { status: 'failed', error: `this worker does not run agent "${claim.agentId}"` };
    } else {
      const held = this.board(claim.runId);
      try {
        const board = await held.board;
        // The events the claim brought, for the step's first read of the board (from the seq it named).
        let primed =
          claim.events && claimedAfter !== undefined
            ? { from: claimedAfter + 1, events: claim.events }
            : undefined;
        let commits = 0;
        const fence = fenceOf(claim);
        result = await executeStep({
          def,
          step: claim.step,
          signal: controller.signal,
          tracer: this.init.tracer ?? trace.getTracer('hearsay'),
          models: this.init.models,
          where: 'a worker',
          fence: claim.token,
          port: {
            at: (version) => {
              const once = primed;
              primed = undefined;
              return this.boardAt(board, claim.runId, version, once);
            },
            commit: async (c) => {
              const forbidden = forbiddenCommit(
                def,
                c.patches.map((p) => p.path),
              );
              if (forbidden) return { ok: false, code: forbidden.code, message: forbidden.message };
              // The n-th commit of a step has the key a local step would give it: a step run again after
              // a lost lease cannot apply a commit that already landed, nor can a commit tried again after
              // its answer was lost (it is found as a duplicate). The database being unreachable (a
              // restart, a failover) is waited out, not the step's failure; a lost lease ends the waiting.
              const idempotencyKey = stepCommitKey(claim.activationId, ++commits);
              const r = await commitWaitingOut(
                board,
                { ...c, author: def.id, activationId: claim.activationId, idempotencyKey, fence },
                controller.signal,
              );
              if (r.ok) return { ok: true, version: r.event.version };
              if (r.error.code === 'fenced') {
                this.stats.fenced += 1;
                controller.abort(new Error(r.error.message));
              }
              return { ok: false, code: r.error.code, message: r.error.message };
            },
            publish: async (topic, payload) => {
              // Fenced like the step's commits: a worker that lost its lease adds nothing to the log. The
              // board waits an outage out itself (a message whose answer was lost is not appended twice).
              const r = await board.publish(topic, payload, { author: def.id, fence });
              if (r.ok) return;
              if (r.error.code === 'fenced') {
                this.stats.fenced += 1;
                controller.abort(new Error(r.error.message));
              }
              throw new Error(r.error.message);
            },
            charge: (u) => void usage.push(u),
            delegate: async (to, task) => void delegations.push({ to, task }),
            requestApproval: () =>
              Promise.reject(
                new Error(
                  'A step running on a worker cannot ask for approval itself: tag the state "irreversible", and the run\'s scheduler asks before the step is dispatched.',
                ),
              ),
          },
        });
      } catch (error) {
        result = { status: 'failed', error: describe(error) };
      } finally {
        held.users -= 1;
      }
    }
    this.ended(entry);
    if (result.status === 'aborted') {
      // Stopped by the worker's closing (not by a lost lease): another worker may take it at once.
      if (this.closed) this.giveBack(claim);
      return;
    }
    await this.record(claim, {
      ...result,
      ...(usage.length > 0 ? { usage } : {}),
      ...(delegations.length > 0 ? { delegations } : {}),
    });
  }

  /** The run's board in this process (opened once, kept while used, closed when idle); release the entry. */
  private board(runId: string): BoardEntry {
    let entry = this.boards.get(runId);
    if (!entry) {
      entry = {
        board: createBlackboard({
          schema: this.init.schema,
          initial: this.init.initial,
          store: this.primedStore,
          runId,
          clock: this.init.clock,
          // Read when a step needs a newer version, not on every commit of the run.
          follow: false,
          // Opening and appending wait out the database's outages until the worker closes.
          signal: this.closing.signal,
        }) as Promise<Blackboard<unknown>>,
        used: Date.now(),
        users: 0,
      };
      const opened = entry;
      this.boards.set(runId, opened);
      opened.board.then(
        (b) => {
          opened.opened = b;
        },
        () => undefined,
      );
      // A board that failed to open is forgotten (only that one: a newer entry may stand there by then).
      opened.board.catch(() => {
        if (this.boards.get(runId) === opened) this.boards.delete(runId);
      });
    }
    entry.users += 1;
    entry.used = Date.now();
    return entry;
  }

  private sweep(idleMs: number): void {
    const now = Date.now();
    for (const [runId, entry] of this.boards) {
      if (entry.users > 0 || now - entry.used < idleMs) continue;
      this.boards.delete(runId);
      void entry.board.then((b) => b.close()).catch(() => undefined);
    }
  }

  /** Stops claiming, stops the steps in progress and gives their claims back for another worker to take. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    this.stopHints?.();
    clearInterval(this.sweeper);
    for (const r of this.running.values()) r.controller.abort(new Error('the worker is closing'));
    await this.claimLoop;
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
    await Promise.allSettled([...this.releasing]);
    for (const entry of this.boards.values()) void entry.board.then((b) => b.close()).catch(() => undefined);
    this.boards.clear();
  }
}

interface BoardEntry {
  readonly board: Promise<Blackboard<unknown>>;
  /** The board, once open. */
  opened?: Blackboard<unknown>;
  used: number;
  users: number;
}

interface Running {
  readonly claim: Claim;
  readonly controller: AbortController;
  done: Promise<void>;
  /** The step has ended: its lease is no longer renewed. */
  ending: boolean;
}

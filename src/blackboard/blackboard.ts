import type { Draft } from 'immer';
import type { z } from 'zod';
import { checkCommit, checkNames, checkPayload } from './check-commit.js';
import { type Clock, systemClock } from './clock.js';
import {
  BlackboardError,
  type CommitRejection,
  type Fence,
  type Fenced,
  type InvalidCommit,
  type SchemaIssue,
} from './errors.js';
import type { CommitEvent, LogEvent, MessageDraft, MessageEvent } from './events.js';
import { Feed, type SubscribeFilter, type Unsubscribe } from './feed.js';
import { type BoardLimits, boardLimits, DEFAULT_BOARD_LIMITS, nestsDeeperThan } from './limits.js';
import { coverPaths, formatPath, type Path } from './path.js';
import { replayCommit } from './replay.js';
import { checkRunId } from './run-id.js';
import { type AnySchema, applyRevived, revive, validateAll, validatePatch } from './schema.js';
import { assertBoardSchema } from './schema-check.js';
import { SerialQueue } from './serial-queue.js';
import type { Store } from './store.js';
import { MemoryStore } from './stores/memory-store.js';
import {
  type CommitOptions,
  type PreparedCommit,
  prepareCommit,
  type TransactOptions,
  type TransactResult,
  transact,
} from './transact.js';
import type { BoardSnapshot, Commit, CommitResult } from './types.js';
import { deepFreeze, findUnserializable } from './values.js';
import { waitOut } from './wait-out.js';

/** Options of {@link createBlackboard}. */
export interface BlackboardOptions<TSchema extends AnySchema> {
  /** The board's zod schema. Use `keyed(...)` for large keyed collections. */
  readonly schema: TSchema;
  /** The state at version 0 (ignored when the store already holds the run). */
  readonly initial: unknown;
  /** Where the log lives; a new {@link MemoryStore} by default. */
  readonly store?: Store;
  /** Names the run in the store (default `'default'`). */
  readonly runId?: string;
  /** Timestamps of commits (only `now()` is read; `systemClock` by default). */
  readonly clock?: Pick<Clock, 'now'>;
  /** Save a snapshot to the store every N commits (default 100), which bounds the replay of `at()`. */
  readonly snapshotEvery?: number;
  /** Called when a subscriber's handler throws (default: `console.error`). Delivery goes on. */
  readonly onSubscriberError?: (error: unknown, event: LogEvent | undefined) => void;
  /**
   * Follow other processes' writes as the store announces them (default true, where the store can). With
   * false the board catches up only when it commits and on {@link Blackboard.refresh}.
   */
  readonly follow?: boolean;
  /**
   * Bounds on what a commit or message may carry (path depth, value size, …; see {@link BoardLimits}).
   * Anything over them is refused as `invalid_commit` with reason `limit_exceeded`.
   */
  readonly limits?: Partial<BoardLimits>;
  /**
   * Ends the waiting out of the store's outages (see {@link Store.isOutage}): opening the board and
   * appending messages are tried again while the store is unreachable, until they get through, the board
   * is closed, or this signal aborts (then they fail with the outage's error).
   */
  readonly signal?: AbortSignal;
}

/** The outcome of {@link Blackboard.publish}. */
export type PublishResult =
  | { readonly ok: true; readonly event: MessageEvent }
  | { readonly ok: false; readonly error: InvalidCommit | Fenced };

/**
 * The shared state of one run: an immutable, schema-checked value that changes only through commits
 * with path-level optimistic concurrency, plus the run's event log. Create one with
 * {@link createBlackboard}.
 */
export class Blackboard<TState> {
  readonly runId: string;
  readonly schema: AnySchema;
  /** The bounds every commit and message is checked against. */
  readonly limits: BoardLimits;
  private readonly store: Store;
  private readonly clock: Pick<Clock, 'now'>;
  private readonly snapshotEvery: number;
  private readonly queue = new SerialQueue();
  private readonly feed: Feed;
  private current: BoardSnapshot<TState>;
  private closed = false;

  /** @internal Use {@link createBlackboard}. */
  constructor(init: {
    runId: string;
    schema: AnySchema;
    store: Store;
    clock: Pick<Clock, 'now'>;
    snapshotEvery: number;
    onSubscriberError: (error: unknown, event: LogEvent | undefined) => void;
    snapshot: BoardSnapshot<TState>;
    follow?: boolean;
    limits?: BoardLimits;
    signal?: AbortSignal;
  }) {
    this.runId = init.runId;
    this.schema = init.schema;
    this.limits = init.limits ?? DEFAULT_BOARD_LIMITS;
    this.store = init.store;
    this.clock = init.clock;
    this.snapshotEvery = init.snapshotEvery;
    this.feed = new Feed(init.onSubscriberError);
    this.current = init.snapshot;
    const { signal } = init;
    if (signal?.aborted) this.stopWaiting.abort();
    else if (signal) {
      // Removed when the board closes: a long-lived signal (a runtime's) must not hold every board it saw.
      const stop = () => this.stopWaiting.abort();
      signal.addEventListener('abort', stop, { once: true });
      this.stopListening = () => signal.removeEventListener('abort', stop);
    }
    // Other processes writing this run (a shared store): catch up whenever the store hints at it.
    const follow = init.follow ?? true;
    this.unwatch = !follow
      ? undefined
      : init.store.watch?.(this.runId, () => {
          this.refresh().catch((error: unknown) => {
            // A store closed under an open board has nothing more to tell it; an unreachable one is read
            // again at the next hint or poll.
            if (error instanceof BlackboardError && error.code === 'closed') return;
            if (this.isOutage(error)) return;
            init.onSubscriberError(error, undefined);
          });
        });
  }

  private unwatch: (() => void) | undefined;
  /** Stops listening to the creator's signal. */
  private stopListening: (() => void) | undefined;
  /** Ends the waiting out of the store's outages: aborted on close, or by the creator's signal. */
  private readonly stopWaiting = new AbortController();

  /**
   * Whether `error` (from this board's store) means the store could not be reached for now: the same call
   * may succeed later (see {@link Store.isOutage}; false for a store that has no outages).
   *
   * @example
   * const r = await waitOut(() => board.commit(keyedCommit), { isOutage: (e) => board.isOutage(e) });
   */
  isOutage(error: unknown): boolean {
    return this.store.isOutage?.(error) === true;
  }

  /**
   * Stops following other processes' writes (a run that ended: nothing more is coming, and a database
   * store would otherwise keep reading for it). `refresh()` still reads what was written.
   */
  unfollow(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }

  /** The current state and version, in O(1). The returned object and state never change. */
  snapshot(): BoardSnapshot<TState> {
    return this.current;
  }

  /** The current (frozen) state. */
  get state(): TState {
    return this.current.state;
  }

  /** The number of accepted commits. */
  get version(): number {
    return this.current.version;
  }

  /** The sequence number of the last event in the log. */
  get seq(): number {
    return this.current.seq;
  }

  /**
   * Applies a commit if nothing it read or writes changed after its base version; otherwise returns a
   * typed `Conflict`. Schema violations and malformed commits are returned too, and leave the board
   * and the log unchanged.
   *
   * @example
   * const r = await board.commit({ baseVersion: board.version, reads: [],
   *   patches: [{ op: 'replace', path: ['title'], value: 'Hello' }], author: 'me' });
   * if (!r.ok && r.error.code === 'conflict') console.log(r.error.conflicts);
   */
  commit(commit: Commit): Promise<CommitResult> {
    return this.serially(() => this.applyCommit(commit));
  }

  /**
   * Runs a pure recipe on a draft of the board and commits its changes, re-running it on fresh state
   * after a conflict (see {@link transact}).
   *
   * @example
   * await board.transact((d) => { d.count += 1; }, { author: 'counter' });
   */
  transact<TResult>(
    recipe: (draft: Draft<TState>) => TResult,
    options: TransactOptions,
  ): Promise<TransactResult<TResult>> {
    return transact(this, recipe, options);
  }

  /**
   * The optimistic half of {@link Blackboard.transact} on its own, for work that looks at the board, takes
   * a while (a model call), and commits afterwards: runs a pure recipe on the snapshot that was seen and
   * returns a commit based on that snapshot's version (nothing is committed). If the board moved under
   * anything the recipe read or writes, `board.commit` returns a conflict instead of overwriting.
   *
   * @example
   * const seen = board.snapshot();
   * const answer = await askModel(seen.state.goal); // slow work on what was seen
   * const { commit } = board.prepareCommit(seen, (d) => { d.goal = answer; }, { author: 'rewriter' });
   * if (commit) await board.commit(commit); // a conflict if `goal` changed meanwhile
   */
  prepareCommit<TResult>(
    seen: BoardSnapshot<TState>,
    recipe: (draft: Draft<TState>) => TResult,
    options: CommitOptions,
  ): PreparedCommit<TResult> {
    return prepareCommit(seen, recipe, options);
  }

  /**
   * Appends a message to the run's log (the peer-to-peer bus). The payload must be JSON.
   *
   * @example
   * await board.publish('review.requested', { taskId: 't1' }, { author: 'coder' });
   */
  publish(
    topic: string,
    payload: unknown,
    options: {
      author: string;
      /** A worker's lease: the message is refused as `fenced` once the lease is lost (see `Commit.fence`). */
      fence?: Fence;
    },
  ): Promise<PublishResult> {
    if (typeof topic !== 'string' || topic === '' || typeof options?.author !== 'string') {
      return Promise.resolve(
        invalid('malformed', 'A message needs a non-empty string topic and a string author.'),
      );
    }
    const max = this.limits.maxKeyLength;
    const bad =
      (topic.length > max || options.author.length > max
        ? checkNames({ topic, author: options.author }, this.limits)
        : undefined) ?? checkPayload(payload, this.limits);
    if (bad) return Promise.resolve({ ok: false, error: bad });
    const draft: MessageDraft = {
      topic,
      payload: deepFreeze(payload),
      author: options.author,
      time: this.clock.now(),
    };
    if (options.fence) return this.publishFenced(draft, options.fence);
    const published = new Promise<PublishResult>((resolve, reject) => {
      // Messages published one after another, with nothing else queued between them, are appended together
      // (one transaction on a database store): the scheduler records several per activation.
      let batch = this.openBatch;
      if (!batch) {
        const fresh: MessageBatch = { drafts: [], waiters: [] };
        batch = fresh;
        this.openBatch = fresh;
        this.queue
          .run(async () => {
            if (this.openBatch === fresh) this.openBatch = undefined;
            this.assertOpen();
            const events = await this.appendWaitingOut(fresh.drafts, (drafts) =>
              this.store.appendMany
                ? this.store.appendMany(this.runId, drafts)
                : sequentially(drafts, (d) => this.store.append(this.runId, d)),
            );
            for (const event of events) {
              if (event.seq !== this.current.seq + 1) await this.catchUp(event.seq - 1);
              this.advance(this.current.state, event);
            }
            return events;
          })
          .then(
            (events) => {
              for (const [i, w] of fresh.waiters.entries()) w.resolve({ ok: true, event: events[i]! });
            },
            (error: unknown) => {
              for (const w of fresh.waiters) w.reject(error);
            },
          );
      }
      batch.drafts.push(draft);
      batch.waiters.push({ resolve, reject });
    });
    // As with every queued operation, a caller that does not wait (a fire-and-forget record after the store
    // closed) gets no unhandled rejection; one that waits sees the error.
    published.catch(() => undefined);
    return published;
  }

  /** A worker's message: alone (not in a batch), with its lease checked in the store's transaction. */
  private publishFenced(draft: MessageDraft, fence: Fence): Promise<PublishResult> {
    const append = this.store.appendFenced?.bind(this.store);
    if (!append)
      return Promise.reject(
        new BlackboardError(
          'unsupported',
          'A fenced message needs a store that leases activations (PostgresStore).',
        ),
      );
    return this.serially(async () => {
      this.assertOpen();
      const from = this.current.seq + 1;
      const r = await waitOut(
        async (attempt) => {
          // An append whose answer was lost may have landed (its fence held then): not appended twice.
          const [landed] = attempt > 1 ? await this.landed([draft], from) : [];
          return landed ? { ok: true as const, event: landed } : append(this.runId, draft, fence);
        },
        { isOutage: (e) => this.isOutage(e), signal: this.stopWaiting.signal },
      );
      if (!r.ok) return { ok: false, error: r.fenced };
      if (r.event.seq !== this.current.seq + 1) await this.catchUp(r.event.seq - 1);
      this.advance(this.current.state, r.event);
      return { ok: true, event: r.event };
    });
  }

  /** Messages waiting to be appended together, while nothing else is queued after them. */
  private openBatch: MessageBatch | undefined;

  /**
   * Appends `drafts` with `append`, in the board's queue, trying again while the store is unreachable: the
   * board's later work waits behind it, so the log keeps the order messages were published in. An append
   * whose answer was lost may have landed: before trying again, the drafts already on the log after this
   * board's head (see {@link Blackboard.landed}) are not appended twice.
   */
  private appendWaitingOut(
    drafts: readonly MessageDraft[],
    append: (drafts: readonly MessageDraft[]) => Promise<MessageEvent[]>,
  ): Promise<MessageEvent[]> {
    const from = this.current.seq + 1;
    return waitOut(
      async (attempt) => {
        if (attempt === 1) return append(drafts);
        const landed = await this.landed(drafts, from);
        if (landed.length === drafts.length) return landed;
        return [...landed, ...(await append(drafts.slice(landed.length)))];
      },
      { isOutage: (e) => this.isOutage(e), signal: this.stopWaiting.signal },
    );
  }

  /**
   * The longest prefix of `drafts` found on the log from `from` on, in order: messages with the same author,
   * topic, time and payload. Another writer's message equal in all four (to the millisecond) would be taken
   * for one of ours, and ours then not appended: the log holds that message once either way.
   */
  private async landed(drafts: readonly MessageDraft[], from: number): Promise<MessageEvent[]> {
    const found: MessageEvent[] = [];
    for (const event of await this.store.read(this.runId, from)) {
      const draft = drafts[found.length];
      if (!draft) break;
      if (
        event.type === 'message' &&
        event.author === draft.author &&
        event.topic === draft.topic &&
        event.time === draft.time &&
        JSON.stringify(event.payload) === JSON.stringify(draft.payload)
      )
        found.push(event);
    }
    return found;
  }

  /** Queues work on the board after everything queued so far (a batch of messages is closed first). */
  private serially<T>(work: () => Promise<T> | T): Promise<T> {
    this.openBatch = undefined;
    return this.queue.run(work);
  }

  /**
   * Follows the log. With `from`, replays from that sequence number first, then continues live with
   * no gap and no duplicate. Returns a function that stops the subscription.
   *
   * @example
   * const stop = board.subscribe({ from: 1, types: ['commit'] }, (e) => console.log(e.seq));
   */
  subscribe(filter: SubscribeFilter, handler: (event: LogEvent) => void): Unsubscribe {
    this.assertOpen();
    return this.feed.subscribe(filter, handler, this.current.seq, (from, to) =>
      this.store.read(this.runId, from, to),
    );
  }

  /**
   * The state as of `version` (0 is the initial state): the nearest stored snapshot, plus the commits
   * after it replayed.
   */
  async at(version: number): Promise<TState> {
    const head = this.current;
    if (!Number.isInteger(version) || version < 0 || version > head.version) {
      throw new BlackboardError(
        'version_out_of_range',
        `Version ${version} does not exist (0..${head.version}).`,
      );
    }
    if (version === head.version) return head.state;
    const snap = await this.store.loadSnapshot(this.runId, version);
    if (!snap)
      throw new BlackboardError(
        'store_failure',
        `The store holds no snapshot at or before version ${version}.`,
      );
    let state = deepFreeze(revive(this.schema, snap.state)) as TState;
    if (snap.version === version) return state;
    for (const event of await this.store.read(this.runId, snap.seq + 1, head.seq)) {
      if (event.type !== 'commit') continue;
      state = replayCommit(this.schema, state, event);
      if (event.version === version) break;
    }
    return state;
  }

  /**
   * Calls `build` with the current state, in turn with every other commit of this board, and commits
   * what it returns. `transact` is built on it.
   */
  commitAtHead(
    build: (head: BoardSnapshot<TState>) => Commit | undefined,
  ): Promise<CommitResult | undefined> {
    return this.serially(() => {
      this.assertOpen();
      const commit = build(this.current);
      return commit === undefined ? undefined : this.applyCommit(commit);
    });
  }

  /**
   * Reads what other processes appended to the run since this board last looked (a shared store), and
   * returns the snapshot then current.
   */
  refresh(): Promise<BoardSnapshot<TState>> {
    // A read queued and not yet started serves every caller until it starts: a burst of hints (one per
    // event another process appends) costs one read, not one each.
    if (this.queuedRefresh) return this.queuedRefresh;
    const refresh = this.serially(async () => {
      if (this.queuedRefresh === refresh) this.queuedRefresh = undefined;
      if (this.closed) return this.current;
      await this.catchUp();
      return this.current;
    });
    this.queuedRefresh = refresh;
    return refresh;
  }

  private queuedRefresh: Promise<BoardSnapshot<TState>> | undefined;

  /** The accepted commit that carried `idempotencyKey`, if any (e.g. to tell whether work already landed). */
  findCommit(idempotencyKey: string): Promise<CommitEvent | undefined> {
    return this.store.findCommit(this.runId, idempotencyKey);
  }

  /** Waits for queued commits, then refuses new ones. Does not close the store. */
  async close(): Promise<void> {
    this.unfollow();
    // What waits out an outage gives up with its error: a closed board has no one to append for.
    this.stopWaiting.abort();
    this.stopListening?.();
    this.stopListening = undefined;
    await this.serially(() => {
      this.closed = true;
    });
  }

  private async applyCommit(commit: Commit): Promise<CommitResult> {
    this.assertOpen();
    const malformed = checkCommit(commit, this.current.version, this.limits);
    if (malformed) return { ok: false, error: malformed };
    // A fenced commit's key is looked up by the store, after the fence: a writer that lost its lease is
    // refused, even for a commit its successor made, not told it is a duplicate.
    if (commit.idempotencyKey !== undefined && commit.fence === undefined) {
      const prior = await this.store.findCommit(this.runId, commit.idempotencyKey);
      if (prior) {
        // A commit tried again after its answer was lost: the board shows it, as if the answer had come.
        await this.catchUp(prior.seq);
        return { ok: true, event: prior, duplicate: true };
      }
    }
    // Revived and applied as every replay of this commit will be (one function: the rebuilt board equals this one).
    const applied = applyRevived(this.schema, this.current.state, commit.patches);
    const patches = applied.ok ? applied.patches : commit.patches;
    const writes = coverPaths(patches.map((p) => p.path));
    const touched = coverPaths([...commit.reads, ...writes]);
    // A failure below may only be a symptom of a concurrent change: report the conflict instead if there is one.
    const refuse = async (error: CommitRejection, also: readonly Path[] = []): Promise<CommitResult> => ({
      ok: false,
      error:
        (await this.store.checkConflicts(
          this.runId,
          commit.baseVersion,
          coverPaths([...touched, ...also]),
        )) ?? error,
    });
    if (!applied.ok) return refuse(applied.error);
    const issues: SchemaIssue[] = [];
    const regions: Path[] = [];
    for (const p of patches) {
      const v = validatePatch(this.schema, applied.state, p.op, p.path);
      issues.push(...v.issues);
      if (v.region) regions.push(v.region);
    }
    if (issues.length > 0) {
      const first = issues[0]!;
      const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
      const message = `The commit would break the board's schema at ${formatPath(first.path)}: ${first.message}${more}`;
      return refuse({ code: 'schema', issues, message }, regions);
    }
    const reads = regions.length > 0 ? coverPaths([...commit.reads, ...regions]) : coverPaths(commit.reads);
    const result = await this.store.commit(
      this.runId,
      {
        baseVersion: commit.baseVersion,
        author: commit.author,
        ...(commit.activationId === undefined ? {} : { activationId: commit.activationId }),
        ...(commit.idempotencyKey === undefined ? {} : { idempotencyKey: commit.idempotencyKey }),
        patches,
        reads,
        writes,
        time: this.clock.now(),
      },
      regions.length > 0 ? coverPaths([...touched, ...regions]) : touched,
      commit.fence,
    );
    if (!result.ok) {
      if (result.fenced) return { ok: false, error: result.fenced };
      // Another writer of this run (another process) got there first: catch up, so a retry sees its work.
      await this.catchUp();
      return { ok: false, error: result.conflict };
    }
    if (result.duplicate) {
      await this.catchUp(result.event.seq);
      return { ok: true, event: result.event, duplicate: true };
    }
    let next = applied.state;
    if (result.event.seq !== this.current.seq + 1) {
      // Others appended before us without touching our paths: apply their events first, then ours again.
      await this.catchUp(result.event.seq - 1);
      next = replayCommit(this.schema, this.current.state, result.event);
    }
    this.advance(next, result.event);
    if (result.event.version % this.snapshotEvery === 0) {
      await this.store.saveSnapshot(this.runId, {
        version: result.event.version,
        seq: result.event.seq,
        // The state at this version: with other writers' commits applied before ours when we caught up.
        state: next,
      });
    }
    return { ok: true, event: result.event, duplicate: false };
  }

  /**
   * Applies events other writers of this run appended to the store (up to `seq`, default the end), and
   * hands them to subscribers. Runs inside the commit queue. The read waits out the store's outages: it
   * often follows a write that landed, whose caller must not be told it failed.
   */
  private async catchUp(seq?: number): Promise<void> {
    if (seq !== undefined && seq <= this.current.seq) return;
    const from = this.current.seq + 1;
    const events = await waitOut(() => this.store.read(this.runId, from, seq), {
      isOutage: (e) => this.isOutage(e),
      signal: this.stopWaiting.signal,
    });
    for (const event of events) {
      this.advance(
        event.type === 'commit' ? replayCommit(this.schema, this.current.state, event) : this.current.state,
        event,
      );
    }
  }

  private advance(state: TState, event: LogEvent): void {
    this.current = Object.freeze({ state, version: event.version, seq: event.seq });
    this.feed.deliver(event);
  }

  private assertOpen(): void {
    if (this.closed) throw new BlackboardError('closed', `The board of run "${this.runId}" is closed.`);
  }
}

function invalid(
  reason: InvalidCommit['reason'],
  message: string,
  path?: Path,
): { ok: false; error: InvalidCommit } {
  return { ok: false, error: { code: 'invalid_commit', reason, message, ...(path ? { path } : {}) } };
}

/** The board type a schema describes. */
export type BoardOf<TSchema extends AnySchema> = z.output<TSchema>;

/**
 * Creates (or, when the store already holds `runId`, reopens) a blackboard. The initial state is
 * checked against the schema: a mismatch is a programming error and throws.
 *
 * @example
 * const board = await createBlackboard({
 *   schema: z.object({ count: z.number(), tasks: keyed(z.object({ done: z.boolean() })) }),
 *   initial: { count: 0, tasks: {} },
 * });
 * await board.transact((d) => { d.count += 1; }, { author: 'me' });
 */
export async function createBlackboard<TSchema extends AnySchema>(
  options: BlackboardOptions<TSchema>,
): Promise<Blackboard<BoardOf<TSchema>>> {
  const { schema } = options;
  assertBoardSchema(schema, 'schema');
  // Before anything, and before the store sees it: a bad id is refused alike by every store.
  checkRunId(options.runId ?? 'default');
  const limits = boardLimits(options.limits);
  // Before anything walks it recursively (reviving, the schema): a board deeper than its limit is refused.
  if (nestsDeeperThan(options.initial, limits.maxDepth))
    throw new BlackboardError(
      'invalid_initial_state',
      `The initial state nests deeper than ${limits.maxDepth} levels (limits.maxDepth).`,
    );
  const initial = deepFreeze(revive(schema, options.initial));
  const issues = validateAll(schema, initial);
  if (issues.length > 0) {
    throw new BlackboardError(
      'invalid_initial_state',
      `The initial state does not match the schema: ${issues[0]!.message} at ${formatPath(issues[0]!.path)}`,
      { details: issues },
    );
  }
  // The initial state is the program's, not a writer's: no size bound.
  const bad = findUnserializable(initial, [], {
    maxDepth: limits.maxDepth,
    maxKeyLength: limits.maxKeyLength,
  });
  if (bad)
    throw new BlackboardError(
      'invalid_initial_state',
      `The initial state contains ${bad.found} at ${formatPath(bad.path)}.`,
    );
  const store: Store = options.store ?? new MemoryStore();
  const runId = options.runId ?? 'default';
  // A store being unreachable for a while is waited out (opening a run again finds it: nothing doubles).
  const patiently = <T>(op: () => Promise<T>) =>
    waitOut(op, { isOutage: (e) => store.isOutage?.(e) === true, signal: options.signal });
  const opened = await patiently(() => store.openRun(runId, initial));
  const start = opened.created ? initial : deepFreeze(revive(schema, opened.snapshot.state));
  // A reopened run: the newest snapshot, plus the log after it.
  let head: BoardSnapshot<BoardOf<TSchema>> = Object.freeze({
    state: start as BoardOf<TSchema>,
    version: opened.snapshot.version,
    seq: opened.snapshot.seq,
  });
  if (!opened.created && opened.head.seq > opened.snapshot.seq) {
    let state = head.state;
    for (const event of await patiently(() => store.read(runId, opened.snapshot.seq + 1, opened.head.seq))) {
      if (event.type === 'commit') state = replayCommit(schema, state, event);
      head = Object.freeze({ state, version: event.version, seq: event.seq });
    }
  }
  return new Blackboard<BoardOf<TSchema>>({
    runId,
    schema,
    store,
    clock: options.clock ?? systemClock,
    snapshotEvery: options.snapshotEvery ?? 100,
    onSubscriberError:
      options.onSubscriberError ??
      ((error, event) => console.error(`hearsay: a subscriber failed on seq ${event?.seq}`, error)),
    snapshot: head,
    ...(options.follow === undefined ? {} : { follow: options.follow }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    limits,
  });
}

interface MessageBatch {
  readonly drafts: MessageDraft[];
  readonly waiters: { resolve: (r: PublishResult) => void; reject: (error: unknown) => void }[];
}

/** Runs `fn` over `items` one at a time, in order. */
async function sequentially<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const item of items) out.push(await fn(item));
  return out;
}

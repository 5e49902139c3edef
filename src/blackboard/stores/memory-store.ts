import { brandClass } from '../brand.js';
import { BlackboardError, type Conflict } from '../errors.js';
import type { CommitDraft, CommitEvent, LogEvent, MessageDraft, MessageEvent } from '../events.js';
import type { Path } from '../path.js';
import { PathIndex } from '../path-index.js';
import type { EndedRun, LogHead, OpenedRun, Store, StoreCommitResult, StoredSnapshot } from '../store.js';

interface RunLog {
  /** Retained events; `events[i].seq === offset + i + 1`. */
  events: LogEvent[];
  /** Events before this seq were compacted away. */
  offset: number;
  version: number;
  index: PathIndex;
  byKey: Map<string, CommitEvent>;
  snapshots: StoredSnapshot[];
}

/**
 * The embedded default store: each run's log in an array, in this process only. Fast, and gone when
 * the process exits; use the file or PostgreSQL store for runs that must survive a crash.
 *
 * @example
 * const board = await createBlackboard({ schema, initial, store: new MemoryStore() });
 */
export class MemoryStore implements Store {
  /** Runs by id (subclasses that persist load runs into it with `adopt`). */
  protected readonly runs = new Map<string, RunLog>();
  /** Runs marked ended, with when (insertion order is marking order). */
  protected readonly ended = new Map<string, number>();
  protected closed = false;

  /**
   * How many runs the store holds in memory (0 after `close`). Runs are kept until deleted: a runtime
   * deletes finished runs by its retention policy (bounded by default for an in-memory store).
   */
  get runCount(): number {
    return this.runs.size;
  }

  async openRun(runId: string, initial: unknown): Promise<OpenedRun> {
    if (this.closed) throw new BlackboardError('closed', 'The store is closed.');
    const existing = this.runs.get(runId);
    if (existing) return { created: false, head: this.head(existing), snapshot: existing.snapshots.at(-1)! };
    const snapshot: StoredSnapshot = { version: 0, seq: 0, state: initial };
    this.runs.set(runId, {
      events: [],
      offset: 0,
      version: 0,
      index: new PathIndex(),
      byKey: new Map(),
      snapshots: [snapshot],
    });
    return { created: true, head: { seq: 0, version: 0 }, snapshot };
  }

  async commit(runId: string, draft: CommitDraft, touched: readonly Path[]): Promise<StoreCommitResult> {
    const run = this.run(runId);
    if (draft.idempotencyKey !== undefined) {
      const prior = run.byKey.get(draft.idempotencyKey);
      if (prior) return { ok: true, event: prior, duplicate: true };
    }
    const conflict = this.findConflict(run, draft.baseVersion, touched);
    if (conflict) return { ok: false, conflict };
    const event: CommitEvent = {
      type: 'commit',
      runId,
      seq: run.offset + run.events.length + 1,
      version: run.version + 1,
      ...draft,
    };
    run.events.push(event);
    run.version = event.version;
    run.index.record(draft.writes, event.version);
    if (draft.idempotencyKey !== undefined) run.byKey.set(draft.idempotencyKey, event);
    return { ok: true, event, duplicate: false };
  }

  /** The conflict rule; a subclass may change it only to prove that the conformance suite notices. */
  protected findConflict(run: RunLog, baseVersion: number, touched: readonly Path[]): Conflict | undefined {
    return run.index.check(touched, baseVersion, run.version);
  }

  async append(runId: string, draft: MessageDraft): Promise<MessageEvent> {
    const run = this.run(runId);
    const event: MessageEvent = {
      type: 'message',
      runId,
      seq: run.offset + run.events.length + 1,
      version: run.version,
      ...draft,
    };
    run.events.push(event);
    return event;
  }

  async read(runId: string, from: number, to?: number): Promise<LogEvent[]> {
    const run = this.run(runId);
    return run.events.slice(
      Math.max(0, from - 1 - run.offset),
      to === undefined ? undefined : Math.max(0, to - run.offset),
    );
  }

  async findCommit(runId: string, idempotencyKey: string): Promise<CommitEvent | undefined> {
    return this.run(runId).byKey.get(idempotencyKey);
  }

  async checkConflicts(
    runId: string,
    baseVersion: number,
    touched: readonly Path[],
  ): Promise<Conflict | undefined> {
    return this.findConflict(this.run(runId), baseVersion, touched);
  }

  async saveSnapshot(runId: string, snapshot: StoredSnapshot): Promise<void> {
    const run = this.run(runId);
    const at = run.snapshots.findLastIndex((s) => s.version <= snapshot.version);
    if (run.snapshots[at]?.version === snapshot.version) return;
    run.snapshots.splice(at + 1, 0, snapshot);
  }

  async loadSnapshot(runId: string, version: number): Promise<StoredSnapshot | undefined> {
    return this.run(runId).snapshots.findLast((s) => s.version <= version);
  }

  async listRuns(): Promise<string[]> {
    return [...this.runs.keys()];
  }

  async deleteRun(runId: string, options: { readonly ifEmpty?: boolean } = {}): Promise<boolean> {
    if (this.closed) throw new BlackboardError('closed', 'The store is closed.');
    if (options.ifEmpty && this.holdsEvents(runId)) return false;
    this.ended.delete(runId);
    return this.runs.delete(runId);
  }

  async markEnded(runId: string, endedAt: number): Promise<void> {
    this.run(runId);
    this.ended.delete(runId);
    this.ended.set(runId, endedAt);
  }

  async endedRuns(): Promise<EndedRun[]> {
    if (this.closed) throw new BlackboardError('closed', 'The store is closed.');
    return [...this.ended]
      .map(([runId, endedAt]) => ({ runId, endedAt }))
      .sort((a, b) => a.endedAt - b.endedAt);
  }

  /** Closes the store and drops every run it held in memory. */
  async close(): Promise<void> {
    this.closed = true;
    this.runs.clear();
    this.ended.clear();
  }

  protected run(runId: string): RunLog {
    if (this.closed) throw new BlackboardError('closed', 'The store is closed.');
    const run = this.runs.get(runId);
    if (!run) throw new BlackboardError('run_mismatch', `No run "${runId}" in this store; open it first.`);
    return run;
  }

  /**
   * Installs a run read back from durable storage: its snapshots (oldest first, at least the initial one)
   * and its retained events, in order. The conflict index covers the retained events; bases older than
   * the first retained commit answer `base_too_old`.
   */
  protected adopt(runId: string, snapshots: StoredSnapshot[], events: LogEvent[]): void {
    const first = events.find((e) => e.type === 'commit');
    const horizon = first ? first.version - 1 : (snapshots.at(-1)?.version ?? 0);
    const index = new PathIndex(Math.max(horizon, 0));
    const byKey = new Map<string, CommitEvent>();
    let version = snapshots.at(-1)?.version ?? 0;
    for (const e of events) {
      version = e.version;
      if (e.type !== 'commit') continue;
      index.record(e.writes, e.version);
      if (e.idempotencyKey !== undefined) byKey.set(e.idempotencyKey, e);
    }
    this.runs.set(runId, {
      events,
      version,
      index,
      byKey,
      snapshots,
      offset: events[0] ? events[0].seq - 1 : (snapshots.at(-1)?.seq ?? 0),
    });
  }

  /** Whether the run, as held in memory, has anything on its log (compacted events count). */
  protected holdsEvents(runId: string): boolean {
    const log = this.runs.get(runId);
    return log !== undefined && log.offset + log.events.length > 0;
  }

  private head(run: RunLog): LogHead {
    return { seq: run.offset + run.events.length, version: run.version };
  }
}
brandClass(MemoryStore, 'MemoryStore');

import type fc from 'fast-check';
import type {
  EndedRun,
  OpenedRun,
  StoreCommitResult,
  StoredSnapshot,
} from '../../../src/blackboard/index.js';
import type {
  CommitDraft,
  CommitEvent,
  Conflict,
  LogEvent,
  MessageDraft,
  MessageEvent,
  Path,
  Store,
} from '../../../src/index.js';

/** One call of `Store.commit`, as seen from outside the store. */
export interface CommitCall {
  readonly draft: CommitDraft;
  readonly touched: readonly Path[];
  readonly result: StoreCommitResult;
}

/**
 * Wraps a real store: every commit first waits for fast-check's scheduler (so concurrent callers
 * interleave in every order the scheduler picks) and every commit call and its answer is recorded.
 */
export class InterleavedStore implements Store {
  readonly calls: CommitCall[] = [];

  constructor(
    private readonly inner: Store,
    private readonly scheduler?: fc.Scheduler,
  ) {}

  private async pause(label: string): Promise<void> {
    if (this.scheduler) await this.scheduler.schedule(Promise.resolve(), label);
  }

  deleteRun(runId: string, options?: { readonly ifEmpty?: boolean }): Promise<boolean> {
    return this.inner.deleteRun(runId, options);
  }

  markEnded(runId: string, endedAt: number): Promise<void> {
    return this.inner.markEnded(runId, endedAt);
  }

  endedRuns(): Promise<EndedRun[]> {
    return this.inner.endedRuns();
  }

  openRun(runId: string, initial: unknown): Promise<OpenedRun> {
    return this.inner.openRun(runId, initial);
  }
  async commit(runId: string, draft: CommitDraft, touched: readonly Path[]): Promise<StoreCommitResult> {
    await this.pause(`commit by ${draft.author}`);
    const result = await this.inner.commit(runId, draft, touched);
    this.calls.push({ draft, touched, result });
    return result;
  }
  async append(runId: string, draft: MessageDraft): Promise<MessageEvent> {
    await this.pause(`append by ${draft.author}`);
    return this.inner.append(runId, draft);
  }
  async read(runId: string, from: number, to?: number): Promise<LogEvent[]> {
    await this.pause(`read from ${from}`);
    return this.inner.read(runId, from, to);
  }
  findCommit(runId: string, key: string): Promise<CommitEvent | undefined> {
    return this.inner.findCommit(runId, key);
  }
  checkConflicts(
    runId: string,
    baseVersion: number,
    touched: readonly Path[],
  ): Promise<Conflict | undefined> {
    return this.inner.checkConflicts(runId, baseVersion, touched);
  }
  saveSnapshot(runId: string, snapshot: StoredSnapshot): Promise<void> {
    return this.inner.saveSnapshot(runId, snapshot);
  }
  loadSnapshot(runId: string, version: number): Promise<StoredSnapshot | undefined> {
    return this.inner.loadSnapshot(runId, version);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

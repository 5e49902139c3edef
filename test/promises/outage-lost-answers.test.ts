import fc from 'fast-check';
import {
  type CommitDraft,
  createBlackboard,
  type LogEvent,
  MemoryStore,
  type MessageDraft,
  type MessageEvent,
  type Path,
  type Store,
  TOPICS,
} from 'hearsay';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Fence } from '../../src/blackboard/index.js';
import { pooledTeam } from '../fixtures/pooled-team.js';

// Issue 22, item 2: writes tried again through an outage stay exactly-once. A store whose calls fail the
// way a database restart makes them fail — before anything happened, or after the write landed with its
// answer lost — under a team whose agents have one attempt each: every outage must be waited out (the run
// completes), a commit whose answer was lost must be found as a duplicate when tried again (every item
// counted once), and a batch of the scheduler's records whose answer was lost must not be appended twice.

type Fault = 'ok' | 'before' | 'after';

/** An outage as node-postgres reports one: a reset socket. */
const outage = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

/**
 * A MemoryStore whose writes and reads fail by a plan once armed: `before` fails the call without doing
 * anything, `after` does it and then fails (the answer was lost). Appends of many messages are one write,
 * as on PostgreSQL.
 */
class LosingStore extends MemoryStore implements Store {
  armed = false;
  faults = { before: 0, after: 0 };
  constructor(private readonly plan: Fault[]) {
    super();
  }

  private next(canLand: boolean): Fault {
    if (!this.armed) return 'ok';
    const f = this.plan.shift() ?? 'ok';
    return f === 'after' && !canLand ? 'before' : f;
  }

  private async faulty<T>(canLand: boolean, op: () => Promise<T>): Promise<T> {
    const f = this.next(canLand);
    if (f === 'before') {
      this.faults.before += 1;
      throw outage();
    }
    const r = await op();
    if (f === 'after') {
      this.faults.after += 1;
      throw outage();
    }
    return r;
  }

  isOutage(error: unknown): boolean {
    return (error as { code?: unknown } | null)?.code === 'ECONNRESET';
  }

  override commit(runId: string, draft: CommitDraft, touched: readonly Path[]) {
    return this.faulty(true, () => super.commit(runId, draft, touched));
  }

  async appendMany(runId: string, drafts: readonly MessageDraft[]): Promise<MessageEvent[]> {
    return this.faulty(true, async () => {
      const out: MessageEvent[] = [];
      for (const d of drafts) out.push(await super.append(runId, d));
      return out;
    });
  }

  /** A worker's message: the fence is not checked here (this store leases nothing); the faults apply. */
  appendFenced(runId: string, draft: MessageDraft, _fence: Fence) {
    return this.faulty(true, async () => ({ ok: true as const, event: await super.append(runId, draft) }));
  }

  override append(runId: string, draft: MessageDraft) {
    return this.faulty(true, () => super.append(runId, draft));
  }

  override read(runId: string, from: number, to?: number) {
    return this.faulty(false, () => super.read(runId, from, to));
  }

  override findCommit(runId: string, key: string) {
    return this.faulty(false, () => super.findCommit(runId, key));
  }
}

function records(log: readonly LogEvent[], topic: string): Record<string, unknown>[] {
  return log.flatMap((e) =>
    e.type === 'message' && e.topic === topic ? [e.payload as Record<string, unknown>] : [],
  );
}

describe('writes tried again through an outage', () => {
  it('stay exactly-once: every item committed once, no record twice, the run completed', async () => {
    const n = 8;
    const injected = { before: 0, after: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom<Fault>('ok', 'ok', 'ok', 'before', 'after'), {
          minLength: 10,
          maxLength: 30,
        }),
        async (plan) => {
          const store = new LosingStore([...plan]);
          const runtime = pooledTeam(store);
          // Armed from the start: the input commit (keyed) is waited out too.
          store.armed = true;
          const handle = await runtime.start({ n });
          const result = await handle.result;
          store.armed = false;
          injected.before += store.faults.before;
          injected.after += store.faults.after;
          expect(result.outcome, `${result.reason} ${JSON.stringify(result.failures)}`).toBe('completed');
          const items = [...result.board.items.values()];
          expect(items.filter((i) => i.count !== 1)).toEqual([]);
          expect(result.board.total).toBe(n);

          const log = await store.read(handle.runId, 1);
          const keys = log.flatMap((e) =>
            e.type === 'commit' && e.idempotencyKey ? [e.idempotencyKey] : [],
          );
          expect(keys.length - new Set(keys).size).toBe(0);
          const increments = log.filter(
            (e) => e.type === 'commit' && e.author === 'worker' && !e.idempotencyKey?.endsWith(':claim'),
          );
          expect(increments).toHaveLength(n);
          // The scheduler's records: each activation started once per attempt and completed once.
          const activation = records(log, TOPICS.activation);
          const started = activation
            .filter((r) => r.phase === 'started')
            .map((r) => `${String(r.activationId)}/${String(r.attempt)}`);
          expect(started.length - new Set(started).size).toBe(0);
          const completed = activation.filter((r) => r.phase === 'completed').map((r) => r.activationId);
          expect(completed.length - new Set(completed).size).toBe(0);
          expect(activation.filter((r) => r.phase === 'failed')).toEqual([]);
          expect(records(log, TOPICS.outcome)).toHaveLength(1);
          await runtime.close();
        },
      ),
      { numRuns: 10 },
    );
    // Both kinds of failure happened (the property was not vacuous).
    expect(injected.before).toBeGreaterThan(0);
    expect(injected.after).toBeGreaterThan(0);
  }, 120_000);

  it('put a message whose answer was lost on the log once, batched or fenced, in the order published', async () => {
    const fence: Fence = { activationId: 'a1', attempt: 1, token: 1 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom<Fault>('ok', 'before', 'after'), { maxLength: 6 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 6 }),
        async (plan, fenced) => {
          const store = new LosingStore([...plan]);
          const board = await createBlackboard({ schema: z.object({}), initial: {}, store });
          store.armed = true;
          const published = await Promise.all(
            fenced.map((f, i) => board.publish('t', { i }, { author: 'w', ...(f ? { fence } : {}) })),
          );
          store.armed = false;
          expect(published.every((r) => r.ok)).toBe(true);
          const log = await store.read('default', 1);
          expect(log.map((e) => (e.type === 'message' ? e.payload : e))).toEqual(
            fenced.map((_, i) => ({ i })),
          );
          // The board shows the log as it is.
          expect(board.seq).toBe(log.length);
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);
});

/**
 * Every record a run writes on its log matches its topic's schema (src/protocol/records.ts), so readers can
 * parse instead of cast: the demo team (pools, a reviewer that sends work back, model calls, usage, spans),
 * a hierarchical team (child runs), an approval that pauses and is answered, and a failing agent with a
 * retry. And a reader refuses a damaged record by name instead of misreading it.
 */
import { createRuntime, MemoryStore, readRecord, TOPICS } from 'hearsay';
import { describe, expect, it } from 'vitest';
import { hierarchicalTeam } from '../../examples/hierarchical/team.js';
import { teamModels } from '../../examples/hub-and-spoke/model.js';
import { team } from '../../examples/hub-and-spoke/team.js';
import { recordSchemaOf } from '../../src/protocol/records.js';
import { resumeStateFrom } from '../../src/scheduler/resume.js';
import approvalWorkflow from '../fixtures/approval-workflow.js';

type Message = { seq: number; type: 'message'; topic: string; author: string; payload: unknown };

/** The runtime's records on every run of a store, by topic: how many, and which did not parse. */
async function check(store: MemoryStore) {
  const seen = new Map<string, number>();
  const bad: string[] = [];
  for (const runId of await store.listRuns())
    for (const e of await store.read(runId, 1)) {
      if (e.type !== 'message' || !e.topic.startsWith('hearsay.')) continue;
      const m = e as Message;
      const schema = recordSchemaOf(m.topic);
      const topic = m.topic.startsWith(TOPICS.stream) ? TOPICS.stream : m.topic;
      seen.set(topic, (seen.get(topic) ?? 0) + 1);
      if (!schema) bad.push(`${runId}#${m.seq} ${m.topic}: no schema`);
      else {
        const r = schema.safeParse(m.payload);
        if (!r.success) bad.push(`${runId}#${m.seq} ${m.topic}: ${r.error.issues[0]?.message}`);
      }
    }
  return { seen, bad };
}

describe('typed log records', () => {
  it('every record of the demo team, a hierarchical team and an answered approval matches its schema', async () => {
    const store = new MemoryStore();
    const demo = createRuntime({ ...team, models: teamModels(0).client, store, deterministic: { seed: 3 } });
    expect((await demo.run({ goal: 'blackboards' }, { runId: 'demo' })).outcome).toBe('completed');
    const nested = createRuntime({ ...hierarchicalTeam(), store });
    expect((await nested.run({ goal: 'blackboards' }, { runId: 'nested' })).outcome).toBe('completed');
    const approvals = createRuntime({ ...approvalWorkflow, store });
    const paused = await approvals.run({ go: true }, { runId: 'pay' });
    expect(paused.outcome).toBe('awaiting_approval');
    const [pending] = await approvals.pendingApprovals('pay');
    await approvals.approve(pending!.requestId, { by: 'alice' });
    const resumed = await approvals.resume('pay');
    expect((await resumed.result).board.outcome.get('cashier')).toBe('paid');

    const { seen, bad } = await check(store);
    expect(bad).toEqual([]);
    // The runs wrote records on most topics (the rest: see the other suites that read them).
    for (const topic of [
      TOPICS.activation,
      TOPICS.agenda,
      TOPICS.transition,
      TOPICS.outcome,
      TOPICS.model,
      TOPICS.usage,
      TOPICS.trace,
      TOPICS.span,
      TOPICS.approval,
      TOPICS.child,
      TOPICS.parent,
    ])
      expect(seen.get(topic) ?? 0, topic).toBeGreaterThan(0);
    await Promise.all([demo.close(), nested.close(), approvals.close()]);
  });

  it('a damaged record is refused by name when the log is read, not misread', async () => {
    const store = new MemoryStore();
    const runtime = createRuntime({
      ...team,
      models: teamModels(0).client,
      store,
      deterministic: { seed: 3 },
    });
    await runtime.run({ goal: 'blackboards' }, { runId: 'r' });
    const log = await store.read('r', 1);
    expect(() => resumeStateFrom(log)).not.toThrow();
    const i = log.findIndex((e) => e.type === 'message' && e.topic === TOPICS.activation);
    const damaged = log.map((e, j) =>
      j === i ? { ...e, payload: { ...(e as Message & { payload: object }).payload, depth: 'deep' } } : e,
    );
    // The same through the package, as a user reading a log reads it.
    const good = log[i] as Message;
    expect(readRecord(good, TOPICS.activation)).toMatchObject({ agentId: expect.any(String) });
    expect(() => readRecord(damaged[i] as Message, TOPICS.activation)).toThrow(
      expect.objectContaining({ code: 'corrupt_log' }),
    );
    expect(() => resumeStateFrom(damaged)).toThrow(
      expect.objectContaining({
        code: 'corrupt_log',
        message: expect.stringMatching(/hearsay\.activation.*depth/),
      }),
    );
    await runtime.close();
  });
});

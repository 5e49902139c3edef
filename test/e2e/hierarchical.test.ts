// The example and the runtime both come from the built package (the example imports `hearsay`), as a
// user's would.
import { createRuntime, MemoryStore, TOPICS } from 'hearsay';
import { connect } from 'hearsay/client';
import { describe, expect, it, vi } from 'vitest';
import { hierarchicalTeam } from '../../examples/hierarchical/team.js';

const payloads = async (store: MemoryStore, runId: string, topic: string) =>
  (await store.read(runId, 1))
    .filter((e) => e.type === 'message' && e.topic === topic)
    .map((e) => (e.type === 'message' ? (e.payload as Record<string, unknown>) : {}));

/** The hierarchical team on a fresh memory store, with a run budget of `tokens`. */
const underBudget = (tokens: number) => {
  const store = new MemoryStore();
  const runtime = createRuntime({ ...hierarchicalTeam(), store, limits: { depth: 8, budget: { tokens } } });
  return { store, runtime };
};

const outcomeOf = async (store: MemoryStore, runId: string) =>
  (await payloads(store, runId, TOPICS.outcome)).at(-1)?.outcome;

describe('hierarchical runs', () => {
  it('delegates sub-problems to child runs with their own boards, and commits their outcomes to the parent', async () => {
    const store = new MemoryStore();
    const runtime = createRuntime({ ...hierarchicalTeam(), store });
    const hub = await runtime.listen({ insecureDevMode: true, log: () => {} });
    try {
      const result = await runtime.run({ goal: 'blackboards' }, { runId: 'h' });
      expect(result.outcome).toBe('completed');
      const parts = [...result.board.parts.values()];
      expect(parts).toHaveLength(2);
      const children = parts.map((p) => p.childRun!);
      expect(parts.every((p) => p.childOutcome === 'completed' && p.answer?.startsWith('In short'))).toBe(
        true,
      );
      expect((await store.listRuns()).sort()).toEqual(['h', ...children].sort());

      // The parent's log says when each child started and how it ended; each child's log names its parent.
      const records = await payloads(store, 'h', TOPICS.child);
      expect(records.map((r) => r.phase).sort()).toEqual(['ended', 'ended', 'started', 'started']);
      for (const child of children) {
        expect(await payloads(store, child, TOPICS.parent)).toEqual([
          expect.objectContaining({ runId: 'h', team: 'research' }),
        ]);
        expect(await outcomeOf(store, child)).toBe('completed');
      }
      // What the children's models spent is the parent's: per model, and charged to the delegator.
      expect(result.cost.total.calls).toBe(4);
      expect(Object.keys(result.cost.byModel).sort()).toEqual(['simulated/large', 'simulated/small']);
      expect(result.usage.byAgent.delegator!.tokens).toBe(result.cost.total.tokens);

      // One hub serves the parent and its children: runs, agents with their team, a child's stream.
      const client = await connect(hub.url, { reconnect: false });
      const runs = await client.runs();
      expect(runs.map((r) => r.runId).sort()).toEqual(['h', ...children].sort());
      const agents = await client.agents();
      expect(agents.filter((a) => a.team === 'research').map((a) => a.id)).toEqual([
        'searcher',
        'summarizer',
      ]);
      expect(await client.boardAt(children[0]!, 0)).toEqual({ question: '', notes: [] });
      client.close();
    } finally {
      await runtime.close();
    }
  });

  it('cancels the child runs when the parent is cancelled', async () => {
    const store = new MemoryStore();
    const runtime = createRuntime({ ...hierarchicalTeam(60_000), store });
    const handle = await runtime.start({ goal: 'slow models' }, { runId: 'c' });
    await new Promise<void>((resolve) => {
      const stop = handle.board.subscribe({ from: 1 }, (e) => {
        if (e.type === 'message' && e.topic === TOPICS.child) {
          stop();
          resolve();
        }
      });
    });
    // Cancelled while a child run is under way: once one has an activation started on its own log.
    await vi.waitFor(
      async () => {
        const children = (await store.listRuns()).filter((r) => r !== 'c');
        const logs = await Promise.all(children.map((child) => store.read(child, 1)));
        const started = logs.some((log) =>
          log.some(
            (e) =>
              e.type === 'message' &&
              e.topic === TOPICS.activation &&
              (e.payload as { phase?: string }).phase === 'started',
          ),
        );
        expect(started).toBe(true);
      },
      { timeout: 30_000, interval: 10 },
    );
    handle.cancel('stop everything');
    expect((await handle.result).outcome).toBe('cancelled');
    const children = (await store.listRuns()).filter((r) => r !== 'c');
    expect(children.length).toBeGreaterThan(0);
    for (const child of children) expect(await outcomeOf(store, child)).toBe('cancelled');
    await runtime.close();
  });

  it('gives a child only what is left of the budget, and charges its spend to the parent', async () => {
    const { store, runtime } = underBudget(20);
    const result = await runtime.run({ goal: 'budgets' }, { runId: 'b' });
    expect(result.outcome).toBe('budget_exceeded');
    const children = (await store.listRuns()).filter((r) => r !== 'b');
    expect(children.length).toBeGreaterThan(0);
    // A child ran under the parent's budget (at most the 20 tokens left): it ran out, or was refused a
    // model call that would not fit; the children still running when the parent ran out were cancelled.
    const ends = await Promise.all(
      children.map(async (c) => (await store.read(c, 1)).map((e) => JSON.stringify(e)).join('\n')),
    );
    expect(ends.some((log) => /budget \{\\"tokens\\":20\}|budget_refused/.test(log))).toBe(true);
    for (const child of children)
      expect(['budget_exceeded', 'failed', 'cancelled']).toContain(await outcomeOf(store, child));
    // The child's spend was charged to the parent: that is what spent the parent's budget.
    expect(result.usage.tokens).toBeGreaterThan(20);
    expect((await payloads(store, 'b', TOPICS.usage)).some((u) => u.source === 'child')).toBe(true);
    await runtime.close();
  });

  it('lets children started at once share what is left: while one holds the budget, the other is refused', async () => {
    const { store, runtime } = underBudget(20);
    await runtime.run({ goal: 'shared budget' }, { runId: 's' });
    // The splitter's two parts are delegated at once: the first child holds the 20 tokens left until it
    // ends, so the second sees none (before, each was given all 20).
    const records = await payloads(store, 's', TOPICS.child);
    const refused = records.filter((r) => r.phase === 'refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]!.reason).toMatch(/no budget left for a child run \(\{"tokens":0\}\)/);
    expect(records.filter((r) => r.phase === 'ended')).toHaveLength(1);
    expect((await store.listRuns()).filter((r) => r !== 's')).toHaveLength(1);
    await runtime.close();
  });

  it('carries causal depth across levels: no depth left refuses the child, a little ends it early', async () => {
    // The delegator runs at depth 2 (the splitter at 1): with a limit of 2 no depth is left for a child.
    const none = new MemoryStore();
    const first = createRuntime({ ...hierarchicalTeam(), store: none, limits: { depth: 2 } });
    const r1 = await first.run({ goal: 'depth' }, { runId: 'd' });
    expect([...r1.board.parts.values()].map((p) => p.childOutcome)).toEqual([
      'depth_exceeded',
      'depth_exceeded',
    ]);
    expect(await none.listRuns()).toEqual(['d']);
    expect((await payloads(none, 'd', TOPICS.child)).map((r) => r.phase)).toEqual(['refused', 'refused']);
    await first.close();
    // With 3, the child has depth 1: its searcher runs, its summarizer (depth 2) is refused.
    const some = new MemoryStore();
    const second = createRuntime({ ...hierarchicalTeam(), store: some, limits: { depth: 3 } });
    const r2 = await second.run({ goal: 'depth' }, { runId: 'e' });
    expect([...r2.board.parts.values()].map((p) => p.childOutcome)).toEqual([
      'depth_exceeded',
      'depth_exceeded',
    ]);
    const children = (await some.listRuns()).filter((r) => r !== 'e');
    // Both children ran (unlike with 2): the refusal is inside them.
    expect(children).toHaveLength(2);
    for (const child of children)
      expect(
        (await payloads(some, child, TOPICS.activation)).some(
          (a) => a.phase === 'refused' && a.reason === 'depth',
        ),
      ).toBe(true);
    await second.close();
  });

  it('refuses a child run when no budget is left, without starting it', async () => {
    const { store, runtime } = underBudget(0);
    const result = await runtime.run({ goal: 'no budget' }, { runId: 'z' });
    expect([...result.board.parts.values()].map((p) => p.childOutcome)).toEqual([
      'budget_exceeded',
      'budget_exceeded',
    ]);
    expect(await store.listRuns()).toEqual(['z']);
    await runtime.close();
  });

  it('leaves child runs to their parents: resumeAll skips them, and resuming one directly is refused', async () => {
    const store = new MemoryStore();
    const first = createRuntime({ ...hierarchicalTeam(), store });
    expect((await first.run({ goal: 'once' }, { runId: 'p' })).outcome).toBe('completed');
    await first.close();
    const children = (await store.listRuns()).filter((r) => r !== 'p');
    expect(children).toHaveLength(2);
    const second = createRuntime({ ...hierarchicalTeam(), store });
    // The parent had ended: nothing is picked up, and its children are not run by the parent's team.
    expect(await second.resumeAll()).toEqual([]);
    await expect(second.resume(children[0]!)).rejects.toThrow(/child team "research"/);
    for (const child of children) expect(await outcomeOf(store, child)).toBe('completed');
    await second.close();
  });

  it('refuses a child team named like a path', async () => {
    expect(() =>
      createRuntime({ ...hierarchicalTeam(), children: { 'a/b': hierarchicalTeam().children.research } }),
    ).toThrow(/letters, digits/);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inspectedTeam } from '../../examples/inspector/team.js';
import { MemoryStore } from '../../src/blackboard/index.js';
import { toServerMessage } from '../../src/hub/translate.js';
import { applyPatches, RunModel } from '../../src/inspector/app/model.js';
import type { ServerMessage } from '../../src/protocol/index.js';
import { createRuntime } from '../../src/runtime/index.js';
import { TOPICS } from '../../src/scheduler/index.js';
import { applyNaive, plain } from '../blackboard/support/reference.js';

type Step = { target: 'obj' | 'arr' | 'deep'; op: 'add' | 'replace' | 'remove'; key: number; value: unknown };

/** Turns arbitrary steps into patches valid against the state they apply to (tracked with the naive model). */
function patchesFor(steps: Step[], initial: unknown) {
  let state = initial as { o: Record<string, unknown>; a: unknown[]; d: { x: Record<string, unknown> } };
  const out: { op: 'add' | 'replace' | 'remove'; path: (string | number)[]; value?: unknown }[] = [];
  for (const s of steps) {
    let patch: (typeof out)[number];
    if (s.target === 'arr') {
      const n = state.a.length;
      if (s.op === 'add' || n === 0) patch = { op: 'add', path: ['a', s.key % (n + 1)], value: s.value };
      else patch = { op: s.op, path: ['a', s.key % n], ...(s.op === 'replace' ? { value: s.value } : {}) };
    } else {
      const parent = s.target === 'obj' ? ['o'] : ['d', 'x'];
      const holder = s.target === 'obj' ? state.o : state.d.x;
      const key = `k${s.key}`;
      const op = s.op === 'add' ? 'add' : key in holder ? s.op : 'add';
      patch = { op, path: [...parent, key], ...(op === 'remove' ? {} : { value: s.value }) };
    }
    out.push(patch);
    state = applyNaive(state, [patch as never]) as typeof state;
  }
  return { patches: out, final: state };
}

const step = fc.record({
  target: fc.constantFrom('obj' as const, 'arr' as const, 'deep' as const),
  op: fc.constantFrom('add' as const, 'replace' as const, 'remove' as const),
  key: fc.nat(6),
  // Values travel as JSON (which has no -0).
  value: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown),
});

describe("the inspector's run model", () => {
  it('applies patches like the reference model', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const initial = { o: { k1: 1 }, a: [0, 1], d: { x: {} } };
        const { patches, final } = patchesFor(steps, initial);
        expect(applyPatches(structuredClone(initial), patches)).toEqual(final);
      }),
      { numRuns: 500 },
    );
  });

  it('rebuilds the board from a run stream whatever is delivered twice (reconnections replay some of it)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(step, { minLength: 1, maxLength: 4 }), { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (commits, replays) => {
          const initial = { o: {}, a: [], d: { x: {} } };
          let state: unknown = initial;
          const messages: ServerMessage[] = [];
          commits.forEach((steps, i) => {
            const { patches, final } = patchesFor(steps, state);
            state = final;
            messages.push({
              v: 1,
              type: 'commit',
              runId: 'r',
              seq: i + 1,
              time: i,
              version: i + 1,
              baseVersion: i,
              author: `agent${i % 3}`,
              patches,
              writes: patches.map((p) => p.path),
            });
          });
          // Redeliver messages at random points after they were first delivered (as a resumed stream does):
          // the model ignores what it already applied.
          const stream = [...messages];
          for (const r of replays) {
            if (messages.length === 0) break;
            const original = messages[r % messages.length]!;
            const first = stream.indexOf(original);
            stream.splice(first + 1 + (r % (stream.length - first)), 0, original);
          }
          const model = new RunModel('r');
          model.apply({ v: 1, type: 'snapshot', runId: 'r', seq: 0, version: 0, state: initial });
          let applied = 0;
          for (const m of stream) {
            const before = model.seq;
            model.apply(m);
            if (model.seq !== before) applied += 1;
          }
          // Every message applies once; a redelivered one never does.
          expect(applied).toBe(messages.length);
          expect(model.board).toEqual(state);
          expect(model.version).toBe(messages.length);
          expect(model.counts.get('commit') ?? 0).toBe(messages.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("follows a whole team run from its log: board, agents, waterfall, cost and approvals match the runtime's", async () => {
    const store = new MemoryStore();
    const runtime = createRuntime({ ...inspectedTeam(2), store });
    const paused = await runtime.run({ goal: 'g' }, { runId: 'team' });
    expect(paused.outcome).toBe('awaiting_approval');
    const log = await store.read('team', 1);
    const request = log.find(
      (e) =>
        e.type === 'message' &&
        e.topic === TOPICS.approval &&
        (e.payload as { phase: string }).phase === 'requested',
    );
    expect(
      await runtime.approve((request as { payload: { requestId: string } }).payload.requestId, { by: 'ops' }),
    ).toBe('answered');
    const result = await (await runtime.resume('team')).result;
    expect(result.outcome).toBe('completed');

    const events = await store.read('team', 1);
    const model = new RunModel('team');
    model.apply({
      v: 1,
      type: 'snapshot',
      runId: 'team',
      seq: 0,
      version: 0,
      state: { goal: '', tasks: {} },
    });
    // As a page gets them: parsed from frames, so the model owns every value.
    for (const e of events) model.apply(plain(toServerMessage(e)) as ServerMessage);

    expect(model.board).toEqual(plain(result.board));
    expect(model.version).toBe(result.version);
    expect(model.outcome?.outcome).toBe('completed');
    expect(model.log).toHaveLength(events.length);

    // Agents: as many starts as the log's activation records, and none left running.
    const started = events.filter(
      (e) =>
        e.type === 'message' &&
        e.topic === TOPICS.activation &&
        (e.payload as { phase: string }).phase === 'started',
    );
    const sum = (f: (a: { started: number; running: number }) => number) =>
      [...model.agents.values()].reduce((n, a) => n + f(a), 0);
    expect(sum((a) => a.started)).toBe(started.length);
    expect(sum((a) => a.running)).toBe(0);
    expect(model.agents.get('publisher')?.states.get('')).toBeDefined();

    // Waterfall: every attempt's span once, each after its parent; model calls inside their activation.
    const rows = model.waterfall();
    const position = new Map(rows.map((r, i) => [r.bar.id, i]));
    expect(rows.filter((r) => r.bar.kind === 'activation')).toHaveLength(started.length);
    for (const [i, { bar }] of rows.entries()) {
      if (bar.parentId !== undefined && position.has(bar.parentId))
        expect(position.get(bar.parentId)).toBeLessThan(i);
      if (bar.kind === 'model') expect(model.spans.get(bar.parentId!)?.kind).toBe('activation');
      expect(bar.end).toBeGreaterThanOrEqual(bar.start);
    }
    expect(rows.filter((r) => r.bar.kind === 'model')).toHaveLength(result.cost.total.calls);

    // Cost: the same totals as the runtime's ledger, in all and per agent.
    expect(model.total.cost).toBeCloseTo(result.cost.total.cost, 10);
    expect(model.total.tokens).toBe(result.cost.total.tokens);
    for (const [agent, spent] of Object.entries(result.cost.byAgent))
      expect(model.agents.get(agent)?.spend.tokens).toBe(spent.tokens);
    expect(model.usageSeries.at(-1)?.[2]).toBeCloseTo(result.cost.total.cost, 10);

    // The approval was answered by ops and used.
    expect([...model.approvals.values()]).toMatchObject([
      { action: 'publish_report', status: 'used', by: 'ops' },
    ]);
    expect(model.pendingApprovals()).toEqual([]);
    // The latest agenda is the run's last scheduling cycle, naming only the team's agents.
    const agendas = events.filter((e) => e.type === 'message' && e.topic === TOPICS.agenda);
    expect(agendas.length).toBeGreaterThan(0);
    const last = agendas.at(-1) as { payload: { cycle: number } } | undefined;
    expect(model.agenda?.cycle).toBe(last?.payload.cycle);
    const ids = new Set(inspectedTeam(2).agents.map((a) => a.id));
    expect(model.agenda!.items.every((i) => ids.has(i.agentId))).toBe(true);
    await runtime.close();
  });
});

describe('runs in the list', () => {
  it('come running first, newest first, each child right after its parent', async () => {
    const { sortRuns } = await import('../../src/inspector/app/model.js');
    const run = (runId: string, status: 'running' | 'ended', startedAt: number) => ({
      runId,
      status,
      version: 0,
      seq: 0,
      startedAt,
    });
    const sorted = sortRuns([
      run('old', 'ended', 1),
      run('p/research.0000abcd', 'ended', 5),
      run('p', 'ended', 4),
      run('live', 'running', 2),
      run('p/research.0000abcd/deep.1234abcd', 'ended', 6),
      run('new', 'ended', 9),
    ]);
    expect(sorted.map((r) => r.runId)).toEqual([
      'live',
      'new',
      'p',
      'p/research.0000abcd',
      'p/research.0000abcd/deep.1234abcd',
      'old',
    ]);
  });
});

describe('records the page reads through their schemas', () => {
  const message = (seq: number, topic: string, payload: unknown): ServerMessage => ({
    v: 1,
    type: 'message',
    runId: 'r',
    seq,
    time: seq,
    version: 0,
    topic,
    author: 'scheduler',
    payload,
  });

  it('reads a record that matches, and shows one that does not as it is, without counting it', () => {
    const model = new RunModel('r');
    model.apply({ v: 1, type: 'snapshot', runId: 'r', seq: 0, version: 0, state: {} });
    model.apply(
      message(1, TOPICS.usage, { agentId: 'a', usage: { inputTokens: 3, outputTokens: 4, cost: 0.5 } }),
    );
    // A damaged usage record (tokens as text) is not booked: the page never adds what it cannot read.
    model.apply(message(2, TOPICS.usage, { agentId: 'a', usage: { tokens: 'lots' } }));
    model.apply(
      message(3, TOPICS.warning, {
        kind: 'shared_writes',
        groups: [{ path: ['count'], agents: ['a', 'b'] }],
      }),
    );
    expect(model.total).toMatchObject({ tokens: 7, inputTokens: 3, outputTokens: 4, cost: 0.5 });
    const summaries = model.log.map((e) => e.summary);
    expect(summaries[0]).toBe('charged 7 tokens, $0.5000');
    expect(summaries[1]).toContain('hearsay.usage {"agentId":"a","usage":{"tokens":"lots"}}');
    expect(summaries[2]).toBe('paths several agents write: count (a, b)');
  });
});

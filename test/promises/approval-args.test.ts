import fc from 'fast-check';
import {
  type ApprovalDecision,
  type BoardEvent,
  createRuntime,
  defineAgent,
  keyed,
  type LogEvent,
  stepMachine,
  TOPICS,
  type ToolDefinition,
} from 'hearsay';
import { connect, hostAgents } from 'hearsay/client';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runToolCalls, stableHash, type ToolRun, type ValidatedToolCall } from '../../src/llm/index.js';

// Attacks on "an irreversible action runs with exactly the arguments it was approved for": the caller's
// objects changing between the approval check and the run (TOCTOU), and arguments built to blow the stack.

const Board = z.object({ go: z.boolean(), outcome: keyed(z.string()) });
type B = z.output<typeof Board>;

/** An irreversible tool that keeps what it was given (the object itself, and a snapshot of it). */
function transferTool() {
  const given: unknown[] = [];
  const seen: unknown[] = [];
  const tool: ToolDefinition = {
    name: 'transfer',
    description: 'Moves money. Irreversible.',
    parameters: z.object({ amount: z.number(), memo: z.object({ note: z.string() }).optional() }),
    irreversible: true,
    run: (args) => {
      given.push(args);
      seen.push(JSON.parse(JSON.stringify(args)));
      return 'sent';
    },
  };
  return { tool, given, seen };
}

/** A run whose one agent does `work` (approvals are given by the policy: it read nothing tainted). */
async function runWith(work: (event: BoardEvent<B>) => Promise<string>) {
  const agent = defineAgent<B>({
    id: 'payer',
    watches: [['go']],
    writes: [['outcome']],
    retry: { attempts: 1 },
    machine: stepMachine<B, string>({
      when: (b) => b.go && !b.outcome.has('payer'),
      work,
      done: (d, output) => void d.outcome.set('payer', output),
    }),
  });
  const rt = createRuntime({
    board: { schema: Board, initial: { go: false, outcome: {} } },
    agents: [agent],
    limits: { approvalPolicy: 'tainted' },
  });
  try {
    const handle = await rt.start({ go: true });
    const log: LogEvent[] = [];
    handle.board.subscribe({ from: 1 }, (e) => void log.push(e));
    const result = await handle.result;
    return { result, log, outcome: result.board.outcome.get('payer') };
  } finally {
    await rt.close();
  }
}

const approvalRecords = (log: readonly LogEvent[]) =>
  log.flatMap((e) =>
    e.type === 'message' && e.topic === TOPICS.approval
      ? [e.payload as { phase: string; args?: unknown; argsHash?: string }]
      : [],
  );
const describeRun = (r: ToolRun | undefined) => (r === undefined ? 'none' : r.ok ? 'ok' : r.code);

/** Frozen all the way down. */
function deeplyFrozen(value: unknown): boolean {
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    if (!Object.isFrozen(v)) return false;
    stack.push(...Object.values(v));
  }
  return true;
}

describe('the arguments an irreversible call runs with are the ones it was approved for', () => {
  it('changing the args object after calling runTools changes nothing (found: ran with 1,000,000)', async () => {
    const { tool, seen } = transferTool();
    const { outcome } = await runWith(async ({ tools }) => {
      const call = { id: 'c1', name: 'transfer', args: { amount: 10 }, irreversible: true };
      const approval = await tools.requestApproval({ action: 'transfer', args: { amount: 10 } });
      const pending = tools.runTools([call], [tool], { approvals: [approval], missing: 'refuse' });
      call.args.amount = 1_000_000; // e.g. a loop reusing one args object
      const [run] = await pending;
      return describeRun(run);
    });
    expect(outcome).toBe('ok');
    expect(seen).toEqual([{ amount: 10 }]);
  });

  it('a later call in the same batch cannot be changed while an earlier one waits for its approval', async () => {
    const { tool, seen } = transferTool();
    const { outcome } = await runWith(async ({ tools }) => {
      const calls = [
        { id: 'c1', name: 'transfer', args: { amount: 1 }, irreversible: true },
        { id: 'c2', name: 'transfer', args: { amount: 2 }, irreversible: true },
      ];
      // No approvals given: runTools asks for each (the policy answers) and waits in between.
      const pending = tools.runTools(calls, [tool]);
      calls[1]!.args.amount = 1_000_000;
      calls[1]!.name = 'something_else';
      return (await pending).map(describeRun).join(',');
    });
    expect(outcome).toBe('ok,ok');
    expect(seen).toEqual([{ amount: 1 }, { amount: 2 }]);
  });

  it('a getter is read once: the approval is checked and the tool runs on what it answered then', async () => {
    const { tool, seen } = transferTool();
    let reads = 0;
    const { outcome } = await runWith(async ({ tools }) => {
      const approval = await tools.requestApproval({ action: 'transfer', args: { amount: 10 } });
      // Answers 10 while it is being checked, and a million once the check is done.
      const args = {
        get amount() {
          reads++;
          return reads <= 2 ? 10 : 1_000_000;
        },
      };
      const [run] = await tools.runTools([{ id: 'c1', name: 'transfer', args, irreversible: true }], [tool], {
        approvals: [approval],
        missing: 'refuse',
      });
      return describeRun(run);
    });
    expect(outcome).toBe('ok');
    expect(seen).toEqual([{ amount: 10 }]);
  });

  it('a getter that answers differently on every read: the tool runs on the value that was approved, or not at all', async () => {
    const { tool, seen } = transferTool();
    const { outcome } = await runWith(async ({ tools }) => {
      const approval = await tools.requestApproval({ action: 'transfer', args: { amount: 10 } });
      let reads = 0;
      const args = {
        get amount() {
          reads++;
          return reads === 1 ? 10 : 1_000_000 + reads;
        },
      };
      const [run] = await tools.runTools([{ id: 'c1', name: 'transfer', args, irreversible: true }], [tool], {
        approvals: [approval],
        missing: 'refuse',
      });
      return describeRun(run);
    });
    // Read once, the call is the approved one and runs with it.
    expect(outcome).toBe('ok');
    expect(seen).toEqual([{ amount: 10 }]);
  });

  it('a Proxy on the args answers the check and the tool alike', async () => {
    const { tool, seen } = transferTool();
    const { outcome } = await runWith(async ({ tools }) => {
      const approval = await tools.requestApproval({ action: 'transfer', args: { amount: 10 } });
      let reads = 0;
      const args = new Proxy({ amount: 10 } as Record<string, unknown>, {
        get(target, key, receiver) {
          if (key === 'amount') return ++reads <= 2 ? 10 : 1_000_000;
          return Reflect.get(target, key, receiver);
        },
      });
      const [run] = await tools.runTools([{ id: 'c1', name: 'transfer', args, irreversible: true }], [tool], {
        approvals: [approval],
        missing: 'refuse',
      });
      return describeRun(run);
    });
    expect(outcome).toBe('ok');
    expect(seen).toEqual([{ amount: 10 }]);
  });

  it('the tool receives a frozen copy equal to the approved args, not the caller’s object', async () => {
    const { tool, given } = transferTool();
    const original = { amount: 10, memo: { note: 'rent' } };
    const { outcome, log } = await runWith(async ({ tools }) => {
      const approval = await tools.requestApproval({ action: 'transfer', args: original });
      const [run] = await tools.runTools(
        [{ id: 'c1', name: 'transfer', args: original, irreversible: true }],
        [tool],
        { approvals: [approval], missing: 'refuse' },
      );
      return describeRun(run);
    });
    expect(outcome).toBe('ok');
    expect(given).toHaveLength(1);
    const args = given[0] as typeof original;
    expect(args).not.toBe(original);
    expect(deeplyFrozen(args)).toBe(true);
    expect(args).toEqual(original);
    // Equal to what was requested and approved on the log, hash included.
    const requested = approvalRecords(log).find((p) => p.phase === 'requested')!;
    expect(requested.args).toEqual(args);
    expect(requested.argsHash).toBe(stableHash({ action: 'transfer', args }));
    // The caller's own object is left as it was: not frozen, still theirs.
    expect(Object.isFrozen(original)).toBe(false);
  });

  it('requestApproval records a copy taken when asked: changing the object afterwards changes neither the request nor what it approves', async () => {
    const { tool, seen } = transferTool();
    const { outcome, log } = await runWith(async ({ tools }) => {
      const args = { amount: 10 };
      const asked = tools.requestApproval({ action: 'transfer', args });
      args.amount = 1_000_000; // the caller's object is still the caller's
      const approval: ApprovalDecision = await asked;
      const runs = await tools.runTools(
        [
          { id: 'c1', name: 'transfer', args, irreversible: true },
          { id: 'c2', name: 'transfer', args: { amount: 10 }, irreversible: true },
        ],
        [tool],
        { approvals: [approval], missing: 'refuse' },
      );
      return runs.map(describeRun).join(',');
    });
    expect(outcome).toBe('approval_required,ok');
    expect(seen).toEqual([{ amount: 10 }]);
    expect(approvalRecords(log).find((p) => p.phase === 'requested')?.args).toEqual({ amount: 10 });
  });

  it('property: whatever the caller does to its objects after calling, the tool runs on a snapshot taken at the call', async () => {
    const json = fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 6 });
    await fc.assert(
      fc.asyncProperty(json, fc.jsonValue({ maxDepth: 2 }), async (generated, generatedPoison) => {
        // The caller's own objects: fast-check keeps the values it generated (to shrink and replay them), so
        // the property mutates copies, never those.
        const args = structuredClone(generated);
        const poison = structuredClone(generatedPoison);
        // (A copy, not a JSON round trip: JSON writes -0 as 0, and the tool rightly gets the -0 it was given.)
        const snapshot = structuredClone(args);
        const received: unknown[] = [];
        const echo: ToolDefinition = {
          name: 'echo',
          description: 'Keeps its args.',
          parameters: z.record(z.string(), z.unknown()),
          run: (a) => void received.push(a),
        };
        const pending = runToolCalls([{ id: 'c', name: 'echo', args, irreversible: false }], [echo], {
          signal: new AbortController().signal,
        });
        // Overwrite every container the caller holds, all the way down, each once. (Mutating fast-check's own
        // values made a shrunk run start from a poisoned, self-holding object: this walk then never ended,
        // grew its stack past V8's array limit and killed the test worker now and then.)
        const stack: unknown[] = [args];
        const done = new Set<object>();
        while (stack.length > 0) {
          const v = stack.pop() as Record<string, unknown>;
          if (typeof v !== 'object' || v === null || done.has(v)) continue;
          done.add(v);
          for (const k of Object.keys(v)) {
            stack.push(v[k]);
            v[k] = poison;
          }
          v.injected = poison;
        }
        const [run] = await pending;
        expect(run?.ok).toBe(true);
        expect(received).toEqual([snapshot]);
        expect(deeplyFrozen(received[0])).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});

const deep = (n: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = [v];
  return v;
};
const deepObject = (n: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
};

describe('approval and tool arguments are bounded before anything recursive sees them', () => {
  const signal = new AbortController().signal;
  const runs: unknown[] = [];
  const anyTool = (irreversible: boolean): ToolDefinition => ({
    name: 'x',
    description: 'Takes anything.',
    parameters: z.unknown(),
    irreversible,
    run: (a) => void runs.push(a),
  });
  const runOne = (args: unknown, irreversible = true) =>
    runToolCalls([{ id: 'c', name: 'x', args, irreversible } as ValidatedToolCall], [anyTool(irreversible)], {
      signal,
    });

  it('runToolCalls with 100,000-deep args resolves invalid_args naming the bound (found: RangeError)', async () => {
    runs.length = 0;
    for (const args of [deep(100_000), deepObject(100_000)]) {
      for (const irreversible of [true, false]) {
        const [run] = await runOne(args, irreversible);
        expect(run).toMatchObject({ ok: false, code: 'invalid_args', limit: { name: 'maxDepth', max: 256 } });
        expect((run as { message: string }).message).toMatch(/maxDepth/);
      }
    }
    expect(runs).toEqual([]);
  });

  it('runToolCalls refuses args over the byte bound, and args that are not plain JSON, with invalid_args', async () => {
    runs.length = 0;
    const [big] = await runOne({ blob: 'x'.repeat(9 * 1024 * 1024) });
    expect(big).toMatchObject({ ok: false, code: 'invalid_args', limit: { name: 'maxBytes' } });
    // A DAG that is small in memory and astronomically large as JSON.
    let dag: unknown = 'x';
    for (let i = 0; i < 60; i++) dag = [dag, dag];
    const [blowup] = await runOne(dag);
    expect(blowup).toMatchObject({ ok: false, code: 'invalid_args', limit: { name: 'maxBytes' } });
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    const throwing = {
      get a() {
        throw new Error('boom');
      },
    };
    for (const args of [cycle, { f: () => 1 }, { n: 10n }, { d: new Date(0) }, { n: Number.NaN }, throwing]) {
      const [run] = await runOne(args);
      expect(run).toMatchObject({ ok: false, code: 'invalid_args' });
      expect(run).not.toHaveProperty('limit');
    }
    expect(runs).toEqual([]);
  });

  it('runToolCalls checks the args against the tool’s parameters before asking for or using an approval', async () => {
    const { tool, given } = transferTool();
    let asked = 0;
    const [run] = await runToolCalls(
      [{ id: 'c', name: 'transfer', args: { amount: 'ten' }, irreversible: true }],
      [tool],
      {
        signal,
        requestApproval: async () => {
          asked++;
          return {};
        },
      },
    );
    expect(run).toMatchObject({ ok: false, code: 'invalid_args' });
    expect(asked).toBe(0);
    expect(given).toEqual([]);
  });

  it('tools.requestApproval with 100,000-deep args rejects with code limit_exceeded (found: the activation died of a stack overflow)', async () => {
    const { outcome, log, result } = await runWith(async ({ tools }) => {
      const answers: string[] = [];
      for (const args of [deep(100_000), deepObject(100_000), { blob: 'x'.repeat(9 * 1024 * 1024) }]) {
        try {
          await tools.requestApproval({ action: 'transfer', args });
          answers.push('answered');
        } catch (error) {
          const e = error as Error & { code?: string; limit?: { name: string } };
          answers.push(`${e.code}:${e.limit?.name}:${e instanceof RangeError}`);
        }
      }
      return answers.join(',');
    });
    expect(result.outcome).toBe('quiescent');
    expect(outcome).toBe(
      'limit_exceeded:maxDepth:false,limit_exceeded:maxDepth:false,limit_exceeded:maxBytes:false',
    );
    // Nothing was requested: a refused request is not on the log.
    expect(approvalRecords(log)).toEqual([]);
  });

  it('stableHash (model cache keys, approval hashes) never overflows the stack', () => {
    expect(stableHash(deep(100_000))).toMatch(/^[0-9a-f]{64}$/);
    expect(stableHash(deepObject(100_000))).toBe(stableHash(deepObject(100_000)));
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => stableHash(cycle)).toThrow(TypeError);
    // A DAG small in memory and astronomically large as JSON: a typed limit, never the process dying (the
    // list of written fragments once outgrew V8's array limit, a fatal error, before the length bound).
    let dag: unknown = 'x';
    for (let i = 0; i < 60; i++) dag = [dag, dag];
    expect(() => stableHash(dag)).toThrow(expect.objectContaining({ code: 'limit_exceeded' }));
  });
});

describe('a remote agent (hostAgents) binds its approval to the args it asked with', () => {
  it('changing the args object after asking changes neither the request nor what the approval covers', async () => {
    const { tool, seen } = transferTool();
    const REMOTE = 'remote-agent-token-approval-args-0123456789';
    const remote = defineAgent<B>({
      id: 'remote-payer',
      watches: [['go']],
      writes: [['outcome']],
      retry: { attempts: 1 },
      machine: stepMachine<B, string>({
        when: (b) => b.go && !b.outcome.has('remote-payer'),
        work: async ({ tools }) => {
          const args = { amount: 10 };
          const asked = tools.requestApproval({ action: 'transfer', args });
          args.amount = 1_000_000;
          const approval = await asked;
          const runs = await tools.runTools(
            [
              { id: 'c1', name: 'transfer', args, irreversible: true },
              { id: 'c2', name: 'transfer', args: { amount: 10 }, irreversible: true },
            ],
            [tool],
            { approvals: [approval], missing: 'refuse' },
          );
          return runs.map(describeRun).join(',');
        },
        done: (d, output) => void d.outcome.set('remote-payer', output),
      }),
    });
    const rt = createRuntime({
      board: { schema: Board, initial: { go: false, outcome: {} } },
      agents: [remote],
      remote: ['remote-payer'],
      limits: { approvalTimeoutMs: 60_000 },
    });
    const hub = await rt.listen({ tokens: { [REMOTE]: 'agent:remote-payer' }, log: () => {} });
    const client = await connect(hub.url, { token: REMOTE, reconnect: false });
    try {
      await hostAgents({ client, schema: Board, agents: [remote] });
      const handle = await rt.start({ go: true });
      const log: LogEvent[] = [];
      handle.board.subscribe({ from: 1 }, (e) => {
        log.push(e);
        if (e.type !== 'message' || e.topic !== TOPICS.approval) return;
        const p = e.payload as { phase: string; requestId: string };
        if (p.phase === 'requested') void rt.approve(p.requestId, { by: 'alice' });
      });
      const result = await handle.result;
      expect(result.board.outcome.get('remote-payer')).toBe('approval_required,ok');
      expect(seen).toEqual([{ amount: 10 }]);
      expect(approvalRecords(log).find((p) => p.phase === 'requested')?.args).toEqual({ amount: 10 });
    } finally {
      client.close();
      await hub.close();
      await rt.close();
    }
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ApprovalDecision,
  agentActions,
  type BoardEvent,
  createRuntime,
  defineAgent,
  FileStore,
  keyed,
  type LogEvent,
  type RunHandle,
  type Store,
  stepMachine,
  TOPICS,
} from 'hearsay';
import { connect, hostAgents } from 'hearsay/client';
import { afterAll, describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { z } from 'zod';
import { runToolCalls, stableHash, type ToolRun, type ValidatedToolCall } from '../../src/llm/index.js';
import { transferTool } from '../support/transfer-tool.js';

// Attacks on "an irreversible action runs only while holding an approval requested for that run, that
// action and those canonical arguments, answered by someone allowed to, and consumed once on the log".

const Board = z.object({ go: z.boolean(), saved: z.unknown(), outcome: keyed(z.string()) });
type B = z.output<typeof Board>;
const initial = { go: false, saved: null, outcome: {} };

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true, maxRetries: 5 })));
});
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hearsay-single-use-'));
  dirs.push(dir);
  return dir;
};

/** Money actually moved. */
const transfers: unknown[] = [];
const transfer = transferTool(transfers);
const call = (args: Record<string, unknown>, id = 'c1'): ValidatedToolCall => ({
  id,
  name: 'transfer_funds',
  args,
  irreversible: true,
});
const codes = (runs: readonly ToolRun[]) => runs.map((r) => (r.ok ? 'ok' : r.code));

/**
 * Options for runTools holding `approvals`. They also carry the `approved` test of the API this replaced
 * (`approves(decision, call)`: approved, and the hash of the call's action and arguments matches), so
 * each attack below is the one that worked before the fix; today that option is not part of the API and
 * is ignored.
 */
const holding = (approvals: readonly unknown[], missing: 'refuse' | 'request' = 'refuse') =>
  ({
    approvals,
    missing,
    approved: (c: ValidatedToolCall) =>
      approvals.some(
        (d) =>
          (d as ApprovalDecision | undefined)?.approved === true &&
          (d as ApprovalDecision).argsHash === stableHash({ action: c.name, args: c.args }),
      ),
  }) as unknown as { approvals: ApprovalDecision[]; missing: 'refuse' | 'request' };

/** An agent that does `work` once the run is on, and records its answer under `outcome.<id>`. */
function agent(
  id: string,
  work: (event: BoardEvent<B>) => Promise<string>,
  when: (b: B) => boolean = (b) => b.go,
  extra: { writes?: (keyof B)[]; watches?: (keyof B)[] } = {},
) {
  return defineAgent<B>({
    id,
    watches: (extra.watches ?? ['go']).map((k) => [k] as const),
    writes: [['outcome'], ...(extra.writes ?? []).map((k) => [k] as const)],
    retry: { attempts: 1 },
    machine: stepMachine<B, string>({
      when: (b) => when(b) && !b.outcome.has(id),
      work,
      done: (d, output) => void d.outcome.set(id, output),
    }),
  });
}

type Team = Parameters<typeof createRuntime<typeof Board>>[0]['agents'];
const runtimeOf = (agents: Team, limits: Record<string, unknown> = {}, store?: Store) =>
  createRuntime({
    board: { schema: Board, initial },
    agents,
    limits: { approvalTimeoutMs: 60_000, ...limits },
    ...(store ? { store } : {}),
  });

/** Starts a run and answers every approval request it makes with `answer`, as an operator would. */
async function answering(
  start: () => Promise<RunHandle<B>>,
  answer: (requestId: string, payload: Record<string, unknown>) => Promise<unknown>,
) {
  const handle = await start();
  const log: LogEvent[] = [];
  handle.board.subscribe({ from: 1 }, (e) => {
    log.push(e);
    if (e.type !== 'message' || e.topic !== TOPICS.approval) return;
    const p = e.payload as { phase: string; requestId: string };
    if (p.phase === 'requested') void answer(p.requestId, p as never);
  });
  const result = await handle.result;
  return { result, log, handle };
}
const approvalPhases = (log: readonly LogEvent[]) =>
  log.flatMap((e) =>
    e.type === 'message' && e.topic === TOPICS.approval
      ? [(e.payload as { phase: string; requestId: string; code?: string }).phase]
      : [],
  );
const toolRecords = (log: readonly LogEvent[]) =>
  log.flatMap((e) =>
    e.type === 'message' && e.topic === TOPICS.tool ? [e.payload as { ok: boolean; code?: string }] : [],
  );

describe('an approval is single-use where tools run', () => {
  it('a duplicate call in the same activation does not run twice on one approval (found attack 1)', async () => {
    transfers.length = 0;
    const args = { to: 'acme', amount: 120 };
    const rt = runtimeOf([
      agent('cashier', async ({ tools }) => {
        const approval = await tools.requestApproval({ action: 'transfer_funds', args });
        const runs = await tools.runTools(
          [call(args, 'c1'), call(args, 'c2')],
          [transfer],
          holding([approval]),
        );
        return codes(runs).join(',');
      }),
    ]);
    const { result, log } = await answering(
      () => rt.start({ go: true }),
      (id) => rt.approve(id, { by: 'alice' }),
    );
    expect(result.board.outcome.get('cashier')).toBe('ok,approval_used');
    expect(transfers).toEqual([args]);
    // One use on the log, and the second use refused there too.
    expect(approvalPhases(log)).toEqual(['requested', 'answered', 'used', 'refused']);
    expect(toolRecords(log).map((t) => t.code ?? 'ok')).toEqual(['ok', 'approval_used']);
  });

  it('concurrent duplicate calls in one activation: exactly one runs', async () => {
    transfers.length = 0;
    const args = { to: 'acme', amount: 5 };
    const rt = runtimeOf([
      agent('cashier', async ({ tools }) => {
        const approval = await tools.requestApproval({ action: 'transfer_funds', args });
        const all = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            tools.runTools([call(args, `c${i}`)], [transfer], holding([approval])),
          ),
        );
        return codes(all.flat()).sort().join(',');
      }),
    ]);
    const { result } = await answering(
      () => rt.start({ go: true }),
      (id) => rt.approve(id, { by: 'alice' }),
    );
    expect(result.board.outcome.get('cashier')).toBe(`${'approval_used,'.repeat(7)}ok`);
    expect(transfers).toHaveLength(1);
  });

  it('the same arguments in another key order are the same call, and need another approval (found attack 2)', async () => {
    transfers.length = 0;
    const rt = runtimeOf([
      agent('cashier', async ({ tools }) => {
        const approval = await tools.requestApproval({
          action: 'transfer_funds',
          args: { to: 'acme', amount: 7 },
        });
        const runs = await tools.runTools(
          [call({ to: 'acme', amount: 7 }), call({ amount: 7, to: 'acme' }, 'c2')],
          [transfer],
          holding([approval]),
        );
        return codes(runs).join(',');
      }),
    ]);
    const { result } = await answering(
      () => rt.start({ go: true }),
      (id) => rt.approve(id, { by: 'alice' }),
    );
    expect(result.board.outcome.get('cashier')).toBe('ok,approval_used');
    expect(transfers).toHaveLength(1);
  });

  it('a decision kept by one activation is refused to a later one once used, live or as recorded on the board (found attack 3)', async () => {
    transfers.length = 0;
    const args = { to: 'acme', amount: 9 };
    let kept: ApprovalDecision | undefined;
    const payer = defineAgent<B>({
      id: 'payer',
      watches: [['go']],
      writes: [['saved'], ['outcome']],
      retry: { attempts: 1 },
      machine: stepMachine<B, { code: string; decision: ApprovalDecision }>({
        when: (b) => b.go && !b.outcome.has('payer'),
        work: async ({ tools }) => {
          const decision = await tools.requestApproval({ action: 'transfer_funds', args });
          kept = decision;
          const [run] = await tools.runTools([call(args)], [transfer], holding([decision], 'request'));
          return { code: run!.ok ? 'ok' : run!.code, decision };
        },
        done: (d, out) => {
          d.outcome.set('payer', out.code);
          // The decision as the log and board keep it: plain data.
          d.saved = JSON.parse(JSON.stringify(out.decision));
        },
      }),
    });
    const replayer = agent(
      'replayer',
      async ({ board, tools }) => {
        const fromBoard = await tools.runTools(
          [call(args)],
          [transfer],
          holding([board.saved as ApprovalDecision]),
        );
        const live = await tools.runTools([call(args)], [transfer], holding([kept!]));
        return [...codes(fromBoard), ...codes(live)].join(',');
      },
      (b) => b.saved !== null,
      { watches: ['saved'] },
    );
    const rt = runtimeOf([payer, replayer]);
    const { result, log } = await answering(
      () => rt.start({ go: true }),
      (id) => rt.approve(id, { by: 'alice' }),
    );
    expect(result.board.outcome.get('payer')).toBe('ok');
    expect(result.board.outcome.get('replayer')).toBe('approval_required,approval_used');
    expect(transfers).toEqual([args]);
    expect(approvalPhases(log)).toEqual(['requested', 'answered', 'used', 'refused']);
  });

  it('a decision built by hand with the exported hash, for a call never requested, approves nothing (found attack 4)', async () => {
    transfers.length = 0;
    const args = { to: 'attacker', amount: 1e9 };
    const forgeries = (requestId: string): unknown[] => {
      const argsHash = stableHash({ action: 'transfer_funds', args });
      const base = { approved: true, requestId, argsHash, by: 'operator', comment: 'ok' };
      return [
        base,
        { ...base, argsHash: argsHash.slice(0, 16) },
        Object.freeze({ ...base }),
        JSON.parse(JSON.stringify(base)),
        Object.create(base),
        new Proxy(base, {}),
      ];
    };
    let requestedId = '';
    const rt = runtimeOf([
      agent('forger', async ({ tools, activation }) => {
        // Never requested at all.
        const never = await Promise.all(
          forgeries(`run/${activation.id}:1:abc`).map((f) =>
            tools.runTools([call(args)], [transfer], holding([f as ApprovalDecision])),
          ),
        );
        // Requested for other arguments, then dressed up for these: the live approval is for the others.
        const other = await tools.requestApproval({
          action: 'transfer_funds',
          args: { to: 'acme', amount: 1 },
        });
        requestedId = other.requestId;
        const dressed = await Promise.all(
          [
            ...forgeries(other.requestId),
            { ...other, argsHash: stableHash({ action: 'transfer_funds', args }) },
          ].map((f) => tools.runTools([call(args)], [transfer], holding([f as ApprovalDecision, other]))),
        );
        // Through the model layer's runToolCalls too, outside runTools.
        const direct = await runToolCalls([call(args)], [transfer], {
          signal: tools.signal,
          ...holding(forgeries(other.requestId)),
        });
        return [...never.flat(), ...dressed.flat(), ...direct].map((r) => (r.ok ? 'ok' : r.code)).join(',');
      }),
    ]);
    const { result, log } = await answering(
      () => rt.start({ go: true }),
      (id) => rt.approve(id, { by: 'alice' }),
    );
    const out = String(result.board.outcome.get('forger')).split(',');
    expect(out).toHaveLength(6 + 7 + 1);
    expect(new Set(out)).toEqual(new Set(['approval_required']));
    expect(transfers).toEqual([]);
    expect(requestedId).not.toBe('');
    // The real approval for other arguments was never consumed by these calls.
    expect(approvalPhases(log)).toEqual(['requested', 'answered']);
    expect(toolRecords(log).every((t) => t.code === 'approval_required')).toBe(true);
  });

  it('a rejected decision runs nothing, and says so', async () => {
    transfers.length = 0;
    const args = { to: 'acme', amount: 3 };
    const rt = runtimeOf([
      agent('cashier', async ({ tools }) => {
        const decision = await tools.requestApproval({ action: 'transfer_funds', args });
        // Even dressed up as approved, a copy of the rejection approves nothing.
        const runs = await tools.runTools(
          [call(args), call(args, 'c2')],
          [transfer],
          holding([decision, { ...decision, approved: true }], 'request'),
        );
        return codes(runs).join(',');
      }),
    ]);
    const { result } = await answering(
      () => rt.start({ go: true }),
      (id) => rt.reject(id, { by: 'bob', reason: 'wrong vendor' }),
    );
    expect(result.board.outcome.get('cashier')).toBe('approval_rejected,approval_rejected');
    expect(transfers).toEqual([]);
  });

  it('an approval of another run approves nothing in this one', async () => {
    transfers.length = 0;
    const args = { to: 'acme', amount: 11 };
    let stolen: ApprovalDecision | undefined;
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const rt = runtimeOf([
      agent('cashier', async ({ board, tools }) => {
        if (board.saved === 'victim') {
          // The victim run is approved, and keeps its approval unused while the other run tries it.
          stolen = await tools.requestApproval({ action: 'transfer_funds', args });
          await held;
          return 'kept';
        }
        while (!stolen) await tools.sleep(1);
        const runs = await tools.runTools([call(args)], [transfer], holding([stolen]));
        release();
        return runs.map((r) => (r.ok ? 'ok' : `${r.code}: ${r.message}`)).join(',');
      }),
    ]);
    const victim = answering(
      () => rt.start({ go: true, saved: 'victim' }),
      (id) => rt.approve(id, { by: 'alice' }),
    );
    const thief = await rt.run({ go: true, saved: 'thief' });
    expect(thief.board.outcome.get('cashier')).toMatch(/^approval_required: .*issued for run/);
    expect((await victim).result.board.outcome.get('cashier')).toBe('kept');
    expect(transfers).toEqual([]);
  });

  it('a use recorded on a FileStore log holds after a restart: the resumed run needs a new approval, and a kept decision is refused', async () => {
    transfers.length = 0;
    const dir = await tempDir();
    const args = { to: 'acme', amount: 99 };
    let kept: ApprovalDecision[] | undefined;
    const payer = agent('payer', async ({ tools }) => {
      // A decision kept from an earlier run of this activation, live or as the log has it: refused.
      if (kept) {
        const [again] = await tools.runTools([call(args)], [transfer], holding(kept));
        if (again!.ok) return 'ran again';
      }
      const decision = await tools.requestApproval({ action: 'transfer_funds', args });
      const [run] = await tools.runTools([call(args)], [transfer], holding([decision]));
      if (run!.ok) kept = [decision, JSON.parse(JSON.stringify(decision))];
      // Then the activation waits for a second human decision (the run pauses here).
      await tools.requestApproval({ action: 'notify', args: { who: 'finance' } });
      return run!.ok ? 'paid' : run!.code;
    });
    // No timeout: the run pauses when its only activation waits on a human.
    const first = runtimeOf([payer], { approvalTimeoutMs: undefined }, new FileStore({ dir }));
    const paused = await first.run({ go: true }, { runId: 'pay' });
    expect(paused.outcome).toBe('awaiting_approval');
    const [asked] = await first.pendingApprovals('pay');
    expect(asked).toMatchObject({ action: 'transfer_funds', args, runId: 'pay', agentId: 'payer' });
    expect(await first.approve(asked!.requestId, { by: 'alice' })).toBe('answered');
    const second = await (await first.resume('pay')).result;
    expect(second.outcome).toBe('awaiting_approval');
    expect(transfers).toEqual([args]);
    await first.close();
    // A new process on the same folder: the activation runs again from its start.
    const store = new FileStore({ dir });
    const restarted = runtimeOf([payer], { approvalTimeoutMs: undefined }, store);
    const [notify] = await restarted.pendingApprovals('pay');
    expect(notify).toMatchObject({ action: 'notify', runId: 'pay' });
    expect(await restarted.approve(notify!.requestId, { by: 'alice' })).toBe('answered');
    const resumed = await restarted.resume('pay');
    const log: LogEvent[] = [];
    resumed.board.subscribe({ from: 1 }, (e) => void log.push(e));
    const third = await resumed.result;
    // The transfer's approval was used once (the log says so): asked again, it is a new request.
    expect(third.outcome).toBe('awaiting_approval');
    expect(transfers).toEqual([args]);
    const pending = await restarted.pendingApprovals('pay');
    expect(pending.map((p) => p.action)).toEqual(['transfer_funds']);
    expect(pending[0]!.requestId).toMatch(/#2$/);
    // The log holds the one use (the second run) and the refusal of the kept decisions (this run).
    expect(toolRecords(log).map((t) => t.code ?? 'ok')).toEqual(['ok', 'approval_required']);
    await restarted.close();
    await store.close();
  });

  it('entering a state tagged irreversible consumes its approval on the log', async () => {
    const { commit } = agentActions<B>();
    const deployer = defineAgent<B>({
      id: 'deployer',
      watches: [['go']],
      writes: [['outcome']],
      machine: setup({ types: { events: {} as BoardEvent<B> } }).createMachine({
        initial: 'idle',
        states: {
          idle: { on: { board: { guard: ({ event }) => event.board.go, target: 'deploying' } } },
          deploying: {
            tags: ['irreversible'],
            entry: commit(() => (d) => void d.outcome.set('deploy', 'deployed')),
            type: 'final',
          },
        },
      }),
    });
    const rt = runtimeOf([deployer]);
    const { result, log } = await answering(
      () => rt.start({ go: true }),
      (id) => rt.approve(id, { by: 'ops' }),
    );
    expect(result.board.outcome.get('deploy')).toBe('deployed');
    expect(approvalPhases(log)).toEqual(['requested', 'answered', 'used']);
    // The use is on the log before the state's entry action committed.
    const usedAt = log.findIndex(
      (e) => e.type === 'message' && (e.payload as { phase?: string }).phase === 'used',
    );
    const committedAt = log.findIndex((e) => e.type === 'commit' && e.author === 'deployer');
    expect(usedAt).toBeGreaterThan(-1);
    expect(usedAt).toBeLessThan(committedAt);
  });

  it('tools.runTools asks for a missing approval itself, one request per run of the action', async () => {
    transfers.length = 0;
    const args = { to: 'acme', amount: 1 };
    const rt = runtimeOf([
      agent('cashier', async ({ tools }) =>
        codes(await tools.runTools([call(args), call(args, 'c2')], [transfer])).join(','),
      ),
    ]);
    const { result, log } = await answering(
      () => rt.start({ go: true }),
      (id) => rt.approve(id, { by: 'alice' }),
    );
    expect(result.board.outcome.get('cashier')).toBe('ok,ok');
    expect(transfers).toHaveLength(2);
    expect(approvalPhases(log)).toEqual(['requested', 'answered', 'used', 'requested', 'answered', 'used']);
  });
});

describe('remote agents and irreversible tools', () => {
  it("a remote agent uses its approval once, on the run's log; a copy or its own test approves nothing", async () => {
    transfers.length = 0;
    const args = { to: 'acme', amount: 50 };
    const OPS = 'operator-token-single-use-0123456789';
    const REMOTE = 'remote-agent-token-single-use-0123456789';
    const remote = agent('remote-cashier', async ({ tools }) => {
      const approval = await tools.requestApproval({ action: 'transfer_funds', args });
      const twice = await tools.runTools([call(args), call(args, 'c2')], [transfer], holding([approval]));
      const copied = await tools.runTools([call(args)], [transfer], holding([{ ...approval }]));
      return `${approval.approved}:${codes([...twice, ...copied]).join(',')}`;
    });
    const rt = createRuntime({
      board: { schema: Board, initial },
      agents: [remote],
      remote: ['remote-cashier'],
      limits: { approvalTimeoutMs: 60_000 },
    });
    const hub = await rt.listen({
      tokens: { [OPS]: 'operator', [REMOTE]: 'agent:remote-cashier' },
      log: () => {},
    });
    const client = await connect(hub.url, { token: REMOTE, reconnect: false });
    try {
      await hostAgents({ client, schema: Board, agents: [remote] });
      const { result, log } = await answering(
        () => rt.start({ go: true }),
        (id) => rt.approve(id, { by: 'alice' }),
      );
      // The tool ran in the remote process (the same module here) once, after the runtime recorded the use.
      expect(result.board.outcome.get('remote-cashier')).toBe('true:ok,approval_used,approval_required');
      expect(transfers).toEqual([args]);
      expect(approvalPhases(log)).toEqual(['requested', 'answered', 'used']);
    } finally {
      client.close();
      await hub.close();
      await rt.close();
    }
  });
});

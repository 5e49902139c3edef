import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import {
  type BoardEvent,
  createRuntime,
  defineAgent,
  keyed,
  type RunHandle,
  stepMachine,
  TOPICS,
} from 'hearsay';
import { connect } from 'hearsay/client';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { transferTool } from '../support/transfer-tool.js';

// "A human-in-the-loop step that never happened looks like success": a rejected or timed-out approval must
// show in the run's outcome, and waiting requests must be discoverable without replaying a log.

const Board = z.object({ go: z.boolean(), outcome: keyed(z.string()) });
type B = z.output<typeof Board>;
const initial = { go: false, outcome: {} };

const transfers: unknown[] = [];
const transfer = transferTool(transfers);
const args = { to: 'acme', amount: 120 };

/** Pays through tools.runTools, which asks a human first; records what came of it. */
const cashier = defineAgent<B>({
  id: 'cashier',
  watches: [['go']],
  writes: [['outcome']],
  retry: { attempts: 1 },
  machine: stepMachine<B, string>({
    when: (b) => b.go && !b.outcome.has('cashier'),
    work: async ({ tools }: BoardEvent<B>) => {
      const [run] = await tools.runTools(
        [{ id: 'c1', name: 'transfer_funds', args, irreversible: true }],
        [transfer],
      );
      return run!.ok ? 'paid' : run!.code;
    },
    done: (d, out) => void d.outcome.set('cashier', out),
  }),
});
const runtimeOf = (limits: Record<string, unknown>) =>
  createRuntime({ board: { schema: Board, initial }, agents: [cashier], limits });

/** Resolves with the first approval request a run makes. */
const firstRequest = (handle: RunHandle<B>) =>
  new Promise<string>((resolve) => {
    handle.board.subscribe({ topics: [TOPICS.approval] }, (e) => {
      const p = e.type === 'message' ? (e.payload as { phase: string; requestId: string }) : undefined;
      if (p?.phase === 'requested') resolve(p.requestId);
    });
  });

describe('a declined irreversible step is part of the outcome', () => {
  it('a rejection: the reason and result.declined say which request, which action, who and why', async () => {
    transfers.length = 0;
    const rt = runtimeOf({ approvalTimeoutMs: 60_000 });
    const handle = await rt.start({ go: true });
    const requestId = await firstRequest(handle);
    expect(await rt.reject(requestId, { by: 'bob', reason: 'wrong vendor' })).toBe('answered');
    const result = await handle.result;
    expect(result.board.outcome.get('cashier')).toBe('approval_rejected');
    expect(transfers).toEqual([]);
    expect(result.declined).toEqual([
      {
        requestId,
        agentId: 'cashier',
        action: 'transfer_funds',
        args,
        why: 'rejected',
        by: 'bob',
        reason: 'wrong vendor',
      },
    ]);
    expect(result.reason).toContain(`transfer_funds (${requestId}) rejected by bob: wrong vendor`);
    expect(result.reason).toMatch(/did not happen/);
  });

  it('a timeout is not a rejection by someone: it says it timed out', async () => {
    transfers.length = 0;
    const result = await runtimeOf({ approvalTimeoutMs: 20 }).run({ go: true });
    expect(transfers).toEqual([]);
    expect(result.declined).toHaveLength(1);
    expect(result.declined[0]).toMatchObject({ action: 'transfer_funds', why: 'timed_out', args });
    expect(result.reason).toMatch(/transfer_funds \(.+\) timed out: no answer within 20 ms/);
  });

  it('a run whose approvals were granted declines nothing', async () => {
    transfers.length = 0;
    const rt = runtimeOf({ approvalTimeoutMs: 60_000 });
    const handle = await rt.start({ go: true });
    await rt.approve(await firstRequest(handle), { by: 'alice' });
    const result = await handle.result;
    expect(result.declined).toEqual([]);
    expect(result.reason).not.toMatch(/did not happen/);
    expect(transfers).toEqual([args]);
  });
});

describe('pending approvals are listed without replaying a log', () => {
  it('by the runtime: while a run waits, and after it paused awaiting approval', async () => {
    transfers.length = 0;
    const rt = runtimeOf({ approvalTimeoutMs: 60_000 });
    expect(await rt.pendingApprovals()).toEqual([]);
    const handle = await rt.start({ go: true });
    const requestId = await firstRequest(handle);
    const pending = await rt.pendingApprovals();
    expect(pending).toEqual([
      expect.objectContaining({
        runId: handle.runId,
        requestId,
        agentId: 'cashier',
        action: 'transfer_funds',
        args,
      }),
    ]);
    expect(await rt.pendingApprovals(handle.runId)).toEqual(pending);
    expect(await rt.pendingApprovals('another-run')).toEqual([]);
    await rt.approve(requestId, { by: 'alice' });
    expect(await rt.pendingApprovals()).toEqual([]);
    await handle.result;
    // Without a timeout the run pauses; its request is still listed (the run is no longer in flight).
    const paused = runtimeOf({});
    const r = await paused.run({ go: true });
    expect(r.outcome).toBe('awaiting_approval');
    const [waiting] = await paused.pendingApprovals();
    expect(waiting).toMatchObject({ runId: r.runId, action: 'transfer_funds' });
    expect(r.reason).toContain(waiting!.requestId);
    await paused.approve(waiting!.requestId, { by: 'alice' });
    expect(await paused.pendingApprovals()).toEqual([]);
  });

  it('by the hub and the client: a client joining mid-run sees the requests already pending, as its token admits', async () => {
    transfers.length = 0;
    const OPS = 'operator-token-outcomes-0123456789';
    const VIEW = 'inspect-token-outcomes-0123456789';
    const OTHER = 'other-run-token-outcomes-0123456789';
    const rt = runtimeOf({ approvalTimeoutMs: 60_000 });
    const hub = await rt.listen({
      tokens: {
        [OPS]: { roles: ['operator'], name: 'ops' },
        [VIEW]: 'inspect',
        [OTHER]: { roles: ['inspect'], runs: ['some-other-run'] },
      },
      log: () => {},
    });
    try {
      const handle = await rt.start({ go: true }, { runId: 'payday' });
      const requestId = await firstRequest(handle);
      // Joins after the request was made: nothing of the log is replayed here.
      const viewer = await connect(hub.url, { token: VIEW, reconnect: false });
      const ops = await connect(hub.url, { token: OPS, reconnect: false });
      const other = await connect(hub.url, { token: OTHER, reconnect: false });
      try {
        const seen = await viewer.pendingApprovals();
        expect(seen).toEqual([
          expect.objectContaining({ runId: 'payday', requestId, action: 'transfer_funds', args }),
        ]);
        expect(await ops.pendingApprovals('payday')).toEqual(seen);
        expect(await other.pendingApprovals()).toEqual([]);
        expect(await other.pendingApprovals('payday')).toEqual([]);
        expect(await ops.approve(requestId, 'checked')).toBe('answered');
        const result = await handle.result;
        expect(result.board.outcome.get('cashier')).toBe('paid');
        expect(await viewer.pendingApprovals()).toEqual([]);
      } finally {
        for (const c of [viewer, ops, other]) c.close();
      }
    } finally {
      await hub.close();
      await rt.close();
    }
  });
});

const root = new URL('../..', import.meta.url).pathname;
const cliPath = 'dist/src/cli/main.js';
const fixture = 'test/fixtures/approval-workflow.ts';
const exec = promisify(execFile);
const cli = (args: string[], env: Record<string, string> = {}) =>
  exec(process.execPath, [cliPath, ...args], {
    cwd: root,
    timeout: 60_000,
    env: { ...process.env, ...env },
  }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );

describe('hearsay run and hearsay approvals, as child processes', () => {
  it('exits non-zero when an approval timed out, and says which step did not happen; --allow-rejected exits 0', async () => {
    const timedOut = await cli(['run', fixture, '--no-inspect'], { APPROVAL_TIMEOUT_MS: '30' });
    expect(timedOut.code).toBe(1);
    expect(timedOut.stdout).toMatch(/^quiescent: .*timed out/m);
    expect(timedOut.stdout).toMatch(
      /not done: transfer_funds \{"to":"acme","amount":120\} by cashier .* timed out/,
    );
    expect(timedOut.stdout).toMatch(/approval needed \S+: cashier asks to run transfer_funds/);
    const allowed = await cli(['run', fixture, '--no-inspect', '--allow-rejected'], {
      APPROVAL_TIMEOUT_MS: '30',
    });
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toMatch(/not done: transfer_funds/);
  });

  it('prints each request and how to answer it while it waits; answered through the hub, the run goes on and exits 0', async () => {
    const child = spawn(process.execPath, [cliPath, 'run', fixture, '--port', '0'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const printed = new Promise<{ requestId: string; approve: string; hub: string }>((resolve) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        const m = stdout.match(
          /approval needed (\S+): [^\n]*\n {2}approve: (hearsay approve \S+ --hub (\S+))/,
        );
        if (m) resolve({ requestId: m[1]!, approve: m[2]!, hub: m[3]! });
      });
    });
    try {
      const { requestId, approve, hub } = await printed;
      expect(approve).toBe(`hearsay approve ${requestId} --hub ${hub}`);
      // Another process lists what waits, then answers it exactly as printed.
      const listed = await cli(['approvals', '--hub', hub]);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toContain(`approval needed ${requestId}: cashier asks to run transfer_funds`);
      const answered = await cli([...approve.split(' ').slice(1)]);
      expect(answered.stdout).toContain(`Approved ${requestId}.`);
      expect(await exited).toBe(0);
      expect(stdout).toMatch(/^quiescent: /m);
      expect(stdout).not.toMatch(/not done/);
    } finally {
      child.kill();
    }
  });
});

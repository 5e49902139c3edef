import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { MemoryStore } from '../../src/blackboard/index.js';
import { createRuntime, type Runtime } from '../../src/runtime/index.js';
import { TOPICS } from '../../src/scheduler/index.js';
import {
  type HB,
  HubBoard,
  hubInitial,
  incrementer,
  notary,
  touchDuringFirstAttempt,
} from '../fixtures/hub-team.js';
import { runAnsweringApprovals } from '../support/approvals.js';
import { TOKENS } from '../support/hub.js';
import { records } from '../support/team.js';

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

/** Starts the remote-agents process for `ids` and waits until it hosts them. */
async function remoteProcess(
  url: string,
  ids: string,
  token: string = TOKENS.reviewer,
): Promise<ChildProcess> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/fixtures/remote-agents-process.ts', url, token, ids],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  cleanup.push(() => {
    proc.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`the remote process exited (${code})`)));
  });
  return proc;
}

function team(store = new MemoryStore()): Runtime<HB> {
  const runtime = createRuntime({
    store,
    board: { schema: HubBoard, initial: hubInitial },
    // `local` and `remote` both increment n: the scheduler runs them one after the other (see
    // touchDuringFirstAttempt for how a test makes the remote one's commit conflict).
    agents: [incrementer('local', 5), incrementer('remote', 400), notary],
    remote: ['remote', 'notary'],
    goal: (b) => b.notes.length > 0,
  });
  cleanup.push(() => runtime.close());
  return runtime;
}

const tokens = {
  [TOKENS.reviewer]: ['agent:remote', 'agent:notary'],
  [TOKENS.worker]: 'agent:local',
  [TOKENS.limited]: { roles: ['agent:remote', 'agent:notary'], runs: ['elsewhere'] },
  [TOKENS.operator]: 'operator',
} as const;

describe('remote agents', () => {
  it('take part in a run from another process: their commits conflict and retry like local ones', async () => {
    const store = new MemoryStore();
    const runtime = team(store);
    const hub = await runtime.listen({ tokens, log: () => {} });
    await remoteProcess(hub.url, 'remote,notary');
    // The operator approves the remote notary's request as it appears.
    const { result } = await runAnsweringApprovals(
      async () => {
        const handle = await runtime.start({ go: true });
        touchDuringFirstAttempt(handle, 'remote');
        return handle;
      },
      (requestId) => runtime.approve(requestId, { by: 'test' }),
      (runId) => runtime.resume(runId),
    );
    expect(result.outcome, result.reason).toBe('completed');
    expect(result.board.n).toBe(2);
    expect(new Set(result.board.out.keys())).toEqual(new Set(['local', 'remote']));
    expect(result.board.notes).toEqual(['approved']);
    // The whole log, across a pause if the run paused for the approval before the answer reached it.
    const log = await store.read(result.runId, 1);
    const activations = records<{ phase: string; agentId: string; error?: string; next?: string }>(
      log,
      TOPICS.activation,
    );
    // `local` and `remote` both write the number n: the scheduler runs them one after the other, so they
    // never race. While the remote one works, another writer writes n under it: its commit, sent from the
    // other process, conflicts and its activation is retried, as a local one would be.
    const conflicted = activations.filter(
      (a) => (a.agentId === 'remote' || a.agentId === 'local') && a.phase === 'failed',
    );
    expect(conflicted).toHaveLength(1);
    expect(conflicted[0]!.agentId).toBe('remote');
    expect(conflicted[0]).toMatchObject({ next: 'retry', error: expect.stringMatching(/conflict/) });
    // Its retry committed (below); whether its `completed` record comes before the run ends is a race with
    // the notary, which its commit enables and whose note reaches the goal: the commit is what counts.
    // Its commits are on the log as its own, with the activation that made them.
    const remoteCommits = log.filter((e) => e.type === 'commit' && e.author === 'remote');
    expect(remoteCommits).toHaveLength(1);
    expect(remoteCommits[0]).toMatchObject({ activationId: expect.stringMatching(/^remote#/) });
    // Its machine's transitions are recorded like a local agent's.
    const transitions = records<{ agentId: string; from: string; to: string }>(log, TOPICS.transition);
    expect(transitions.some((t) => t.agentId === 'remote' && t.to === 'working')).toBe(true);
  });

  it('fails over to the retry policy when the hosting process dies mid-activation', async () => {
    const runtime = team();
    const hub = await runtime.listen({ tokens, log: () => {} });
    const proc = await remoteProcess(hub.url, 'remote,notary');
    const handle = await runtime.start({ go: true });
    handle.board.subscribe({ from: 1 }, (e) => {
      if (e.type === 'message' && e.topic === TOPICS.activation) {
        const p = e.payload as { phase: string; agentId: string };
        // Kill the process while `remote` is in flight: as soon as its activation has started (no timer
        // racing its work, which could otherwise finish first on a loaded machine).
        if (p.phase === 'started' && p.agentId === 'remote') proc.kill('SIGKILL');
      }
    });
    const result = await handle.result;
    // Without its host the remote agent cannot finish: the run ends, typed, with the reason recorded.
    expect(result.outcome).not.toBe('completed');
    expect(result.failures.map((f) => f.agentId)).toContain('remote');
    expect(result.failures.find((f) => f.agentId === 'remote')!.error).toMatch(
      /disconnected|no process hosts/,
    );
  });

  it('never sends an activation to a process whose token does not admit the run', async () => {
    const runtime = team();
    const hub = await runtime.listen({ tokens, log: () => {} });
    await remoteProcess(hub.url, 'remote,notary', TOKENS.limited);
    const result = await runtime.run({ go: true });
    expect(result.outcome).not.toBe('completed');
    expect(result.board.out.has('remote')).toBe(false);
    expect(result.failures.find((f) => f.agentId === 'remote')?.error).toMatch(/no process hosts/);
  });

  it('refuses to host agents the token does not hold, or that run locally', async () => {
    const runtime = team();
    const hub = await runtime.listen({ tokens, log: () => {} });
    const hello = async (token: string, agents: string[]) => {
      const ws = new WebSocket(hub.url, ['hearsay.v1'], { headers: { authorization: `Bearer ${token}` } });
      cleanup.push(() => ws.close());
      const replies: { type: string; ref?: number; message?: string }[] = [];
      ws.on('message', (d) => replies.push(JSON.parse(d.toString())));
      await new Promise((r) => ws.once('open', r));
      ws.send(JSON.stringify({ v: 1, type: 'hello', id: 1, agents }));
      while (!replies.some((r) => r.ref === 1)) await new Promise((r) => setTimeout(r, 5));
      return replies.find((r) => r.ref === 1)!;
    };
    // A token without the agent's role.
    expect(await hello(TOKENS.reviewer, ['local'])).toMatchObject({ type: 'error', code: 'forbidden' });
    // An agent this runtime runs itself.
    expect(await hello(TOKENS.worker, ['local'])).toMatchObject({
      type: 'error',
      code: 'forbidden',
      message: expect.stringMatching(/not remotely/),
    });
    expect(await hello(TOKENS.reviewer, ['remote'])).toMatchObject({ type: 'ack' });
  });
});

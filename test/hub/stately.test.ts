import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createRuntime } from '../../src/runtime/index.js';
import { HubBoard, hubInitial, incrementer } from '../fixtures/hub-team.js';
import { TOKENS } from '../support/hub.js';

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

type Inspection = {
  type: string;
  sessionId: string;
  rootId: string;
  parentId?: string;
  _version: string;
  createdAt: string;
  definition?: string;
  snapshot?: { status: string; value?: unknown };
  event?: { type: string };
  sourceId?: string;
};

async function statelyStream(url: string): Promise<{ frames: Inspection[]; ws: WebSocket }> {
  const ws = new WebSocket(url.replace(/\/hearsay$/, '/hearsay/stately'), {
    headers: { authorization: `Bearer ${TOKENS.inspect}` },
  });
  cleanup.push(() => ws.close());
  const frames: Inspection[] = [];
  ws.on('message', (d, binary) => {
    expect(binary).toBe(false);
    frames.push(JSON.parse(d.toString()));
  });
  await new Promise((r) => ws.once('open', r));
  return { frames, ws };
}

describe('the Stately-compatible stream', () => {
  it("emits each agent's statechart and transitions in @statelyai/inspect's format, the board as the root actor", async () => {
    const runtime = createRuntime({
      board: { schema: HubBoard, initial: hubInitial },
      agents: [incrementer('a', 5), incrementer('b', 1)],
      goal: (b) => b.n >= 2,
    });
    cleanup.push(() => runtime.close());
    const hub = await runtime.listen({ tokens: { [TOKENS.inspect]: 'inspect' }, log: () => {} });
    const { frames } = await statelyStream(hub.url);
    const result = await runtime.run({ go: true }, { runId: 'nightly' });
    expect(result.outcome).toBe('completed');
    // Either agent may commit last (the other's first commit conflicts and is retried): wait for both.
    const committed = (id: string) =>
      frames.some((f) => f.type === '@xstate.event' && f.event?.type === 'commit' && f.sourceId === id);
    while (!committed('nightly/a') || !committed('nightly/b')) await new Promise((r) => setTimeout(r, 5));
    for (const f of frames) {
      expect(['@xstate.actor', '@xstate.event', '@xstate.snapshot']).toContain(f.type);
      expect(typeof f._version).toBe('string');
      expect(typeof f.createdAt).toBe('string');
      expect(f.rootId).toBe('nightly/board');
    }
    const actors = frames.filter((f) => f.type === '@xstate.actor');
    // Stable ids: run and agent, nothing random.
    expect(actors.map((a) => a.sessionId).sort()).toEqual(['nightly/a', 'nightly/b', 'nightly/board']);
    const a = actors.find((x) => x.sessionId === 'nightly/a')!;
    expect(a.parentId).toBe('nightly/board');
    // The definition is the machine's config as JSON (functions named), as Stately draws it.
    const definition = JSON.parse(a.definition!);
    expect(Object.keys(definition.states)).toEqual(expect.arrayContaining(['idle', 'working']));
    // Each transition: the event, then the snapshot it led to.
    const snapshots = frames.filter((f) => f.type === '@xstate.snapshot' && f.sessionId === 'nightly/a');
    expect(snapshots.map((s) => s.snapshot?.value)).toContain('working');
    // The board receives a commit event from each agent (the run's input has no agent as its source).
    const commits = frames.filter((f) => f.type === '@xstate.event' && f.sessionId === 'nightly/board');
    expect(commits.map((c) => c.sourceId ?? 'input').sort()).toEqual(['input', 'nightly/a', 'nightly/b']);
  });
});

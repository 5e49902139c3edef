import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { agentActions, type BoardEvent, defineAgent } from '../../src/actors/index.js';
import type { LogEvent } from '../../src/blackboard/index.js';
import { createRuntime } from '../../src/runtime/index.js';
import { TOPICS } from '../../src/scheduler/index.js';
import { initial, reactor, records, slow, type TB, TestBoard } from '../support/team.js';

const { commit } = agentActions<TB>();

describe('regressions', () => {
  it('offers a finished pooled item again when the board reopens it (a reviewer sent work back)', async () => {
    // Bug: items were remembered as taken for the whole run, so reopened work was never picked up.
    const worker = defineAgent<TB>({
      id: 'worker',
      watches: [['items']],
      writes: [['items']],
      pool: {
        items: (b) => [...b.items].filter(([, t]) => t.status === 'open').map(([k]) => k),
        claim: (d, key) => {
          d.items.get(key)!.status = 'claimed';
          return true;
        },
      },
      machine: setup({
        types: { events: {} as BoardEvent<TB>, input: {} as { key: string }, context: {} as { key: string } },
      }).createMachine({
        context: ({ input }) => ({ key: input.key }),
        initial: 'ready',
        states: {
          ready: {
            on: {
              board: {
                target: 'done',
                actions: commit(({ context }: { context: { key: string } }) => (d) => {
                  const item = d.items.get(context.key)!;
                  item.status = 'done';
                  item.by = `${item.by ?? ''}+`;
                }),
              },
            },
          },
          done: { type: 'final' },
        },
      }),
    });
    const reopener = reactor({
      id: 'reopener',
      watches: [['items']],
      writes: [['items'], ['n']],
      when: (b) => b.n === 0 && b.items.get('x')?.status === 'done',
      write: (d) => {
        d.n = 1;
        d.items.get('x')!.status = 'open';
      },
    });
    const runtime = createRuntime({
      board: { schema: TestBoard, initial: { ...initial, items: { x: { status: 'open' } } } },
      agents: [worker, reopener],
    });
    const result = await runtime.run();
    expect(result.outcome).toBe('quiescent');
    expect(result.board.items.get('x')).toEqual({ status: 'done', by: '++' });
  });

  it('activates a busy agent afterwards for the shallowest change that arrived meanwhile, not its own commit', async () => {
    // Bug: a reviewer busy while results arrived was re-activated for its own latest commit, so its depth
    // climbed 3, 4, 5, … and hit the limit although every result came from depth 1.
    const writers = ['a', 'b', 'c', 'd'].map((id, i) =>
      slow({
        id: `w${id}`,
        ms: 5 + 10 * i,
        watches: [['go']],
        writes: [['out', id]],
        when: (b) => b.go && !b.out.has(id),
        write: (d) => void d.out.set(id, 'draft'),
      }),
    );
    const reviewer = slow({
      id: 'reviewer',
      ms: 12, // longer than the gap between two results, so results arrive while it is busy
      watches: [['out']],
      writes: [['out']],
      when: (b) => [...b.out.values()].includes('draft'),
      // Reviews the drafts it was shown (read from the event, so the commit only writes them).
      write: (d, e) => {
        for (const [id, v] of e.board.out) if (v === 'draft') d.out.set(id, 'reviewed');
      },
    });
    const handle = await createRuntime({
      board: { schema: TestBoard, initial },
      agents: [...writers, reviewer],
      limits: { depth: 2 },
      deterministic: { seed: 1 },
    }).start({ go: true });
    const log: LogEvent[] = [];
    handle.board.subscribe({ from: 1 }, (e) => log.push(e));
    const result = await handle.result;
    expect([...result.board.out.values()]).toEqual(['reviewed', 'reviewed', 'reviewed', 'reviewed']);
    const depths = records<{ phase: string; agentId: string; depth: number }>(log, TOPICS.activation)
      .filter((r) => r.phase === 'started' && r.agentId === 'reviewer')
      .map((r) => r.depth);
    expect(depths.length).toBeGreaterThan(1);
    expect(new Set(depths)).toEqual(new Set([2]));
  });
});

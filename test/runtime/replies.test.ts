import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { agentActions, type BoardEvent, defineAgent, type RuntimeEvent } from '../../src/actors/index.js';
import type { LogEvent } from '../../src/blackboard/index.js';
import { createRuntime } from '../../src/runtime/index.js';
import { TOPICS } from '../../src/scheduler/index.js';
import { initial, records, type TB, TestBoard } from '../support/team.js';

const { commit } = agentActions<TB>();

/** A machine that commits `n = 1` (or, with `outside`, a path it may not write) and waits for the answer. */
function answered(id: string, on: Record<string, string>, outside = false) {
  const machine = setup({ types: { events: {} as BoardEvent<TB> | RuntimeEvent<TB> } }).createMachine({
    initial: 'idle',
    states: {
      idle: {
        on: { board: { guard: ({ event }) => event.board.go && event.board.n === 0, target: 'saving' } },
      },
      saving: {
        entry: commit(() => (d) => {
          if (outside) d.out.set('x', 'y');
          else d.n = 1;
        }),
        on,
      },
      saved: { type: 'final' },
      refused: { type: 'final' },
    },
  });
  return defineAgent<TB>({ id, machine, watches: [['go']], writes: [['n']] });
}

async function transitionsOf(agent: ReturnType<typeof answered>) {
  const runtime = createRuntime({
    board: { schema: TestBoard, initial },
    agents: [agent],
    deterministic: { seed: 4 },
  });
  const handle = await runtime.start({ go: true });
  const log: LogEvent[] = [];
  handle.board.subscribe({ from: 1 }, (e) => log.push(e));
  const result = await handle.result;
  await runtime.close();
  const moves = records<{ from: string; to: string; event: string }>(log, TOPICS.transition).map((t) => [
    t.from,
    t.to,
    t.event,
  ]);
  const phases = records<{ phase: string; error?: string }>(log, TOPICS.activation);
  const ended = phases.map((r) => r.phase);
  const errors = phases.flatMap((r) => (r.error === undefined ? [] : [r.error]));
  return { result, moves, ended, errors };
}

describe("the runtime's answers to a machine's commits", () => {
  it('sends hearsay.committed to a machine that handles it', async () => {
    const { result, moves, ended } = await transitionsOf(answered('saver', { 'hearsay.committed': 'saved' }));
    expect(result.board.n).toBe(1);
    expect(moves).toEqual([
      ['idle', 'saving', 'board'],
      ['saving', 'saved', 'hearsay.committed'],
    ]);
    expect(ended).toEqual(['started', 'completed']);
  });

  it('sends hearsay.rejected to a machine that handles refusals, which then decides (no failure)', async () => {
    const { result, moves, ended } = await transitionsOf(
      answered('trier', { 'hearsay.rejected': 'refused', 'hearsay.committed': 'saved' }, true),
    );
    expect(result.board.out.size).toBe(0);
    expect(moves).toEqual([
      ['idle', 'saving', 'board'],
      ['saving', 'refused', 'hearsay.rejected'],
    ]);
    expect(ended).toEqual(['started', 'completed']);
  });

  it('delivers answers to partial descriptors and wildcards, as XState matches them', async () => {
    // `hearsay.committed.*` matches `hearsay.committed` itself, as in XState.
    for (const on of [{ 'hearsay.*': 'saved' }, { 'hearsay.committed.*': 'saved' }, { '*': 'saved' }]) {
      const { moves } = await transitionsOf(answered('any', on));
      expect(moves.at(-1)).toEqual(['saving', 'saved', 'hearsay.committed']);
    }
  });

  it('fails the activation of a machine that does not handle a refusal of its commit', async () => {
    const { ended, errors } = await transitionsOf(answered('deaf', {}, true));
    expect(ended.slice(0, 2)).toEqual(['started', 'failed']);
    expect(errors[0]).toMatch(/commit refused \(forbidden_path\)/);
  });
});

import { describe, expect, expectTypeOf, it } from 'vitest';
import { setup } from 'xstate';
import { z } from 'zod';
import { agentActions, defineAgent, keyed, type PathOf } from '../../src/index.js';

const Board = z.object({
  goal: z.string(),
  tasks: keyed(z.object({ status: z.enum(['open', 'done']), notes: z.array(z.string()) })),
  meta: z.object({ owner: z.string().optional() }),
});
type Board = z.output<typeof Board>;
const machine = setup({}).createMachine({ initial: 'idle', states: { idle: {} } });

describe('typed board paths (checked by tsc)', () => {
  it('accepts paths that exist on the board, through keyed collections and arrays', () => {
    const ok: PathOf<Board>[] = [
      [],
      ['goal'],
      ['tasks'],
      ['tasks', 't1'],
      ['tasks', 't1', 'status'],
      ['tasks', 't1', 'notes', 0],
      ['meta', 'owner'],
    ];
    expect(ok).toHaveLength(7);
    expectTypeOf<readonly ['tasks', string, 'status']>().toExtend<PathOf<Board>>();
    expectTypeOf<readonly ['titel']>().not.toExtend<PathOf<Board>>();
    expectTypeOf<readonly ['meta', 'owner', 'x']>().not.toExtend<PathOf<Board>>();
  });

  it('rejects a path that does not exist, in an agent declaration', () => {
    defineAgent<Board>({ id: 'ok', machine, watches: [['tasks']], writes: [['tasks', 'x', 'status']] });
    // @ts-expect-error: 'titel' is not a key of the board
    defineAgent<Board>({ id: 'typo', machine, watches: [['titel']], writes: [] });
    // @ts-expect-error: status has no children
    defineAgent<Board>({ id: 'deep', machine, watches: [], writes: [['tasks', 'x', 'status', 'y']] });
    // @ts-expect-error: array indices are numbers
    defineAgent<Board>({ id: 'index', machine, watches: [['tasks', 'x', 'notes', 'first']], writes: [] });
  });

  it('types commit recipes by the board', () => {
    const { commit } = agentActions<Board>();
    commit(() => (d) => {
      d.goal = 'typed';
      d.tasks.get('t1')!.status = 'done';
      // @ts-expect-error: not a status
      d.tasks.get('t1')!.status = 'finished';
    });
  });
});

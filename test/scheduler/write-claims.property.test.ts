/**
 * WriteClaims answers "which activation in flight would this one certainly conflict with?" by a trie. Its
 * answers are checked against the rule written out by brute force over every held path, on random holds,
 * releases and board shapes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Keyed, keyed } from '../../src/blackboard/index.js';
import type { Path } from '../../src/blackboard/path.js';
import { readAt, WriteClaims, writtenWhole } from '../../src/scheduler/write-claims.js';

const isPrefix = (a: Path, b: Path) => a.length <= b.length && a.every((s, i) => String(s) === String(b[i]));

/** The rule, as written: some held path and some asked path overlap, and the shorter one is written whole. */
function bruteForce(held: Map<string, Path[]>, asked: Path[], state: unknown): boolean {
  for (const paths of held.values())
    for (const h of paths)
      for (const p of asked) {
        if (isPrefix(h, p) && writtenWhole(readAt(state, h))) return true;
        if (isPrefix(p, h) && writtenWhole(readAt(state, p))) return true;
      }
  return false;
}

const Board = z.object({
  counter: z.number(),
  log: z.array(z.number()),
  tasks: keyed(z.object({ status: z.string(), n: z.number() })),
  meta: z.object({ title: z.string(), tags: z.array(z.string()) }),
});
const state = Board.parse({
  counter: 1,
  log: [1, 2],
  tasks: Keyed.from({ a: { status: 'open', n: 1 }, b: { status: 'done', n: 2 } }),
  meta: { title: 't', tags: ['x'] },
});

const segment = fc.constantFrom<string | number>(
  'counter',
  'log',
  'tasks',
  'meta',
  'a',
  'b',
  'status',
  'n',
  'title',
  'tags',
  'report',
  0,
  1,
);
const path = fc.array(segment, { maxLength: 3 });

describe('WriteClaims', () => {
  it('names a blocker exactly when the brute-force rule finds a certain collision', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({
              op: fc.constant('hold' as const),
              id: fc.integer({ min: 0, max: 5 }),
              writes: fc.array(path, { minLength: 1, maxLength: 3 }),
            }),
            fc.record({ op: fc.constant('release' as const), id: fc.integer({ min: 0, max: 5 }) }),
          ),
          { maxLength: 20 },
        ),
        fc.array(path, { minLength: 1, maxLength: 3 }),
        (ops, asked) => {
          const claims = new WriteClaims();
          const model = new Map<string, Path[]>();
          for (const o of ops) {
            const id = `act${o.id}`;
            if (o.op === 'hold') {
              claims.hold(id, o.writes);
              if (!model.has(id)) model.set(id, o.writes);
            } else {
              claims.release(id);
              model.delete(id);
            }
          }
          const blocker = claims.blocker(asked, state);
          expect(blocker !== undefined).toBe(bruteForce(model, asked, state));
          if (blocker !== undefined) {
            // The one named really holds a colliding path.
            expect(bruteForce(new Map([[blocker, model.get(blocker)!]]), asked, state)).toBe(true);
          }
          expect(claims.size).toBe(model.size);
          for (const id of [...model.keys()]) claims.release(id);
          expect(claims.blocker(asked, state)).toBeUndefined();
        },
      ),
      { numRuns: 500 },
    );
  });

  it.each([
    [[['counter']], [['counter']], true, 'a number is written whole'],
    [[['log']], [['log', 1]], true, 'a list is written whole'],
    [[['report']], [['report']], true, 'a value not there yet is written whole'],
    [[['tasks']], [['tasks']], false, 'a Keyed collection is written in parts'],
    [[['tasks', 'a', 'status']], [['tasks', 'a', 'status']], true, 'one entry field is a string'],
    [[['tasks', 'a']], [['tasks', 'b']], false, 'two entries do not overlap'],
    [[['meta']], [['meta', 'title']], false, 'an object is written in parts'],
    [[[]], [['counter']], false, 'the whole board is an object'],
  ])('held %j, asked %j: %s (%s)', (held, asked, blocks) => {
    const claims = new WriteClaims();
    claims.hold('x', held as Path[]);
    expect(claims.blocker(asked as Path[], state) !== undefined).toBe(blocks);
  });
});

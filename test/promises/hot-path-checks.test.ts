/**
 * Issue 24 (the fixed cost of an activation): small values are measured and frozen by a shallow recursion
 * that hands anything unusual, deep or large to the iterative walk. That fast path must refuse exactly what
 * the walk refuses, with the same finding (reason, limit, path), and freeze what it accepts all the way down.
 * Checked differentially through `publish`: a payload (measured by the fast path) against the same payload
 * wrapped 30 levels deep (beyond the fast path's reach: measured by the walk alone).
 */
import fc from 'fast-check';
import { type Blackboard, createBlackboard, Keyed } from 'hearsay';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const WRAP = 30;
/** What one wrapper level `{ w: … }` adds to a value's bytes: braces, the key and its quotes and colon. */
const WRAP_BYTES = 2 + 1 + 4;
const wrap = (v: unknown): unknown => {
  let out = v;
  for (let i = 0; i < WRAP; i++) out = { w: out };
  return out;
};

class Thing {
  x = 1;
}

/** JSON values with, here and there, something a board refuses. */
const bad = fc.constantFrom<unknown>(
  undefined,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  () => 1,
  Symbol('s'),
  10n,
  new Date(0),
  new Thing(),
  new Map([['a', 1]]),
  { [Symbol('k')]: 1 },
  // biome-ignore lint/suspicious/noSparseArray: a hole is what is refused here
  [1, , 3],
  { ['k'.repeat(40)]: 1 },
  'é'.repeat(30),
  Keyed.from({ a: 1 }),
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.string(), fc.double(), fc.integer(), fc.boolean(), fc.constant(null)),
    bad,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), { maxKeys: 4 }),
  ),
}));

async function board(limits: { maxBytes: number; maxDepth: number; maxKeyLength: number }) {
  return createBlackboard({ schema: z.object({}), initial: {}, limits });
}

function isDeepFrozen(v: unknown, seen = new Set<unknown>()): boolean {
  if (typeof v !== 'object' || v === null || seen.has(v)) return true;
  seen.add(v);
  if (!Object.isFrozen(v)) return false;
  const children = v instanceof Map ? [...v.values()] : Object.values(v);
  return children.every((c) => isDeepFrozen(c, seen));
}

describe('the fast path of value checks agrees with the walk', () => {
  it('same refusal (reason, limit, path) or same acceptance, deep-frozen', async () => {
    const limits = { maxKeyLength: 32, maxDepth: 40 };
    const maxBytes = 300;
    const near: Blackboard<unknown> = await board({ ...limits, maxBytes });
    const far: Blackboard<unknown> = await board({
      ...limits,
      maxDepth: 40 + WRAP,
      maxBytes: maxBytes + WRAP * WRAP_BYTES,
    });
    await fc.assert(
      fc.asyncProperty(value, async (v) => {
        const a = await near.publish('t', v, { author: 'a' });
        const b = await far.publish('t', wrap(v), { author: 'a' });
        expect(a.ok).toBe(b.ok);
        if (!a.ok && !b.ok) {
          const ea = a.error as { reason?: string; path?: readonly unknown[]; limit?: { name: string } };
          const eb = b.error as { reason?: string; path?: readonly unknown[]; limit?: { name: string } };
          expect(ea.reason).toBe(eb.reason);
          expect(ea.limit?.name).toBe(eb.limit?.name);
          if (ea.limit?.name !== 'maxBytes')
            expect(eb.path).toEqual([...Array(WRAP).fill('w'), ...(ea.path ?? [])]);
        }
        if (a.ok) expect(isDeepFrozen(a.event.payload)).toBe(true);
      }),
      { numRuns: 400 },
    );
    await near.close();
    await far.close();
  });

  it('circular, deep and large payloads are still refused', async () => {
    const b = await board({ maxBytes: 1000, maxDepth: 40, maxKeyLength: 32 });
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = { back: loop };
    const circular = await b.publish('t', loop, { author: 'a' });
    expect(circular.ok || circular.error.message).toMatch(/circular/);
    let deep: unknown = 1;
    for (let i = 0; i < 50; i++) deep = [deep];
    const tooDeep = await b.publish('t', deep, { author: 'a' });
    expect(!tooDeep.ok && (tooDeep.error as { limit?: { name: string } }).limit?.name).toBe('maxDepth');
    const tooLarge = await b.publish('t', { s: 'x'.repeat(2000) }, { author: 'a' });
    expect(!tooLarge.ok && (tooLarge.error as { limit?: { name: string } }).limit?.name).toBe('maxBytes');
    const longTopic = await b.publish('t'.repeat(33), {}, { author: 'a' });
    expect(!longTopic.ok && (longTopic.error as { limit?: { name: string } }).limit?.name).toBe(
      'maxKeyLength',
    );
    const longAuthor = await b.publish('t', {}, { author: 'a'.repeat(33) });
    expect(!longAuthor.ok && (longAuthor.error as { limit?: { name: string } }).limit?.name).toBe(
      'maxKeyLength',
    );
    await b.close();
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Budget } from '../../src/actors/index.js';
import type { Tally, Usage } from '../../src/llm/index.js';
import {
  addUsage,
  budgetLeft,
  budgetRefusal,
  emptySpent,
  exhausted,
  plus,
  tighterBudget,
} from '../../src/scheduler/budget.js';

const tally = (tokens: number, inputTokens: number, outputTokens: number, cost: number): Tally => ({
  tokens,
  inputTokens,
  outputTokens,
  cost,
});

describe('addUsage', () => {
  it.each<[string, Partial<Usage>, Tally]>([
    [
      'counts tokens as input plus output when tokens are not given',
      { inputTokens: 3, outputTokens: 4 },
      tally(7, 3, 4, 0),
    ],
    [
      'takes tokens as given when they are given',
      { tokens: 10, inputTokens: 3, outputTokens: 4 },
      tally(10, 3, 4, 0),
    ],
    [
      'takes zero tokens as given, not as missing',
      { tokens: 0, inputTokens: 3, outputTokens: 4 },
      tally(0, 3, 4, 0),
    ],
    ['counts a charge of cost alone', { cost: 0.25 }, tally(0, 0, 0, 0.25)],
    ['counts input alone', { inputTokens: 5 }, tally(5, 5, 0, 0)],
    ['counts output alone', { outputTokens: 6 }, tally(6, 0, 6, 0)],
    ['counts nothing for an empty charge', {}, tally(0, 0, 0, 0)],
    [
      'ignores whether the charge was estimated',
      { tokens: 2, inputTokens: 1, outputTokens: 1, cost: 1, estimated: true },
      tally(2, 1, 1, 1),
    ],
  ])('%s', (_name, usage, expected) => {
    const spent = emptySpent();
    addUsage(spent, usage);
    expect(spent).toEqual(expected);
  });

  it('adds to what the tally already holds, in place', () => {
    const spent = tally(100, 60, 40, 2);
    addUsage(spent, { inputTokens: 1, outputTokens: 2, cost: 0.5 });
    expect(spent).toEqual(tally(103, 61, 42, 2.5));
  });

  it('gives a fresh tally each time emptySpent is called', () => {
    const a = emptySpent();
    addUsage(a, { tokens: 1 });
    expect(emptySpent()).toEqual(tally(0, 0, 0, 0));
  });
});

describe('plus', () => {
  it.each<[Tally, Tally, Tally]>([
    [tally(0, 0, 0, 0), tally(0, 0, 0, 0), tally(0, 0, 0, 0)],
    [tally(1, 2, 3, 4), tally(0, 0, 0, 0), tally(1, 2, 3, 4)],
    [tally(1, 2, 3, 4), tally(10, 20, 30, 40), tally(11, 22, 33, 44)],
  ])('%o plus %o is %o', (a, b, expected) => {
    const before = { a: { ...a }, b: { ...b } };
    expect(plus(a, b)).toEqual(expected);
    expect({ a, b }).toEqual(before);
  });
});

describe('exhausted', () => {
  it.each<[string, Tally, Budget | undefined, boolean]>([
    ['no budget is never exhausted', tally(1e9, 0, 0, 1e9), undefined, false],
    ['an empty budget is never exhausted', tally(1e9, 0, 0, 1e9), {}, false],
    ['below the token limit', tally(99, 0, 0, 0), { tokens: 100 }, false],
    ['at the token limit', tally(100, 0, 0, 0), { tokens: 100 }, true],
    ['over the token limit', tally(101, 0, 0, 0), { tokens: 100 }, true],
    ['below the cost limit', tally(0, 0, 0, 0.99), { cost: 1 }, false],
    ['at the cost limit', tally(0, 0, 0, 1), { cost: 1 }, true],
    ['either limit reached is enough', tally(0, 0, 0, 1), { tokens: 100, cost: 1 }, true],
    ['neither limit reached', tally(99, 0, 0, 0.5), { tokens: 100, cost: 1 }, false],
    ['a zero budget is exhausted before anything is spent', emptySpent(), { tokens: 0 }, true],
    ['input and output tokens do not count apart from tokens', tally(0, 500, 500, 0), { tokens: 100 }, false],
  ])('%s', (_name, spent, budget, expected) => {
    expect(exhausted(spent, budget)).toBe(expected);
  });
});

describe('budgetLeft', () => {
  it.each<[string, Tally, Budget | undefined, Budget]>([
    ['no budget leaves no limits', tally(5, 0, 0, 1), undefined, {}],
    ['an empty budget leaves no limits', tally(5, 0, 0, 1), {}, {}],
    ['tokens only', tally(30, 10, 20, 1), { tokens: 100 }, { tokens: 70 }],
    ['cost only', tally(30, 10, 20, 0.25), { cost: 1 }, { cost: 0.75 }],
    ['both', tally(30, 10, 20, 0.25), { tokens: 100, cost: 1 }, { tokens: 70, cost: 0.75 }],
    ['overspent goes negative', tally(130, 0, 0, 0), { tokens: 100 }, { tokens: -30 }],
  ])('%s', (_name, spent, budget, expected) => {
    const left = budgetLeft(spent, budget);
    expect(left).toEqual(expected);
    // A limit the budget does not set is absent, not undefined (exactOptionalPropertyTypes readers rely on it).
    expect(Object.keys(left).sort()).toEqual(Object.keys(expected).sort());
  });
});

describe('budgetRefusal', () => {
  it.each<[string, Parameters<typeof budgetRefusal>[0], ReturnType<typeof budgetRefusal>]>([
    [
      "the run's budget is asked first",
      { needed: 50, agentLeft: 10, runLeft: 20 },
      { stop: 'run', detail: "a model call needs about 50 tokens and the run's budget has 20 left" },
    ],
    [
      "the agent's budget when the run's can pay",
      { needed: 50, agentLeft: 10, runLeft: 100 },
      { stop: 'agent', detail: "a model call needs about 50 tokens and the agent's budget has 10 left" },
    ],
    [
      "the agent's budget when the run has none",
      { needed: 50, agentLeft: 10, runLeft: undefined },
      { stop: 'agent', detail: "a model call needs about 50 tokens and the agent's budget has 10 left" },
    ],
    [
      'an overspent budget is reported as 0 left, never negative',
      { needed: 5, agentLeft: undefined, runLeft: -12 },
      { stop: 'run', detail: "a model call needs about 5 tokens and the run's budget has 0 left" },
    ],
    [
      'a budget with exactly what is needed does not refuse',
      { needed: 50, agentLeft: 50, runLeft: 50 },
      {
        stop: 'none',
        detail: 'a model call needs about 50 tokens, more than calls in flight leave of the budget',
      },
    ],
    [
      'no budget at all refuses nothing by itself',
      { needed: 50, agentLeft: undefined, runLeft: undefined },
      {
        stop: 'none',
        detail: 'a model call needs about 50 tokens, more than calls in flight leave of the budget',
      },
    ],
  ])('%s', (_name, input, expected) => {
    expect(budgetRefusal(input)).toEqual(expected);
  });
});

describe('tighterBudget', () => {
  it.each<[string, (Budget | undefined)[], Budget | undefined]>([
    ['of nothing is undefined', [], undefined],
    ['of budgets that set nothing is undefined', [undefined, {}, undefined], undefined],
    ['of one budget is that budget', [{ tokens: 10, cost: 2 }], { tokens: 10, cost: 2 }],
    [
      'takes the smaller of each limit',
      [
        { tokens: 10, cost: 2 },
        { tokens: 5, cost: 3 },
      ],
      { tokens: 5, cost: 2 },
    ],
    ['keeps a limit only one sets', [{ tokens: 10 }, { cost: 3 }, undefined], { tokens: 10, cost: 3 }],
    ['clamps a negative limit to 0', [{ tokens: -4 }, { tokens: 10 }], { tokens: 0 }],
    ['keeps a zero limit', [{ cost: 0 }, { cost: 1 }], { cost: 0 }],
  ])('%s', (_name, budgets, expected) => {
    const tight = tighterBudget(...budgets);
    expect(tight).toEqual(expected);
    if (tight) expect(Object.keys(tight).sort()).toEqual(Object.keys(expected ?? {}).sort());
  });
});

// Costs are multiples of 1/64 so that sums are exact in floating point and the order of adding cannot
// change them; the properties are about the tally, not about rounding.
const cost = fc.integer({ min: 0, max: 1_000_000 }).map((n) => n / 64);
const count = fc.integer({ min: 0, max: 1_000_000 });
const usage: fc.Arbitrary<Partial<Usage>> = fc.record(
  { tokens: count, inputTokens: count, outputTokens: count, cost },
  { requiredKeys: [] },
);
const budget: fc.Arbitrary<Budget | undefined> = fc.option(
  fc.record({ tokens: fc.integer({ min: -1000, max: 1_000_000 }), cost }, { requiredKeys: [] }),
  { nil: undefined },
);
const tallyOf = (usages: readonly Partial<Usage>[]): Tally => {
  const spent = emptySpent();
  for (const u of usages) addUsage(spent, u);
  return spent;
};

describe('budget properties', () => {
  it('adding usages in any order gives the same tally', () => {
    fc.assert(
      fc.property(
        fc
          .array(usage, { maxLength: 20 })
          .chain((us) => fc.tuple(fc.constant(us), fc.shuffledSubarray(us, { minLength: us.length }))),
        ([usages, shuffled]) => {
          expect(tallyOf(shuffled)).toEqual(tallyOf(usages));
        },
      ),
    );
  });

  it('the tally of two lists is the plus of their tallies', () => {
    fc.assert(
      fc.property(fc.array(usage, { maxLength: 10 }), fc.array(usage, { maxLength: 10 }), (a, b) => {
        expect(tallyOf([...a, ...b])).toEqual(plus(tallyOf(a), tallyOf(b)));
        expect(plus(tallyOf(a), tallyOf(b))).toEqual(plus(tallyOf(b), tallyOf(a)));
      }),
    );
  });

  it('budgetLeft never exceeds the budget and sets only the limits the budget sets', () => {
    fc.assert(
      fc.property(fc.array(usage, { maxLength: 10 }), budget, (usages, b) => {
        const left = budgetLeft(tallyOf(usages), b);
        expect(Object.keys(left).sort()).toEqual(Object.keys(b ?? {}).sort());
        if (left.tokens !== undefined) expect(left.tokens).toBeLessThanOrEqual(b?.tokens ?? Number.NaN);
        if (left.cost !== undefined) expect(left.cost).toBeLessThanOrEqual(b?.cost ?? Number.NaN);
      }),
    );
  });

  it('a tally is exhausted exactly when some limit it has has nothing left', () => {
    fc.assert(
      fc.property(fc.array(usage, { maxLength: 10 }), budget, (usages, b) => {
        const spent = tallyOf(usages);
        const left = budgetLeft(spent, b);
        const nothingLeft =
          (left.tokens !== undefined && left.tokens <= 0) || (left.cost !== undefined && left.cost <= 0);
        expect(exhausted(spent, b)).toBe(nothingLeft);
      }),
    );
  });

  it('spending more never un-exhausts a budget', () => {
    fc.assert(
      fc.property(fc.array(usage, { maxLength: 10 }), usage, budget, (usages, more, b) => {
        const spent = tallyOf(usages);
        const before = exhausted(spent, b);
        addUsage(spent, more);
        if (before) expect(exhausted(spent, b)).toBe(true);
      }),
    );
  });

  it('tighterBudget is the field-wise minimum (clamped at 0), commutative and idempotent', () => {
    fc.assert(
      fc.property(fc.array(budget, { maxLength: 5 }), (budgets) => {
        const tight = tighterBudget(...budgets);
        for (const key of ['tokens', 'cost'] as const) {
          const set = budgets.map((b) => b?.[key]).filter((x): x is number => x !== undefined);
          if (set.length === 0) expect(tight?.[key]).toBeUndefined();
          else {
            expect(tight?.[key]).toBe(Math.max(0, Math.min(...set)));
            expect(tight && key in tight).toBe(true);
          }
        }
        expect(tighterBudget(...[...budgets].reverse())).toEqual(tight);
        expect(tighterBudget(tight, tight)).toEqual(tight);
        expect(tighterBudget(...budgets, tight)).toEqual(tight);
      }),
    );
  });

  it('tighterBudget of two is commutative and no looser than either', () => {
    fc.assert(
      fc.property(budget, budget, (a, b) => {
        const ab = tighterBudget(a, b);
        expect(tighterBudget(b, a)).toEqual(ab);
        for (const key of ['tokens', 'cost'] as const)
          for (const x of [a, b]) {
            const limit = x?.[key];
            if (limit !== undefined) expect(ab?.[key]).toBeLessThanOrEqual(Math.max(0, limit));
          }
      }),
    );
  });
});

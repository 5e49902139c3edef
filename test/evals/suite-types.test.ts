/**
 * Issue 18: `defineSuite` types a case's input from its cases and its output from what `run` returns,
 * without type arguments. These are compile-time checks (`npx tsc --noEmit -p tsconfig.json` fails when
 * an inference regresses or a `@ts-expect-error` stops erroring) and a runtime run of the inferred suite.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { check, defineSuite, exact, runSuite, type Scorer } from '../../src/evals/index.js';

describe('defineSuite infers its types', () => {
  it('types run’s input from the cases and the scorers from the cases and run', async () => {
    const suite = defineSuite({
      name: 'topics',
      cases: [
        { id: 'a', input: { topic: 'boards', words: 2 } },
        { id: 'b', input: { topic: 'agents', words: 3 } },
      ],
      run: async (input, context) => {
        expectTypeOf(input).toEqualTypeOf<{ topic: string; words: number }>();
        expectTypeOf(context.case.input).toEqualTypeOf<{ topic: string; words: number }>();
        return { output: { title: input.topic.toUpperCase(), length: input.words } };
      },
      scorers: [
        exact('$.length', 2),
        {
          name: 'title is the topic',
          score: ({ input, output }) => {
            expectTypeOf(input).toEqualTypeOf<{ topic: string; words: number }>();
            expectTypeOf(output).toEqualTypeOf<{ title: string; length: number }>();
            const pass = output.title === input.topic.toUpperCase();
            return { pass, score: pass ? 1 : 0 };
          },
        },
        check<{ topic: string }, { title: string }>('titled', ({ output }) => output.title.length > 0),
      ],
    });
    expectTypeOf(suite.cases[0]!.input).toEqualTypeOf<{ topic: string; words: number }>();
    const report = await runSuite(suite);
    expect(report.cases.map((c) => [c.id, c.passRate])).toEqual([
      ['a', 1],
      ['b', 0],
    ]);
  });

  it('refuses what does not fit the inferred types', () => {
    const base = { name: 'x', cases: [{ id: 'a', input: { topic: 'x' } }] } as const;
    defineSuite({
      ...base,
      // @ts-expect-error: the cases have no `missing` field.
      run: async (input) => ({ output: input.missing }),
      scorers: [exact('$')],
    });
    defineSuite({
      name: 'x',
      cases: [{ id: 'a', input: { topic: 'x' } }],
      // @ts-expect-error: the input's topic is a string, not a number.
      run: async (input: { topic: number }) => ({ output: input.topic }),
      scorers: [exact('$')],
    });
    const wantsNumbers: Scorer<{ n: number }, number> = {
      name: 'n',
      score: () => ({ pass: true, score: 1 }),
    };
    defineSuite({
      name: 'x',
      cases: [{ id: 'a', input: { topic: 'x' } }],
      run: async (input) => ({ output: input.topic }),
      // @ts-expect-error: a scorer of another input and output type is not this suite's.
      scorers: [wantsNumbers],
    });
  });
});

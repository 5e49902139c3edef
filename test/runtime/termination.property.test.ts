import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AgentDefinition } from '../../src/actors/index.js';
import type { CommitEvent, LogEvent, PathOf } from '../../src/blackboard/index.js';
import { createRuntime } from '../../src/runtime/index.js';
import { applyNaive, plain } from '../blackboard/support/reference.js';
import { initial, reactor, slow, type TB, TestBoard } from '../support/team.js';

// Nothing here cancels a run or asks for approval: those two outcomes would be wrong, so they are not listed.
const OUTCOMES = ['completed', 'quiescent', 'budget_exceeded', 'depth_exceeded', 'failed'];

const conditions = {
  always: () => true,
  go: (b: TB) => b.go,
  small: (b: TB) => b.n < 4,
  odd: (b: TB) => b.n % 2 === 1,
  fresh: (b: TB) => b.out.size < 3,
} as const;
const effects = {
  inc: (d: TB) => {
    d.n += 1;
  },
  mark: (d: TB, id: string) => void d.out.set(id, String(d.n)),
  toggle: (d: TB) => {
    d.go = !d.go;
  },
  crash: () => {
    throw new Error('agent bug');
  },
} as const;

const agentSpec: fc.Arbitrary<Spec> = fc.record({
  when: fc.constantFrom(...(Object.keys(conditions) as (keyof typeof conditions)[])),
  effect: fc.constantFrom(...(Object.keys(effects) as (keyof typeof effects)[])),
  watches: fc.subarray<PathOf<TB>>([['n'], ['go'], ['out']], { minLength: 1 }),
  ms: fc.constantFrom(0, 0, 5, 20),
  attempts: fc.integer({ min: 1, max: 2 }),
});

type Spec = {
  when: keyof typeof conditions;
  effect: keyof typeof effects;
  watches: PathOf<TB>[];
  ms: number;
  attempts: number;
};

function build(specs: Spec[]): AgentDefinition<TB>[] {
  return specs.map((s, i) => {
    const id = `a${i}`;
    const config = {
      id,
      watches: s.watches,
      writes: [['n'], ['go'], ['out', id]] as PathOf<TB>[],
      retry: { attempts: s.attempts },
      when: conditions[s.when],
      write: (d: TB) => effects[s.effect](d, id),
    };
    return s.ms === 0 ? reactor(config) : slow({ ...config, ms: s.ms, usage: { tokens: 10, cost: 0.001 } });
  });
}

describe('every run ends (property)', () => {
  it('random teams over a small board always end with a typed outcome, and the log replays to the final board', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(agentSpec, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 1000 }),
        async (specs, seed) => {
          const runtime = createRuntime({
            board: { schema: TestBoard, initial },
            agents: build(specs),
            goal: (b) => b.out.size >= 4,
            limits: { depth: 6, budget: { tokens: 200 } },
            deterministic: { seed },
          });
          const handle = await runtime.start({ go: true });
          const log: LogEvent[] = [];
          handle.board.subscribe({ from: 1 }, (e) => log.push(e));
          const result = await handle.result;
          expect(OUTCOMES).toContain(result.outcome);
          expect(result.reason.length).toBeGreaterThan(0);
          const commits = log.filter((e): e is CommitEvent => e.type === 'commit');
          const replayed = commits.reduce<unknown>((s, e) => applyNaive(s, e.patches), plain(initial));
          expect(replayed).toEqual(plain(result.board));
        },
      ),
      { numRuns: 150 },
    );
  });
});

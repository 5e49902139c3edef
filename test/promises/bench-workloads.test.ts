/**
 * The workloads bench (bench/workloads/, `npm run bench -- workloads`, `npm run bench:peers`) verifies
 * every run against bench-peers/WORKLOADS.md's end state. These tests run each Hearsay workload script at
 * tiny sizes in a fresh node process (it imports the library as `hearsay`, the built dist/) and check its
 * JSON line and the BENCH.md lines made from it; and they check that the verification fails on wrong end
 * states, in the verifiers themselves, in the protocol (warm-ups are verified too) and in a script whose
 * run really ends wrong (W3 with too few retry attempts loses rounds): it must exit non-zero.
 */

import { describe, expect, it } from 'vitest';
import { scriptArgs } from '../../bench/harness.js';
import { benchLines, runScript, WORKLOAD_CASES, type WorkloadCase } from '../../bench/workloads/cases.js';
import { measure, parseArgs, VerificationError } from '../../bench/workloads/protocol.js';
import {
  verifyBigState,
  verifyChain,
  verifyContention,
  verifyFanout,
  verifyOutcome,
} from '../../bench/workloads/verify.js';

const tiny: Record<WorkloadCase['script'], string[]> = {
  'w1-chain': ['--n=6'],
  'w2-fanout': ['--k=5', '--l=1'],
  'w3-contention': ['--c=4', '--r=3'],
  'w4-bigstate': ['--s=10', '--t=5', '--memprobes=1'],
};

const run = (script: WorkloadCase['script'], args: string[]) =>
  runScript([...scriptArgs(`bench/workloads/${script}`), ...args]);

type Line = {
  peer: string;
  workload: string;
  params: Record<string, number>;
  warmup: number;
  reps: number;
  metrics: Record<string, unknown>;
  info: Record<string, unknown>;
  check: { ok: boolean };
};

describe('the Hearsay workload scripts, at tiny sizes', () => {
  for (const script of Object.keys(tiny) as WorkloadCase['script'][]) {
    it(`${script} prints one JSON line in the peers' shape, verified`, async () => {
      const r = await run(script, [...tiny[script], '--warmup=0', '--reps=1']);
      expect(r.stderr).not.toMatch(/verification failed|Error/);
      expect(r.code).toBe(0);
      expect(r.ok).toBe(true);
      const line = r.line as Line;
      expect(line.peer).toBe('hearsay');
      expect(line.check.ok).toBe(true);
      expect(line.reps).toBe(1);
      expect(line.warmup).toBe(0);
      expect(Object.keys(line)).toEqual(
        expect.arrayContaining(['versions', 'workload', 'params', 'metrics', 'info', 'check', 'env']),
      );
      // The BENCH.md lines made from it carry the five required fields.
      const c = WORKLOAD_CASES.find((x) => x.script === script)!;
      for (const b of benchLines(c, r.line!)) {
        expect(b.group).toBe('workloads');
        for (const k of ['value', 'runs', 'min', 'max'] as const) expect(typeof b[k]).toBe('number');
        expect(b.runs).toBe(1);
      }
      if (script === 'w2-fanout') {
        // every worker was in flight at once: no cap below K
        expect((line.metrics.maxInFlight as { min: number }).min).toBe(5);
      }
      if (script === 'w3-contention') {
        const m = line.metrics as Record<string, { median: number }>;
        // every attempt either committed one round or lost a conflict, and each round counted once
        expect(m.finalCounter!.median).toBe(12);
        expect(m.attempts!.median).toBe(12 + m.conflicts!.median);
        expect(m.otherFailures!.median).toBe(0);
        expect(line.metrics.exact).toBe(true);
      }
      if (script === 'w4-bigstate') {
        const m = line.metrics as Record<string, Record<string, unknown>>;
        expect(Object.keys(m)).toEqual(['noCheckpointer', 'memorySaver']);
        expect(m.memorySaver!.memProbes).toBe(1);
      }
    });
  }

  it('a script whose run ends in the wrong state exits non-zero (W1 with a depth limit below its length)', async () => {
    const r = await run('w1-chain', ['--n=6', '--depth=3', '--warmup=0', '--reps=1']);
    expect(r.code).not.toBe(0);
    expect(r.ok).toBe(false);
    expect(r.stderr).toMatch(/verification failed: outcome/);
  });
});

describe('the verifiers refuse wrong end states', () => {
  /** A W2 end state (Maps stand for the board's Keyed collections: get and size). */
  const fanoutState = (k: number, edit?: (r: Record<string, { i: number; value: number }>) => void) => {
    const results: Record<string, { i: number; value: number }> = {};
    const items: Record<string, { status: string }> = {};
    for (let i = 0; i < k; i++) {
      results[`i${i}`] = { i, value: 2 * i };
      items[`i${i}`] = { status: 'done' };
    }
    edit?.(results);
    let total = 0;
    for (const r of Object.values(results)) total += r.value;
    return {
      results: new Map(Object.entries(results)),
      items: new Map(Object.entries(items)),
      total,
      count: Object.keys(results).length,
    };
  };

  it('W1: a counter or log off by one', () => {
    expect(() => verifyChain({ counter: 3, log: [0, 1, 2] }, 3)).not.toThrow();
    expect(() => verifyChain({ counter: 2, log: [0, 1, 2] }, 3)).toThrow(VerificationError);
    expect(() => verifyChain({ counter: 3, log: [0, 2, 1] }, 3)).toThrow(/log\[1\]/);
    expect(() => verifyChain({ counter: 3, log: [0, 1] }, 3)).toThrow(/log length/);
  });

  it('W2: a lost, duplicated or wrong result', () => {
    expect(() => verifyFanout(fanoutState(4), 4)).not.toThrow();
    expect(() =>
      verifyFanout(
        fanoutState(4, (r) => delete r.i3),
        4,
      ),
    ).toThrow(VerificationError);
    // the same result under two keys: the total is off, and so is the count
    expect(() =>
      verifyFanout(
        fanoutState(4, (r) => {
          r.i4 = { i: 0, value: 0 };
        }),
        4,
      ),
    ).toThrow(/count/);
    // the right count and total, but a result that is not its item's: still caught
    expect(() =>
      verifyFanout(
        fanoutState(4, (r) => {
          r.i1 = { i: 2, value: 4 };
          r.i2 = { i: 1, value: 2 };
        }),
        4,
      ),
    ).toThrow(/result i1/);
  });

  it('W3: a lost update or a branch short of rounds', () => {
    const rounds = (n: number) =>
      new Map([
        ['b0', n],
        ['b1', 3],
      ]);
    expect(() => verifyContention({ counter: 6, rounds: rounds(3) }, 2, 3)).not.toThrow();
    expect(() => verifyContention({ counter: 5, rounds: rounds(3) }, 2, 3)).toThrow(/counter 5/);
    expect(() => verifyContention({ counter: 6, rounds: rounds(2) }, 2, 3)).toThrow(/branch b0/);
  });

  it('W4: a step short, an update lost or doubled, an entry dropped', () => {
    const entries = (vs: number[]) => Object.fromEntries(vs.map((v, i) => [`e${i}`, { v }]));
    expect(() => verifyBigState({ step: 2, entries: entries([1, 1, 0]) }, 3, 2)).not.toThrow();
    expect(() => verifyBigState({ step: 1, entries: entries([1, 1, 0]) }, 3, 2)).toThrow(/step/);
    expect(() => verifyBigState({ step: 2, entries: entries([2, 1, 0]) }, 3, 2)).toThrow(/sum/);
    expect(() => verifyBigState({ step: 2, entries: entries([1, 1]) }, 3, 2)).toThrow(/entries/);
    // a Map-like (Keyed) record is read the same way
    expect(() =>
      verifyBigState({ step: 2, entries: new Map(Object.entries(entries([1, 1]))) }, 3, 2),
    ).toThrow(/entries 2/);
  });

  it('any outcome but the expected one', () => {
    expect(() => verifyOutcome({ outcome: 'completed', reason: '' }, 'completed')).not.toThrow();
    expect(() => verifyOutcome({ outcome: 'depth_exceeded', reason: 'depth 5' }, 'completed')).toThrow(
      /depth_exceeded/,
    );
  });
});

describe('the protocol', () => {
  it('verifies warm-up runs too, and stops at the first wrong one', async () => {
    let runs = 0;
    await expect(
      measure({
        warmup: 2,
        reps: 7,
        run: async (_ctx, i) => {
          runs++;
          return { metrics: { x: i }, result: i === 1 ? 'wrong' : 'right' };
        },
        verify: (result) => {
          if (result !== 'right') throw new VerificationError('verification failed: wrong');
        },
      }),
    ).rejects.toThrow(VerificationError);
    expect(runs).toBe(2);
  });

  it('summarises the timed runs only: min, median, max; booleans AND-ed', async () => {
    const values = [100, 100, 5, 1, 9, 3, 7, 2, 4];
    const res = await measure({
      run: async (_ctx, i) => ({ metrics: { x: values[i]!, exact: i !== 0 }, result: null }),
      verify: () => {},
    });
    expect(res.metrics.x).toEqual({ min: 1, median: 4, max: 9 });
    expect(res.metrics.exact).toBe(true); // the warm-up's false does not count
    expect(res.raw).toHaveLength(7);
  });

  it('parses --name=value like harness.mjs', () => {
    expect(parseArgs({ n: 200, warmup: 2 }, ['--n=5', 'warmup=0', '--raw'])).toEqual({
      n: 5,
      warmup: 0,
      raw: true,
    });
  });
});

/**
 * The workloads' end-state conditions (../shared/bench-peers/WORKLOADS.md, "End state (verified)"), one
 * function per workload: each throws a VerificationError when a run ended in the wrong state. Kept apart
 * from the scripts so the tests can feed them wrong states.
 */
import { assert } from './protocol.js';

/** The run ended the way the team's goal says it should (not depth_exceeded, activation_limit, failed…). */
export function verifyOutcome(result: { outcome: string; reason: string }, expected: string): void {
  assert(result.outcome === expected, `outcome ${result.outcome} (${result.reason}), expected ${expected}`);
}

/** W1: `counter == N`, `log == [0, 1, …, N-1]`. */
export function verifyChain(board: { counter: number; log: readonly number[] }, n: number): void {
  assert(board.counter === n, `counter ${board.counter} !== ${n}`);
  assert(board.log.length === n, `log length ${board.log.length} !== ${n}`);
  for (let i = 0; i < n; i++) assert(board.log[i] === i, `log[${i}] = ${board.log[i]}`);
}

/**
 * W2: `count == K`, `total == K*(K-1)`; and no result lost or duplicated: exactly the K results
 * `{i, value: 2*i}`, one per item, every item done.
 */
export function verifyFanout(
  board: {
    count?: number | undefined;
    total?: number | undefined;
    results: { readonly size: number; get(key: string): { i: number; value: number } | undefined };
    items: { readonly size: number; get(key: string): { status: string } | undefined };
  },
  k: number,
): void {
  assert(board.count === k, `count ${board.count} !== ${k}`);
  assert(board.total === k * (k - 1), `total ${board.total} !== ${k * (k - 1)}`);
  assert(board.results.size === k, `${board.results.size} results !== ${k}`);
  assert(board.items.size === k, `${board.items.size} items !== ${k}`);
  for (let i = 0; i < k; i++) {
    const r = board.results.get(`i${i}`);
    assert(r !== undefined && r.i === i && r.value === 2 * i, `result i${i} = ${JSON.stringify(r)}`);
    assert(board.items.get(`i${i}`)?.status === 'done', `item i${i} not done`);
  }
}

/** W3: `counter == C*R` (exact) and every branch did its R rounds. */
export function verifyContention(
  board: { counter: number; rounds: { get(key: string): number | undefined } },
  c: number,
  r: number,
): void {
  for (let b = 0; b < c; b++)
    assert(board.rounds.get(`b${b}`) === r, `branch b${b} did ${board.rounds.get(`b${b}`)} rounds`);
  assert(board.counter === c * r, `counter ${board.counter} !== ${c * r}`);
}

/** W4: `step == T`, Σ v over all entries `== T`, the record still has S keys. */
export function verifyBigState(
  board: {
    step: number;
    entries: Iterable<readonly [string, { v: number }]> | Record<string, { v: number }>;
  },
  s: number,
  t: number,
): void {
  assert(board.step === t, `step ${board.step} !== ${t}`);
  const entries =
    Symbol.iterator in board.entries
      ? [...(board.entries as Iterable<readonly [string, { v: number }]>)]
      : Object.entries(board.entries as Record<string, { v: number }>);
  let sum = 0;
  for (const [, e] of entries) sum += e.v;
  assert(sum === t, `sum of v ${sum} !== ${t}`);
  assert(entries.length === s, `entries ${entries.length} !== ${s}`);
}

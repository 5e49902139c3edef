import fc from 'fast-check';
import { z } from 'zod';
import { coverPaths, prepareCommit } from '../../../src/blackboard/index.js';
import {
  type Blackboard,
  type BoardSnapshot,
  type Commit,
  type CommitEvent,
  type CommitResult,
  createBlackboard,
  keyed,
  type Path,
  type Store,
} from '../../../src/index.js';
import { InterleavedStore } from './interleaved-store.js';
import { HistoryRecorder, isLinearizable, type SequentialModel } from './linearizability.js';
import { applyNaive, overlapsNaive, plain } from './reference.js';

/** Makes a fresh store for one property run, and disposes of it. */
export type StoreFactory = () => Promise<{ store: Store; dispose?: () => Promise<void> }>;

const Schema = z.object({
  a: z.number(),
  b: z.number(),
  c: z.object({ x: z.number(), y: z.number() }),
  k: keyed(z.number()),
});
type Board = z.output<typeof Schema>;
const initial = { a: 0, b: 0, c: { x: 0, y: 0 }, k: { k1: 0 } };

const targets = ['a', 'b', 'c.x', 'c.y', 'k.k1', 'k.k2'] as const;
type Target = (typeof targets)[number];

function read(d: Board, t: Target): number {
  switch (t) {
    case 'a':
    case 'b':
      return d[t];
    case 'c.x':
      return d.c.x;
    case 'c.y':
      return d.c.y;
    default:
      return d.k.get(t.slice(2)) ?? 0;
  }
}

function write(d: Board, t: Target, v: number): void {
  if (t === 'a' || t === 'b') d[t] = v;
  else if (t === 'c.x') d.c.x = v;
  else if (t === 'c.y') d.c.y = v;
  else d.k.set(t.slice(2), v);
}

type Mode = 'transact' | 'agent';
type Tx = { mode: Mode; attempts: number } & (
  | { kind: 'inc'; target: Target }
  | { kind: 'copy'; from: Target; to: Target }
  | { kind: 'sum'; to: Target }
  | { kind: 'resetC' }
  | { kind: 'dropK' }
);

const target = fc.constantFrom(...targets);
const attempts = fc.integer({ min: 1, max: 3 });
const mode = fc.constantFrom('transact' as const, 'agent' as const);
const txArb: fc.Arbitrary<Tx> = fc.oneof(
  fc.record({ kind: fc.constant('inc' as const), target, attempts, mode }),
  fc.record({ kind: fc.constant('copy' as const), from: target, to: target, attempts, mode }),
  fc.record({ kind: fc.constant('sum' as const), to: target, attempts, mode }),
  fc.record({ kind: fc.constant('resetC' as const), attempts, mode }),
  fc.record({ kind: fc.constant('dropK' as const), attempts, mode }),
);

function recipe(tx: Tx): (d: Board) => number | undefined {
  switch (tx.kind) {
    case 'inc':
      return (d) => {
        write(d, tx.target, read(d, tx.target) + 1);
        return read(d, tx.target);
      };
    case 'copy':
      return (d) => {
        write(d, tx.to, read(d, tx.from) + 10);
        return undefined;
      };
    case 'sum':
      return (d) => {
        write(d, tx.to, d.a + d.b + 100);
        return undefined;
      };
    case 'resetC':
      return (d) => {
        d.c = { x: -1, y: -1 };
        return undefined;
      };
    case 'dropK':
      return (d) => {
        d.k.delete('k2');
        return undefined;
      };
  }
}

type Outcome<T> = { ok: true; value: T; event: CommitEvent | undefined } | { ok: false };

/**
 * Runs a recipe the way it is committed: `transact` (in turn with the board's commits, at the head), or
 * as an agent does: look at a snapshot, work for a while (a scheduled pause), then commit what the
 * recipe made of that snapshot, retrying from a fresh snapshot on conflict.
 */
async function runAs<T>(
  board: {
    snapshot: () => BoardSnapshot<Board>;
    commit: (c: Commit) => Promise<CommitResult>;
    transact: Blackboard<Board>['transact'];
  },
  mode: Mode,
  fn: (d: Board) => T,
  options: { author: string; maxAttempts: number },
  s: fc.Scheduler,
): Promise<Outcome<T>> {
  if (mode === 'transact') {
    const r = await board.transact(fn, options);
    return r.ok ? { ok: true, value: r.value, event: r.event } : { ok: false };
  }
  for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
    const seen = board.snapshot();
    await s.schedule(Promise.resolve(), `${options.author} works`);
    const { value, commit } = prepareCommit(seen, fn, { author: options.author });
    if (!commit) return { ok: true, value, event: undefined };
    const r = await board.commit(commit);
    if (r.ok) return { ok: true, value, event: r.event };
    if (r.error.code !== 'conflict') throw new Error(r.error.message);
  }
  return { ok: false };
}

/**
 * Checks a finished run against its log, independently of the store's own logic:
 * 1. replaying the accepted commits serially, in log order, on a naive model gives the final board;
 * 2. every commit a caller saw accepted is in the log, and the log holds nothing else;
 * 3. every accepted commit had no overlapping write between its base and itself, and every rejected
 *    one really had such a write (rejections are real conflicts, not lost work).
 */
export function checkAgainstLog(
  log: readonly CommitEvent[],
  finalState: unknown,
  accepted: readonly CommitEvent[],
  calls: InterleavedStore['calls'],
): void {
  const replayed = log.reduce<unknown>((s, e) => applyNaive(s, e.patches), plain(initial));
  if (JSON.stringify(replayed) !== JSON.stringify(plain(finalState))) {
    throw new Error(
      `Serial replay ${JSON.stringify(replayed)} differs from the board ${JSON.stringify(plain(finalState))}`,
    );
  }
  const seqs = new Set(log.map((e) => e.seq));
  for (const e of accepted)
    if (!seqs.has(e.seq)) throw new Error(`Accepted commit seq ${e.seq} is missing from the log`);
  if (new Set(accepted.map((e) => e.seq)).size !== log.length)
    throw new Error('The log holds commits nobody saw accepted');
  log.forEach((e, i) => {
    if (e.version !== i + 1) throw new Error(`Version ${e.version} at position ${i}: versions must be 1..n`);
  });
  const overlapping = (base: number, upTo: number, touched: readonly Path[]) =>
    log.some(
      (e) =>
        e.version > base &&
        e.version <= upTo &&
        e.writes.some((w) => touched.some((t) => overlapsNaive(w, t))),
    );
  for (const call of calls) {
    if (call.result.ok) {
      if (overlapping(call.draft.baseVersion, call.result.event.version - 1, call.touched)) {
        throw new Error(
          `Commit v${call.result.event.version} was accepted over an overlapping write (lost update)`,
        );
      }
    } else if (call.result.fenced) {
      throw new Error('A commit without a fence was refused as fenced');
    } else if (!overlapping(call.draft.baseVersion, call.result.conflict.headVersion, call.touched)) {
      throw new Error(
        `A commit on base v${call.draft.baseVersion} was rejected without an overlapping write`,
      );
    }
  }
}

/** Concurrent transactions interleaved by fast-check's scheduler are equivalent to a serial order. */
export function serializabilityProperty(makeStore: StoreFactory) {
  return fc.asyncProperty(fc.scheduler(), fc.array(txArb, { minLength: 2, maxLength: 6 }), async (s, txs) => {
    const { store: inner, dispose } = await makeStore();
    try {
      const store = new InterleavedStore(inner, s);
      const board = await createBlackboard({ schema: Schema, initial, store, runId: 'serial' });
      const results: Outcome<number | undefined>[] = [];
      const running = txs.map((tx, i) =>
        // Starts are scheduled (not the transactions themselves: a scheduled promise must not depend on another).
        s
          .schedule(Promise.resolve(), `start tx${i}`)
          .then(() => runAs(board, tx.mode, recipe(tx), { author: `tx${i}`, maxAttempts: tx.attempts }, s))
          .then((r) => {
            results.push(r);
          }),
      );
      await s.waitFor(Promise.all(running));
      const log = (await inner.read('serial', 1)).filter((e): e is CommitEvent => e.type === 'commit');
      const accepted = results.flatMap((r) => (r.ok && r.event ? [r.event] : []));
      checkAgainstLog(log, board.state, accepted, store.calls);
    } finally {
      await dispose?.();
    }
  });
}

// Index 1 and key "1" name the same slot; keys with quotes, backslashes, accents, NUL, a lone surrogate and
// the empty key must compare as the same text in every store (the PostgreSQL store applies the rule in SQL).
const universe: Path[] = [
  [],
  ['a'],
  ['a', 'x'],
  ['a', 'y'],
  ['a', 'x', 'z'],
  ['b'],
  ['b', 0],
  ['b', 1],
  ['b', '1'],
  ['b', '01'],
  ['a', 'x"\\'],
  ['a', 'x"\\', ''],
  ['é', ''],
  ['é', 'ü'],
  // Keys the board accepts that PostgreSQL cannot decode to text: compared as written, never decoded.
  ['a', '\u0000'],
  ['a', '\u0000', 'z'],
  ['a', '\ud800'],
  ['a', '\ud800\u0000', 1],
];
const pathArb = fc.constantFrom(...universe);

/** The store accepts a commit exactly when no write after its base overlaps what it touches. */
export function conflictRuleProperty(makeStore: StoreFactory) {
  const op = fc.record({
    back: fc.nat(4),
    reads: fc.array(pathArb, { maxLength: 3 }),
    writes: fc.array(pathArb, { minLength: 1, maxLength: 2 }),
  });
  return fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
    const { store, dispose } = await makeStore();
    try {
      await store.openRun('rule', {});
      const writesAt: Path[][] = [[]];
      let head = 0;
      for (const [i, o] of ops.entries()) {
        const base = Math.max(0, head - o.back);
        const writes = coverPaths(o.writes);
        const touched = coverPaths([...o.reads, ...writes]);
        const expectConflict = writesAt.some(
          (ws, v) => v > base && ws.some((w) => touched.some((t) => overlapsNaive(w, t))),
        );
        const r = await store.commit(
          'rule',
          { baseVersion: base, reads: o.reads, writes, patches: [], author: `w${i}`, time: i },
          touched,
        );
        if (r.ok === expectConflict)
          throw new Error(`op ${i}: expected ${expectConflict ? 'a conflict' : 'acceptance'}`);
        if (r.ok) {
          if (r.event.version !== head + 1)
            throw new Error(`op ${i}: version ${r.event.version}, expected ${head + 1}`);
          head += 1;
          writesAt.push(writes);
        } else if (r.fenced || r.conflict.conflicts.length === 0)
          throw new Error(`op ${i}: a conflict must name the paths`);
      }
    } finally {
      await dispose?.();
    }
  });
}

type LinInput = { op: 'inc' | 'read'; key: 'a' | 'b'; mode: Mode };
type LinOutput = { ok: boolean; value: number };

const counterModel: SequentialModel<{ a: number; b: number }, LinInput, LinOutput> = {
  init: { a: 0, b: 0 },
  step(state, input, output) {
    if (input.op === 'read') return state[input.key] === output.value ? state : undefined;
    if (!output.ok) return state; // a refused increment has no effect, wherever it is placed
    return state[input.key] + 1 === output.value ? { ...state, [input.key]: output.value } : undefined;
  },
  key: (s) => `${s.a},${s.b}`,
};

/** Increments and reads, interleaved by the scheduler, form a linearizable history. */
export function linearizabilityProperty(makeStore: StoreFactory) {
  const opArb = fc.record({
    op: fc.constantFrom('inc' as const, 'read' as const),
    key: fc.constantFrom('a' as const, 'b' as const),
    mode,
  });
  return fc.asyncProperty(
    fc.scheduler(),
    fc.array(opArb, { minLength: 2, maxLength: 9 }),
    fc.integer({ min: 1, max: 3 }),
    async (s, ops, maxAttempts) => {
      const { store: inner, dispose } = await makeStore();
      try {
        const store = new InterleavedStore(inner, s);
        const board = await createBlackboard({ schema: Schema, initial, store, runId: 'lin' });
        const history = new HistoryRecorder<LinInput, LinOutput>();
        const running = ops.map((input, i) =>
          s.schedule(Promise.resolve(), `start op${i}`).then(() =>
            history.record(input, async () => {
              if (input.op === 'read') return { ok: true, value: board.state[input.key] };
              const r = await runAs(
                board,
                input.mode,
                (d) => {
                  d[input.key] += 1;
                  return d[input.key];
                },
                { author: `op${i}`, maxAttempts },
                s,
              );
              return r.ok ? { ok: true, value: r.value } : { ok: false, value: -1 };
            }),
          ),
        );
        await s.waitFor(Promise.all(running));
        if (!isLinearizable(history.ops, counterModel)) {
          throw new Error(`Not linearizable: ${JSON.stringify(history.ops)}`);
        }
      } finally {
        await dispose?.();
      }
    },
  );
}

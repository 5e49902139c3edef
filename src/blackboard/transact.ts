import type { Draft } from 'immer';
import { enablePatches, produceWithPatches } from 'immer';
import type { CommitRejection, TooManyConflicts } from './errors.js';
import type { CommitEvent } from './events.js';
import { fromImmerPatches, resolvePhysical, toLogicalPath } from './patches.js';
import { coverPaths, type Path, pathKey } from './path.js';
import { trackReads } from './tracking.js';
import type { BoardSnapshot, Commit, CommitResult } from './types.js';

enablePatches();

/** Options of {@link transact}. */
export interface TransactOptions {
  /** Who commits (an agent id, `user`, …). */
  readonly author: string;
  /** Attempts before giving up with `too_many_conflicts` (default 8). */
  readonly maxAttempts?: number;
  readonly activationId?: string;
  /** Makes a repeated transaction a no-op that returns the first accepted result. */
  readonly idempotencyKey?: string;
  /** Extra paths to treat as read, beyond what the recipe was seen reading. */
  readonly reads?: readonly Path[];
}

/** The outcome of {@link transact}. */
export type TransactResult<TResult> =
  | {
      readonly ok: true;
      /** What the recipe returned on the attempt that was committed. */
      readonly value: TResult;
      /** The board version after the transaction (unchanged for a read-only recipe). */
      readonly version: number;
      /** The commit event; undefined when the recipe changed nothing. */
      readonly event: CommitEvent | undefined;
      readonly attempts: number;
    }
  | { readonly ok: false; readonly error: CommitRejection | TooManyConflicts; readonly attempts: number };

/** The part of a board `transact` needs. */
export interface Transactable<TState> {
  snapshot(): BoardSnapshot<TState>;
  commit(commit: Commit): Promise<CommitResult>;
}

/**
 * Runs `recipe` on a draft of the current board and commits what it changed, retrying on fresh state
 * when a concurrent commit conflicts. The recipe must be pure (no I/O, no side effects outside the
 * draft): it may run several times. Reads are tracked by a proxy over the immer draft: every value the
 * recipe reads becomes part of the commit's `reads`, so a transaction that computes `b` from `a` conflicts
 * with a concurrent write to `a`. Reading a whole object (enumerating its keys, or returning it) reads
 * everything under it.
 *
 * @example
 * const r = await transact(board, (d) => { d.count += 1; return d.count; }, { author: 'counter' });
 * if (r.ok) console.log('now', r.value);
 */
export async function transact<TState, TResult>(
  board: Transactable<TState>,
  recipe: (draft: Draft<TState>) => TResult,
  options: TransactOptions,
): Promise<TransactResult<TResult>> {
  const maxAttempts = options.maxAttempts ?? 8;
  let last: CommitRejection | undefined;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const { state, version } = board.snapshot();
    let value!: TResult;
    let readLog!: ReturnType<typeof trackReads>['log'];
    const [, immerPatches] = produceWithPatches(state, (draft) => {
      const tracked = trackReads(draft as object);
      readLog = tracked.log;
      value = recipe(tracked.root as Draft<TState>);
    });
    if (immerPatches.length === 0) return { ok: true, value, version, event: undefined, attempts: attempt };
    const patches = fromImmerPatches(state, immerPatches);
    const result = await board.commit({
      baseVersion: version,
      reads: readPaths(
        state,
        readLog,
        patches.map((p) => p.path),
        options.reads,
      ),
      patches,
      author: options.author,
      ...(options.activationId === undefined ? {} : { activationId: options.activationId }),
      ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
    });
    if (result.ok)
      return { ok: true, value, version: result.event.version, event: result.event, attempts: attempt };
    if (result.error.code !== 'conflict') return { ok: false, error: result.error, attempts: attempt };
    last = result.error;
  }
  return {
    ok: false,
    attempts: maxAttempts,
    error: {
      code: 'too_many_conflicts',
      message: `Gave up after ${maxAttempts} attempts, each conflicting with a concurrent commit. ${last?.message ?? ''}`,
      attempts: maxAttempts,
      last: last as Extract<CommitRejection, { code: 'conflict' }>,
    },
  };
}

/**
 * The recipe's reads as logical paths, minimally covered: exact reads, plus objects reached (or keys
 * tested) that the recipe neither read nor wrote below. Reaching `d.tasks` to set one entry is
 * navigation, not a read of the collection; the write itself guards the entry.
 */
function readPaths(
  state: unknown,
  log: ReturnType<typeof trackReads>['log'],
  writes: readonly Path[],
  extra: readonly Path[] | undefined,
): Path[] {
  const exact = log.exact.map((p) => toLogicalPath(state, p));
  // Reaching a Keyed's bucket array or a bucket is navigation towards an entry, not a read of the collection.
  const reached = log.reached
    .map((p) => resolvePhysical(state, p))
    .filter((r) => !r.internal)
    .map((r) => r.path);
  const below = new Set<string>();
  for (const p of [...exact, ...reached, ...writes])
    for (let i = 0; i < p.length; i++) below.add(pathKey(p.slice(0, i)));
  const leaves = reached.filter((p) => !below.has(pathKey(p)));
  return coverPaths([...exact, ...leaves, ...(extra ?? [])]);
}

import { type Draft, enableMapSet, enablePatches, Immer, isDraft } from 'immer';
import type { CommitRejection, TooManyConflicts } from './errors.js';
import type { CommitEvent } from './events.js';
import { type BoardLimits, nestsDeeperThan, OverDepth } from './limits.js';
import { fromImmerPatches } from './patches.js';
import { coverPaths, type Path, pathKey } from './path.js';
import { type ReadLog, trackReads } from './tracking.js';
import type { BoardSnapshot, Commit, CommitResult } from './types.js';

enablePatches();
enableMapSet();
// The draft's result is never kept (the board applies the patches itself), so freezing it is wasted work.
const immer = new Immer({ autoFreeze: false });

/** Who commits, and how, for {@link prepareCommit} and {@link transact}. */
export interface CommitOptions {
  /** Who commits (an agent id, `user`, …). */
  readonly author: string;
  readonly activationId?: string;
  /** Makes a repeated commit a no-op that returns the first accepted result. */
  readonly idempotencyKey?: string;
  /** Extra paths to treat as read, beyond what the recipe was seen reading. */
  readonly reads?: readonly Path[];
  /**
   * The board's `maxDepth` (see {@link BoardLimits}): a value the recipe writes that would nest deeper is
   * kept from immer (whose finalisation recurses) and the commit is refused as `limit_exceeded`. Default
   * 512: the board's own check, at its limit, refuses what lies between.
   */
  readonly limits?: Pick<BoardLimits, 'maxDepth'>;
}

/** How deep a recipe's written values may nest when the board's limit is not given (below immer's stack use). */
const RECIPE_MAX_DEPTH = 512;

/** Keeps a value nested deeper than `maxDepth` (counting the `depth` of where it is written) from immer. */
const screenDepth =
  (maxDepth: number) =>
  (value: unknown, depth: number): unknown =>
    !isDraft(value) && nestsDeeperThan(value, maxDepth - depth, isDraft) ? new OverDepth(maxDepth) : value;

/** Options of {@link transact}. */
export interface TransactOptions extends CommitOptions {
  /** Attempts before giving up with `too_many_conflicts` (default 8). */
  readonly maxAttempts?: number;
}

/** What `board.prepareCommit` makes of a recipe: the recipe's value and the commit it amounts to. */
export interface PreparedCommit<TResult> {
  /** What the recipe returned. */
  readonly value: TResult;
  /** The commit, based on the snapshot's version; undefined when the recipe changed nothing. */
  readonly commit: Commit | undefined;
}

/**
 * Runs a pure recipe on a draft of `snapshot` and turns what it did into a commit based on the
 * snapshot's version: its patches, and its reads (tracked by a proxy over the draft). Nothing is
 * committed. This is how an agent that works for a while on what it saw commits afterwards: if the
 * board moved under what it read or writes, the commit conflicts instead of overwriting.
 *
 * @example
 * const seen = board.snapshot();
 * const answer = await callModel(seen.state.question); // slow work on what was seen
 * const { commit } = prepareCommit(seen, (d) => { d.answer = answer; }, { author: 'answerer' });
 * if (commit) await board.commit(commit); // conflicts if `question` changed meanwhile
 */
export function prepareCommit<TState, TResult>(
  snapshot: BoardSnapshot<TState>,
  recipe: (draft: Draft<TState>) => TResult,
  options: CommitOptions,
): PreparedCommit<TResult> {
  let value!: TResult;
  let log!: ReadLog;
  const [, immerPatches] = immer.produceWithPatches(snapshot.state, (draft) => {
    const maxDepth = options.limits?.maxDepth ?? RECIPE_MAX_DEPTH;
    const tracked = trackReads(draft as object, screenDepth(maxDepth), maxDepth);
    log = tracked.log;
    value = recipe(tracked.root as Draft<TState>);
  });
  if (immerPatches.length === 0) return { value, commit: undefined };
  const patches = fromImmerPatches(snapshot.state, immerPatches);
  const commit: Commit = {
    baseVersion: snapshot.version,
    reads: readPaths(
      log,
      patches.map((p) => p.path),
      options.reads,
    ),
    patches,
    author: options.author,
    ...(options.activationId === undefined ? {} : { activationId: options.activationId }),
    ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
  };
  return { value, commit };
}

/**
 * The recipe's reads, minimally covered: exact reads, plus objects reached (or keys tested) that the
 * recipe neither read nor wrote below. Reaching `d.tasks` to set one entry is navigation, not a read of
 * the collection; the write itself guards the entry.
 */
function readPaths(log: ReadLog, writes: readonly Path[], extra: readonly Path[] | undefined): Path[] {
  const all = log.exact.length + log.reached.length + writes.length;
  // A recipe reaches a few objects: each is compared with every path (segments as pathKey tells them apart),
  // with no key built; many go through a set of keys.
  if (log.reached.length * all <= 256) {
    const hasBelow = (r: Path): boolean =>
      [log.exact, log.reached, writes].some((paths) => paths.some((p) => strictlyBelow(r, p)));
    const leaves = log.reached.filter((p) => !hasBelow(p));
    return coverPaths([...log.exact, ...leaves, ...(extra ?? [])]);
  }
  const below = new Set<string>();
  for (const p of [...log.exact, ...log.reached, ...writes])
    for (let i = 0; i < p.length; i++) below.add(pathKey(p.slice(0, i)));
  const leaves = log.reached.filter((p) => !below.has(pathKey(p)));
  return coverPaths([...log.exact, ...leaves, ...(extra ?? [])]);
}

/** Whether `p` lies strictly below `r` (segments equal as their JSON is: `1` and `'1'` differ). */
function strictlyBelow(r: Path, p: Path): boolean {
  if (p.length <= r.length) return false;
  for (let i = 0; i < r.length; i++) if (r[i] !== p[i]) return false;
  return true;
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

/** The part of a board {@link transact} needs. */
export interface Transactable<TState> {
  /**
   * Calls `build` with the board's head, in turn with every other commit of this board, and commits what
   * it returns (nothing when it returns undefined).
   */
  commitAtHead(build: (head: BoardSnapshot<TState>) => Commit | undefined): Promise<CommitResult | undefined>;
  /** The board's bounds, when it has them (a recipe's written values are screened against `maxDepth`). */
  readonly limits?: Pick<BoardLimits, 'maxDepth'>;
}

/**
 * Runs a pure recipe on a draft of the board's current state and commits what it changed. The recipe
 * runs in turn with this board's other commits, on the newest state, so transactions in one process
 * never conflict with each other; a conflict comes only from a store shared with other processes, and
 * then the recipe is re-run on fresh state (up to `maxAttempts`, default 8). The recipe must be pure: no
 * I/O, no side effects outside the draft. Reads are tracked as in {@link prepareCommit}.
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
  let last: Extract<CommitRejection, { code: 'conflict' }> | undefined;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    let prepared!: PreparedCommit<TResult>;
    let version = 0;
    const result = await board.commitAtHead((head) => {
      version = head.version;
      prepared = prepareCommit(
        head,
        recipe,
        options.limits || !board.limits ? options : { ...options, limits: board.limits },
      );
      return prepared.commit;
    });
    if (result === undefined)
      return { ok: true, value: prepared.value, version, event: undefined, attempts: attempt };
    if (result.ok)
      return {
        ok: true,
        value: prepared.value,
        version: result.event.version,
        event: result.event,
        attempts: attempt,
      };
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
      last: last!,
    },
  };
}

import { immerable } from 'immer';

/**
 * A Keyed collection is a fixed two-level trie: 64 × 64 leaves, each leaf a `Map`. A change copies two
 * 64-slot arrays and one small leaf (about n/4096 entries), so updating one entry costs about the same
 * at 10 entries as at 100,000, where a copied plain object of 10,000 keys costs ~11 ms.
 */
const FANOUT = 64;
const SHIFT = 6;
type Leaf<TValue> = ReadonlyMap<string, TValue>;
type Mid<TValue> = ReadonlyArray<Leaf<TValue>>;

/**
 * @internal The brand of a Keyed collection: `instanceof Keyed` holds for a collection made by another copy
 * of the package (npm link, two versions in one tree), as it does for an immer draft of one.
 */
const KEYED_BRAND = Symbol.for('hearsay.keyed');

const EMPTY_LEAF: Leaf<never> = Object.freeze(new Map<string, never>());
const EMPTY_MID: Mid<never> = Object.freeze(new Array<Leaf<never>>(FANOUT).fill(EMPTY_LEAF));

/**
 * @internal A shallow copy of an array. Board arrays are frozen, and V8 (Node 20) copies a frozen array
 * with `slice()` through a slow path, 20 times slower than `Array.from` (a Keyed write copies two 64-slot
 * arrays).
 */
export const copyArray = <T>(array: readonly T[]): T[] => Array.from(array);

function hashOf(key: string): number {
  // FNV-1a, 32 bit: cheap, stable across processes (a snapshot written by one process is read by another).
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** @internal The slot of `key`: index in the top array, index in the middle array. */
export function slotOf(key: string): [number, number] {
  const h = hashOf(key);
  return [h & (FANOUT - 1), (h >>> SHIFT) & (FANOUT - 1)];
}

/**
 * A large keyed collection on the board: a persistent map from string keys to values that shares
 * structure between versions, so updating one entry of 10,000 does not copy the other 9,999.
 *
 * Read it like a `Map` (`get`, `has`, `size`, `keys()`, `values()`, `entries()`, `for…of`). Inside a
 * `transact` recipe, write it like a `Map` too (`set`, `delete`, or mutate `get(key)` in place): the
 * recipe works on an immer draft, and the patches it produces name the entry (`['tasks', 't1', 'status']`),
 * so two writers of different entries never conflict. Committed instances are frozen: `set` and `delete`
 * throw; use `with` / `without` for persistent updates. Serialises to a plain object (`toJSON`).
 *
 * @example
 * const tasks = Keyed.from({ t1: { status: 'open' } });
 * tasks.get('t1')?.status; // 'open'
 * const next = tasks.with('t2', { status: 'open' }); // tasks is unchanged
 */
export class Keyed<TValue> implements Iterable<[string, TValue]> {
  /** @internal The trie. Not part of the public API. */
  readonly b: ReadonlyArray<Mid<TValue>>;

  /** Recognises a Keyed collection by its brand, not by class identity (it may come from another copy). */
  static [Symbol.hasInstance](value: unknown): boolean {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[KEYED_BRAND] === true &&
      Array.isArray((value as { b?: unknown }).b)
    );
  }

  /** @internal Use {@link Keyed.from} or {@link Keyed.empty}. */
  constructor(trie?: ReadonlyArray<Mid<TValue>>) {
    this.b = trie ?? new Array<Mid<TValue>>(FANOUT).fill(EMPTY_MID);
  }

  /** An empty collection. */
  static empty<TValue>(): Keyed<TValue> {
    return new Keyed<TValue>();
  }

  /** A collection from a plain object, a `Map` or `[key, value]` pairs. */
  static from<TValue>(
    source:
      | Readonly<Record<string, TValue>>
      | ReadonlyMap<string, TValue>
      | Iterable<readonly [string, TValue]>,
  ): Keyed<TValue> {
    const trie: Map<string, TValue>[][] = [];
    const pairs: Iterable<readonly [string, TValue]> =
      source instanceof Map || Symbol.iterator in source
        ? (source as Iterable<readonly [string, TValue]>)
        : Object.entries(source as Record<string, TValue>);
    for (const [key, value] of pairs) {
      const [i, j] = slotOf(key);
      trie[i] ??= [];
      const mid = trie[i];
      mid[j] ??= new Map();
      mid[j].set(key, value);
    }
    const top = Array.from({ length: FANOUT }, (_, i) => {
      const mid = trie[i];
      return mid ? Array.from({ length: FANOUT }, (_, j) => mid[j] ?? EMPTY_LEAF) : EMPTY_MID;
    });
    return new Keyed<TValue>(top as Mid<TValue>[]);
  }

  /** The value under `key`, or `undefined`. */
  get(key: string): TValue | undefined {
    const [i, j] = slotOf(key);
    const top = this.b;
    if (!isDraft(top)) return top[i]![j]!.get(key);
    // On a draft an entry that is an object comes as a draft (so the recipe can change it in place); any
    // other value is read as it stands, without drafting the trie on the way.
    const leaf = latestLeaf(top, i, j);
    const now = leaf?.get(key);
    if (leaf !== undefined && (typeof now !== 'object' || now === null)) return now;
    return draftedLeaf(top, i, j).get(key);
  }

  /** True when `key` is present. */
  has(key: string): boolean {
    const [i, j] = slotOf(key);
    const top = this.b;
    if (!isDraft(top)) return top[i]![j]!.has(key);
    return latestLeaf(top, i, j)?.has(key) ?? draftedLeaf(top, i, j).has(key);
  }

  /** Number of entries (cached on committed, frozen instances). */
  get size(): number {
    const cached = sizes.get(this);
    if (cached !== undefined) return cached;
    if (isDraft(this.b)) {
      const counted = draftSize(this.b);
      if (counted !== undefined) return counted;
    }
    const frozen = Object.isFrozen(this);
    let n = 0;
    for (const mid of this.b) {
      if (mid === EMPTY_MID) continue;
      // A commit copies only the middle arrays it changes: the others' counts are remembered.
      let m = frozen ? sizes.get(mid) : undefined;
      if (m === undefined) {
        m = 0;
        for (const leaf of mid) m += leaf.size;
        if (frozen) sizes.set(mid, m);
      }
      n += m;
    }
    if (frozen) sizes.set(this, n);
    return n;
  }

  /** Inside a recipe: sets `key` to `value`. Throws on a committed (frozen) instance. */
  set(key: string, value: TValue): this {
    assertDraft(this);
    const [i, j] = slotOf(key);
    if (!isDraft(this.b)) {
      // A collection being built (from `from` or `empty`) shares the frozen empty parts: it gets its own
      // before writing (a draft's writes are copied on write by immer already).
      const top = this.b as Mid<TValue>[];
      if (top[i] === EMPTY_MID) top[i] = new Array<Leaf<TValue>>(FANOUT).fill(EMPTY_LEAF);
      const mid = top[i] as Leaf<TValue>[];
      if (mid[j] === EMPTY_LEAF) mid[j] = new Map<string, TValue>();
    }
    (draftedLeaf(this.b, i, j) as Map<string, TValue>).set(key, value);
    return this;
  }

  /** Inside a recipe: removes `key`; returns whether it was present. Throws on a committed instance. */
  delete(key: string): boolean {
    assertDraft(this);
    const [i, j] = slotOf(key);
    return (draftedLeaf(this.b, i, j) as Map<string, TValue>).delete(key);
  }

  /** A new collection with `key` set to `value`; this one is unchanged. */
  with(key: string, value: TValue): Keyed<TValue> {
    const [i, j] = slotOf(key);
    const top = copyArray(this.b);
    const mid = copyArray(top[i]!);
    mid[j] = new Map(mid[j]!).set(key, value);
    top[i] = Object.freeze(mid);
    return persistent(top);
  }

  /** A new collection without `key`; this one is unchanged (and returned as is when `key` is absent). */
  without(key: string): Keyed<TValue> {
    const [i, j] = slotOf(key);
    if (!this.b[i]![j]!.has(key)) return this;
    const top = copyArray(this.b);
    const mid = copyArray(top[i]!);
    const leaf = new Map(mid[j]!);
    leaf.delete(key);
    mid[j] = leaf.size > 0 ? leaf : EMPTY_LEAF;
    top[i] = Object.freeze(mid);
    return persistent(top);
  }

  *keys(): IterableIterator<string> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): IterableIterator<TValue> {
    for (const [, value] of this.entries()) yield value;
  }

  /** Entries in trie order: stable for the same keys in every process, not insertion order. */
  *entries(): IterableIterator<[string, TValue]> {
    const top = this.b;
    if (!isDraft(top) || !Array.isArray(latest(top))) {
      for (const mid of top) if (mid !== EMPTY_MID) for (const leaf of mid) yield* leaf.entries();
      return;
    }
    // A draft: only the leaves that hold entries are drafted (their entries come as drafts), the rest of
    // the trie is read as it stands, again after each leaf (the recipe may write while it iterates).
    for (let i = 0; i < FANOUT; i++) {
      let mid = latest(latest(top)[i]);
      if (mid === undefined || mid === EMPTY_MID) continue;
      for (let j = 0; j < FANOUT; j++) {
        const leaf = latest(mid?.[j]);
        if (leaf === undefined || leaf.size === 0) continue;
        yield* draftedLeaf(top, i, j).entries();
        mid = latest(latest(top)[i]);
      }
    }
  }

  [Symbol.iterator](): IterableIterator<[string, TValue]> {
    return this.entries();
  }

  forEach(fn: (value: TValue, key: string) => void): void {
    for (const [key, value] of this.entries()) fn(value, key);
  }

  /** The entries as a plain object, sorted by key so equal collections serialise identically. */
  toJSON(): Record<string, TValue> {
    const out: Record<string, TValue> = {};
    const entries = [...this.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [key, value] of entries)
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    return out;
  }
}

// immer drafts a Keyed like a plain object: only the touched path of the trie is copied.
(Keyed.prototype as unknown as Record<symbol, boolean>)[immerable] = true;
Object.defineProperty(Keyed.prototype, KEYED_BRAND, { value: true });

const sizes = new WeakMap<object, number>();

/**
 * immer's marker of a draft, and the parts of its state read here. immer copies a drafted array with
 * `Array.prototype.slice`, which V8 (Node 20) runs through its generic path on a frozen array, ~50 times
 * slower than `Array.from` (2.5–6 µs for 64 slots): each Keyed entry a recipe reached cost two such copies,
 * and iterating a Keyed in a recipe 65. Here the copy immer would make is made first, the fast way (immer
 * uses a copy already made), and reads that need no draft read the draft's current state. A state not
 * shaped as expected (another immer) is left to immer: the same result, the slow way.
 */
const DRAFT_STATE = Symbol.for('immer-state');
interface DraftState {
  readonly base_: unknown;
  copy_: unknown;
  assigned_: unknown;
}

function draftState(value: unknown): DraftState | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const state = (value as Record<symbol, unknown>)[DRAFT_STATE] as DraftState | undefined;
  return typeof state === 'object' && state !== null && 'base_' in state && 'copy_' in state
    ? state
    : undefined;
}

/** Whether a trie array is a draft's (a committed one is frozen: told apart without a lookup). */
const isDraft = (value: unknown): boolean => !Object.isFrozen(value) && draftState(value) !== undefined;

/** The value as it stands now: a draft's current copy (or its base, untouched), else the value itself. */
function latest<T>(value: T): T;
function latest(value: unknown): unknown {
  const state = draftState(value);
  return state ? (state.copy_ ?? state.base_) : value;
}

/** A drafted array, with immer's copy of it made the fast way if it has none yet. */
function thawed<T>(array: T): T {
  const state = draftState(array);
  if (state && state.copy_ === null && state.assigned_ === undefined && Array.isArray(state.base_)) {
    state.assigned_ = new Map();
    state.copy_ = Array.from(state.base_);
  }
  return array;
}

/** The leaf (i, j) of a drafted trie, as a draft (for writes, and for entries handed out as drafts). */
function draftedLeaf<TValue>(top: ReadonlyArray<Mid<TValue>>, i: number, j: number): Leaf<TValue> {
  return thawed(thawed(top)[i]!)[j]!;
}

/** The leaf (i, j) of a drafted trie as it stands, without drafting anything; undefined if unreadable. */
function latestLeaf<TValue>(top: ReadonlyArray<Mid<TValue>>, i: number, j: number): Leaf<TValue> | undefined {
  const mid = latest(latest(top)?.[i]);
  const leaf = latest(mid?.[j]);
  return leaf instanceof Map ? leaf : undefined;
}

/** The number of entries of a drafted trie, counted on its current state (undefined if unreadable). */
function draftSize<TValue>(top: ReadonlyArray<Mid<TValue>>): number | undefined {
  const now = latest(top);
  if (!Array.isArray(now)) return undefined;
  let n = 0;
  for (const m of now) {
    const mid = latest(m);
    if (mid === EMPTY_MID) continue;
    if (!Array.isArray(mid)) return undefined;
    for (const l of mid) {
      const leaf = latest(l);
      if (!(leaf instanceof Map)) return undefined;
      n += leaf.size;
    }
  }
  return n;
}

/**
 * A collection made by `with`/`without`: frozen like a committed one, since it shares all but one leaf
 * with the collection it came from (`set` on it would write into that collection's leaves).
 */
function persistent<TValue>(top: Mid<TValue>[]): Keyed<TValue> {
  return Object.freeze(new Keyed<TValue>(Object.freeze(top)));
}

function assertDraft(k: Keyed<unknown>): void {
  if (Object.isFrozen(k)) {
    throw new TypeError(
      'This Keyed collection is committed and frozen: change it inside a transact recipe, or use with()/without().',
    );
  }
}

/** @internal What {@link selectKeys} remembers: the chosen keys per part of the trie, by the part's identity. */
export type KeySelection = WeakMap<object, readonly string[]>;

/**
 * @internal The keys of `k` whose entries `pick` chooses, in trie order. On a committed collection the
 * choice is remembered per middle array and per leaf (`memo`, by identity: a commit copies only the parts
 * it changes), so asking again after one entry changed costs the 64 middle arrays and one leaf, not every
 * entry. `pick` must be a pure function of the entry. On a draft nothing is remembered.
 */
export function selectKeys<TValue>(
  k: Keyed<TValue>,
  pick: (value: TValue, key: string) => boolean,
  memo: KeySelection,
): string[] {
  const frozen = Object.isFrozen(k);
  const fromLeaf = (leaf: Leaf<TValue>): readonly string[] => {
    const known = frozen ? memo.get(leaf) : undefined;
    if (known) return known;
    const keys: string[] = [];
    for (const [key, value] of leaf) if (pick(value, key)) keys.push(key);
    if (frozen) memo.set(leaf, keys);
    return keys;
  };
  const fromMid = (mid: Mid<TValue>): readonly string[] => {
    const known = frozen ? memo.get(mid) : undefined;
    if (known) return known;
    const keys: string[] = [];
    for (const leaf of mid) if (leaf.size > 0) for (const key of fromLeaf(leaf)) keys.push(key);
    if (frozen) memo.set(mid, keys);
    return keys;
  };
  const out: string[] = [];
  for (const mid of k.b) if (mid !== EMPTY_MID) for (const key of fromMid(mid)) out.push(key);
  return out;
}

/** @internal How many physical segments a Keyed adds between its own path and an entry's key (`b`, i, j). */
export const KEYED_INNER_SEGMENTS = 3;

import { current, immerable, isDraft, original } from 'immer';

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
    return this.b[i]![j]!.get(key);
  }

  /** True when `key` is present. */
  has(key: string): boolean {
    const [i, j] = slotOf(key);
    return this.b[i]![j]!.has(key);
  }

  /** Number of entries (cached on committed, frozen instances). */
  get size(): number {
    const cached = sizes.get(this);
    if (cached !== undefined) return cached;
    const unchanged = unchangedBase(this);
    if (unchanged) return unchanged.size;
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
    if (!isDraft(this)) {
      // A collection being built (from `from` or `empty`) shares the frozen empty parts: it gets its own
      // before writing (a draft's writes are copied on write by immer already).
      const top = this.b as Mid<TValue>[];
      if (top[i] === EMPTY_MID) top[i] = new Array<Leaf<TValue>>(FANOUT).fill(EMPTY_LEAF);
      const mid = top[i] as Leaf<TValue>[];
      if (mid[j] === EMPTY_LEAF) mid[j] = new Map<string, TValue>();
    }
    (this.b[i]![j] as Map<string, TValue>).set(key, value);
    return this;
  }

  /** Inside a recipe: removes `key`; returns whether it was present. Throws on a committed instance. */
  delete(key: string): boolean {
    assertDraft(this);
    const [i, j] = slotOf(key);
    return (this.b[i]![j] as Map<string, TValue>).delete(key);
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
    const unchanged = unchangedBase(this);
    if (unchanged) {
      // The keys from the committed collection, each value through the draft (so it can be written): only
      // the parts of the trie that hold entries are drafted, not all 4,096 leaves.
      for (const [key] of unchanged.entries()) yield [key, this.get(key) as TValue];
      return;
    }
    for (const mid of this.b) if (mid !== EMPTY_MID) for (const leaf of mid) yield* leaf.entries();
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
 * The committed collection a draft was made from, when nothing under the draft has changed yet in this
 * recipe (reading it then is reading that collection); undefined for a committed collection or a changed
 * draft.
 */
function unchangedBase<TValue>(k: Keyed<TValue>): Keyed<TValue> | undefined {
  if (!isDraft(k)) return undefined;
  const draft = k as unknown as object;
  const base = original(draft) as Keyed<TValue>;
  return current(draft) === base ? base : undefined;
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

import { immerable } from 'immer';

/**
 * Number of buckets in a {@link Keyed} collection. A change copies the bucket array (256 slots) and one
 * bucket (about n/256 entries), so an update of one entry stays a few microseconds up to ~10^5 entries,
 * where a copied plain object of 10,000 keys costs ~11 ms.
 */
const BUCKETS = 256;
const EMPTY_BUCKET: Readonly<Record<string, never>> = Object.freeze(Object.create(null));

function bucketOf(key: string): number {
  // FNV-1a, 32 bit: cheap, stable across processes (a snapshot written by one process is read by another).
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % BUCKETS;
}

/**
 * A large keyed collection on the board: a persistent map from string keys to values that shares
 * structure between versions, so updating one entry of 10,000 does not copy the other 9,999.
 *
 * Read it like a `Map` (`get`, `has`, `size`, `keys()`, `values()`, `entries()`, `for…of`). Inside a
 * `transact` recipe, write it like a `Map` too (`set`, `delete`, or mutate `get(key)` in place): the
 * recipe works on an immer draft, and the patches it produces name the entry (`['tasks', 't1', 'status']`),
 * so two writers of different entries never conflict. Outside a recipe, instances are frozen; use
 * `with` / `without` for persistent updates. Serialises to a plain object (`toJSON`).
 *
 * @example
 * const tasks = Keyed.from({ t1: { status: 'open' } });
 * tasks.get('t1')?.status; // 'open'
 * const next = tasks.with('t2', { status: 'open' }); // tasks is unchanged
 */
export class Keyed<TValue> implements Iterable<[string, TValue]> {
  /** @internal Buckets of entries, by hash of the key. Not part of the public API. */
  readonly b: ReadonlyArray<Readonly<Record<string, TValue>>>;

  /** @internal Use {@link Keyed.from} or {@link Keyed.empty}. */
  constructor(buckets?: ReadonlyArray<Readonly<Record<string, TValue>>>) {
    this.b = buckets ?? new Array<Record<string, TValue>>(BUCKETS).fill(EMPTY_BUCKET);
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
    const buckets: Record<string, TValue>[] = Array.from({ length: BUCKETS }, () => Object.create(null));
    const pairs: Iterable<readonly [string, TValue]> =
      source instanceof Map || Symbol.iterator in source
        ? (source as Iterable<readonly [string, TValue]>)
        : Object.entries(source as Record<string, TValue>);
    for (const [key, value] of pairs) buckets[bucketOf(key)]![key] = value;
    return new Keyed<TValue>(buckets.map((bk) => (hasAnyKey(bk) ? bk : EMPTY_BUCKET)));
  }

  /** The value under `key`, or `undefined`. */
  get(key: string): TValue | undefined {
    const bucket = this.b[bucketOf(key)]!;
    return Object.hasOwn(bucket, key) ? bucket[key] : undefined;
  }

  /** True when `key` is present. */
  has(key: string): boolean {
    return Object.hasOwn(this.b[bucketOf(key)]!, key);
  }

  /** Number of entries. Counting visits every bucket: O(n) on a draft, cached on a frozen instance. */
  get size(): number {
    const cached = sizes.get(this);
    if (cached !== undefined) return cached;
    let n = 0;
    for (const bucket of this.b) n += Object.keys(bucket).length;
    if (Object.isFrozen(this)) sizes.set(this, n);
    return n;
  }

  /** Inside a recipe: sets `key` to `value`. Throws on a frozen (committed) instance. */
  set(key: string, value: TValue): this {
    (this.b[bucketOf(key)] as Record<string, TValue>)[key] = value;
    return this;
  }

  /** Inside a recipe: removes `key`; returns whether it was present. Throws on a frozen instance. */
  delete(key: string): boolean {
    const bucket = this.b[bucketOf(key)] as Record<string, TValue>;
    if (!Object.hasOwn(bucket, key)) return false;
    delete bucket[key];
    return true;
  }

  /** A new collection with `key` set to `value`; this one is unchanged. */
  with(key: string, value: TValue): Keyed<TValue> {
    const i = bucketOf(key);
    const buckets = this.b.slice();
    const bucket = copyBucket(this.b[i]!);
    bucket[key] = value;
    buckets[i] = bucket;
    return new Keyed<TValue>(buckets);
  }

  /** A new collection without `key`; this one is unchanged (and returned as is when `key` is absent). */
  without(key: string): Keyed<TValue> {
    const i = bucketOf(key);
    if (!Object.hasOwn(this.b[i]!, key)) return this;
    const buckets = this.b.slice();
    const bucket = copyBucket(this.b[i]!);
    delete bucket[key];
    buckets[i] = hasAnyKey(bucket) ? bucket : EMPTY_BUCKET;
    return new Keyed<TValue>(buckets);
  }

  *keys(): IterableIterator<string> {
    for (const bucket of this.b) yield* Object.keys(bucket);
  }

  *values(): IterableIterator<TValue> {
    for (const bucket of this.b) for (const key of Object.keys(bucket)) yield bucket[key]!;
  }

  *entries(): IterableIterator<[string, TValue]> {
    for (const bucket of this.b) for (const key of Object.keys(bucket)) yield [key, bucket[key]!];
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
    for (const key of [...this.keys()].sort()) out[key] = this.get(key)!;
    return out;
  }
}

// immer drafts a Keyed like a plain object: only the touched bucket (and the bucket array) is copied.
(Keyed.prototype as unknown as Record<symbol, boolean>)[immerable] = true;

const sizes = new WeakMap<object, number>();

/** A shallow copy without a prototype, so keys like `__proto__` are plain entries. */
export function copyBucket<TValue>(bucket: Readonly<Record<string, TValue>>): Record<string, TValue> {
  return Object.assign(Object.create(null) as Record<string, TValue>, bucket);
}

function hasAnyKey(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

/** @internal How many segments a Keyed adds between its own path and an entry's key (`b`, bucket). */
export const KEYED_INNER_SEGMENTS = 2;

/** @internal The bucket that holds `key`, for code that applies patches without a draft. */
export { bucketOf };

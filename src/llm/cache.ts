import { createHash } from 'node:crypto';

/** A cached answer. */
export interface CachedAnswer {
  readonly text: string;
  readonly toolCalls: readonly { readonly id: string; readonly name: string; readonly arguments: string }[];
  readonly model: string;
}

/** Where deterministic answers are kept; memory by default, anything persistent behind this interface. */
export interface ModelCache {
  get(key: string): Promise<CachedAnswer | undefined> | CachedAnswer | undefined;
  set(key: string, value: CachedAnswer): Promise<void> | void;
}

/** A least-recently-used cache in memory. */
export class MemoryModelCache implements ModelCache {
  private readonly entries = new Map<string, CachedAnswer>();
  constructor(private readonly capacity = 1000) {}

  get(key: string): CachedAnswer | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, value: CachedAnswer): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * JSON with object keys sorted, so equal values hash equally whatever order their keys were written in.
 * A value with `toJSON` (a `Keyed` collection, a `Date`) is written as what it returns, as `JSON.stringify`
 * does: a collection's entries live in a private trie its own keys do not show.
 */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if (typeof obj.toJSON === 'function') return stableStringify((obj.toJSON as () => unknown)());
    return `{${Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify(obj[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A stable hash of anything JSON-like (sha256, hex). */
export function stableHash(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex');
}

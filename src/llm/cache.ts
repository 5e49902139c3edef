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

/**
 * A least-recently-used cache of model answers in memory, holding `capacity` answers (1000 by default). A
 * model client uses one unless its `cache` is another {@link ModelCache} or `false`.
 *
 * @example
 * import { createModelClient, MemoryModelCache, openAITransport } from 'hearsay';
 *
 * const models = createModelClient({
 *   transport: openAITransport({ apiKey: process.env.OPENAI_API_KEY! }),
 *   tiers: { large: { models: ['gpt-4o'] } },
 *   cache: new MemoryModelCache(10_000),
 * });
 */
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
 * Characters `stableStringify` writes at most (a value shared many times over can expand past any string):
 * 64 Mi, far above what it hashes (approval arguments are bounded to 8 MiB), and reached in seconds.
 */
const MAX_STABLE_LENGTH = 64 * 1024 * 1024;
/** Fragments gathered before they are joined: the list never nears V8's array limit (a crash, not an error). */
const FRAGMENTS_PER_CHUNK = 1 << 16;

/** Where a value sits, which decides how a value JSON cannot write (`undefined`, a function) is written. */
const Slot = { Top: 0, Element: 1, Property: 2 } as const;
type Slot = (typeof Slot)[keyof typeof Slot];

/**
 * JSON with object keys sorted, so equal values hash equally whatever order their keys were written in.
 * A value with `toJSON` (a `Keyed` collection, a `Date`) is written as what it returns, as `JSON.stringify`
 * does: a collection's entries live in a private trie its own keys do not show.
 *
 * Iterative (an explicit stack): a value nested 100,000 levels deep is written, never a `RangeError`. A
 * circular value throws a `TypeError`, as `JSON.stringify` does; output past 64 Mi characters (a value
 * sharing parts many times over) throws an `Error` with `code: 'limit_exceeded'`.
 *
 * @example
 * stableStringify({ b: 1, a: [true, null] }); // '{"a":[true,null],"b":1}'
 */
export function stableStringify(value: unknown): string {
  const chunks: string[] = [];
  let out: string[] = [];
  let length = 0;
  const emit = (s: string): void => {
    length += s.length;
    if (length > MAX_STABLE_LENGTH)
      throw Object.assign(
        new Error(`stableStringify: the value writes more than ${MAX_STABLE_LENGTH} characters.`),
        { code: 'limit_exceeded' as const },
      );
    out.push(s);
    if (out.length >= FRAGMENTS_PER_CHUNK) {
      chunks.push(out.join(''));
      out = [];
    }
  };
  // The containers being written (a circular value would never end), and what is still to do, last first:
  // text to write, a value to write, or a container to leave.
  const onPath = new Set<object>();
  type Task = string | { readonly value: unknown; readonly slot: Slot } | { readonly leave: object };
  const stack: Task[] = [{ value, slot: Slot.Top }];
  let wroteNothing = false;
  while (stack.length > 0) {
    const task = stack.pop()!;
    if (typeof task === 'string') {
      emit(task);
      continue;
    }
    if ('leave' in task) {
      onPath.delete(task.leave);
      continue;
    }
    const { value: v, slot } = task;
    if (v === null || typeof v !== 'object') {
      const s = JSON.stringify(v) as string | undefined;
      // As the recursive version did: nothing in an array (`[,1]`), `undefined` after a key, nothing at all on top.
      if (s !== undefined) emit(s);
      else if (slot === Slot.Property) emit('undefined');
      else if (slot === Slot.Top) wroteNothing = true;
      continue;
    }
    if (onPath.has(v)) throw new TypeError('stableStringify: the value is circular.');
    onPath.add(v);
    stack.push({ leave: v });
    if (Array.isArray(v)) {
      emit('[');
      stack.push(']');
      for (let i = v.length - 1; i >= 0; i--) {
        stack.push({ value: v[i], slot: Slot.Element });
        if (i > 0) stack.push(',');
      }
      continue;
    }
    const obj = v as Record<string, unknown>;
    if (typeof obj.toJSON === 'function') {
      stack.push({ value: (obj.toJSON as () => unknown)(), slot });
      continue;
    }
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    emit('{');
    stack.push('}');
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i]!;
      stack.push({ value: obj[k], slot: Slot.Property });
      stack.push(`${i > 0 ? ',' : ''}${JSON.stringify(k)}:`);
    }
  }
  chunks.push(out.join(''));
  return (wroteNothing ? undefined : chunks.join('')) as string;
}

/** A stable hash of anything JSON-like (sha256, hex). */
export function stableHash(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex');
}

import { Keyed } from '../blackboard/keyed.js';
import { type Path, pathKey } from '../blackboard/path.js';

/**
 * Whether a value can only be written whole: a primitive, an array or nothing yet. Two writes at or
 * under its path always collide under the commit rule (a counter, a list appended to, a report). A
 * Keyed collection or an object can be written in disjoint parts (two workers filling two entries), so a
 * write there collides only if the parts do.
 */
export function writtenWhole(value: unknown): boolean {
  return value === null || typeof value !== 'object' || Array.isArray(value);
}

/** The value at `path` in a board state (through objects, arrays and Keyed collections). */
export function readAt(state: unknown, path: Path, length = path.length): unknown {
  let value = state;
  for (let i = 0; i < length; i++) {
    if (value instanceof Keyed) value = value.get(String(path[i]));
    else if (typeof value === 'object' && value !== null)
      value = (value as Record<string | number, unknown>)[path[i]!];
    else return undefined;
  }
  return value;
}

/** Each agent's `writes` without repeats, worked out once per list (an agent's list is fixed). */
const distinctOf = new WeakMap<readonly Path[], readonly Path[]>();

/** Each distinct path once (a path listed twice is one claim), so release undoes exactly what hold did. */
function distinctPaths(writes: readonly Path[]): readonly Path[] {
  let distinct = distinctOf.get(writes);
  if (distinct === undefined) {
    distinct = [...new Map(writes.map((p) => [pathKey(p.map(String)), p])).values()];
    distinctOf.set(writes, distinct);
  }
  return distinct;
}

interface ClaimNode {
  /** Activations holding a declared write at exactly this path. */
  readonly here: Set<string>;
  readonly children: Map<string, ClaimNode>;
  /** How many holds lie strictly below this node. */
  below: number;
}

const claimNode = (): ClaimNode => ({ here: new Set(), children: new Map(), below: 0 });

/**
 * The declared writes of the activations in flight, as a trie, so the scheduler can hold back a candidate
 * whose commit would certainly conflict with one of them (it would read a version that is about to
 * change and lose) until that activation ends. Cost per question: the depth of the paths asked about, not
 * the number of activations in flight.
 */
export class WriteClaims {
  private readonly root = claimNode();
  private readonly held = new Map<string, readonly Path[]>();

  /** Records `writes` as held by the activation `id` until {@link release}. */
  hold(id: string, writes: readonly Path[]): void {
    if (writes.length === 0 || this.held.has(id)) return;
    const distinct = distinctPaths(writes);
    this.held.set(id, distinct);
    for (const path of distinct) {
      let n = this.root;
      for (const seg of path) {
        n.below += 1;
        const key = String(seg);
        let next = n.children.get(key);
        if (!next) {
          next = claimNode();
          n.children.set(key, next);
        }
        n = next;
      }
      n.here.add(id);
    }
  }

  /** Lets go of what `id` held (nothing if it held nothing). */
  release(id: string): void {
    const writes = this.held.get(id);
    if (writes === undefined) return;
    this.held.delete(id);
    for (const path of writes) {
      let n = this.root;
      const trail: ClaimNode[] = [];
      for (const seg of path) {
        trail.push(n);
        n.below -= 1;
        n = n.children.get(String(seg))!;
      }
      n.here.delete(id);
      // Prune the branches nobody holds any more, deepest first.
      for (let i = path.length - 1; i >= 0; i--) {
        const child = trail[i]!.children.get(String(path[i]))!;
        if (child.here.size > 0 || child.below > 0) break;
        trail[i]!.children.delete(String(path[i]));
      }
    }
  }

  /** How many activations hold claims (for tests and counts). */
  get size(): number {
    return this.held.size;
  }

  /**
   * An activation in flight whose declared writes certainly collide with `writes` on `state`: one path is
   * equal to or an ancestor of the other, and the shorter one holds a value written whole
   * ({@link writtenWhole}). Undefined if none does.
   */
  blocker(writes: readonly Path[], state: unknown): string | undefined {
    if (this.held.size === 0) return undefined;
    for (const path of writes) {
      let n: ClaimNode | undefined = this.root;
      for (let depth = 0; n; depth++) {
        // A hold at a prefix of `path` (or at `path` itself): the hold's path is the shorter one.
        const first = firstOf(n.here);
        if (first !== undefined && writtenWhole(readAt(state, path, depth))) return first;
        if (depth === path.length) {
          // Holds below `path`: `path` is the shorter one.
          if (n.below > 0 && writtenWhole(readAt(state, path))) return anyBelow(n);
          break;
        }
        n = n.children.get(String(path[depth]));
      }
    }
    return undefined;
  }
}

const firstOf = (set: Set<string>): string | undefined => {
  for (const id of set) return id;
  return undefined;
};

function anyBelow(n: ClaimNode): string | undefined {
  for (const child of n.children.values()) {
    const id = firstOf(child.here) ?? (child.below > 0 ? anyBelow(child) : undefined);
    if (id !== undefined) return id;
  }
  return undefined;
}

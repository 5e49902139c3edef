/** One step into the board: an object or collection key, or an array index. */
export type Segment = string | number;

/** A location on the board, from the root: `['tasks', 't1', 'status']`. `[]` is the whole board. */
export type Path = readonly Segment[];

/** True when `a` is `b` or an ancestor of `b`. */
export function isPrefix(a: Path, b: Path): boolean {
  if (a.length > b.length) return false;
  for (let i = 0; i < a.length; i++) {
    // Keys are compared as strings: index 1 of an array and key "1" of an object name the same slot.
    if (String(a[i]) !== String(b[i])) return false;
  }
  return true;
}

/**
 * The conflict rule between two paths: they overlap when one is the other, an ancestor or a descendant.
 * Siblings and cousins never overlap. Every store decides conflicts with this one predicate
 * (directly, or through {@link PathIndex}, which answers the same question for many paths at once).
 */
export function pathsOverlap(a: Path, b: Path): boolean {
  return a.length <= b.length ? isPrefix(a, b) : isPrefix(b, a);
}

/** A stable string for a path, usable as a map key: JSON of the segments. */
export function pathKey(path: Path): string {
  return JSON.stringify(path);
}

/**
 * A board path in a readable form, for messages and logs: `tasks.t1.status`, `items[2]`, `<root>`.
 *
 * @example
 * import { formatPath } from 'hearsay';
 *
 * formatPath(['tasks', 't1', 'status']); // 'tasks.t1.status'
 * formatPath(['items', 2]); // 'items[2]'
 * formatPath(['notes', 'a b']); // 'notes["a b"]'
 */
export function formatPath(path: Path): string {
  if (path.length === 0) return '<root>';
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** True when `value` is a well-formed path: an array of strings and non-negative integers. */
export function isPath(value: unknown): value is Path {
  return (
    Array.isArray(value) &&
    value.every((s) => typeof s === 'string' || (typeof s === 'number' && Number.isInteger(s) && s >= 0))
  );
}

interface CoverNode {
  end: boolean;
  children: Map<string, [Segment, CoverNode]>;
}

/**
 * Drops paths covered by another path in the list (a descendant of one already present, or a
 * duplicate). The result touches exactly the same region of the board, with fewer entries.
 * Linear in the total length of the paths: a read set can hold thousands of entries.
 */
export function coverPaths(paths: readonly Path[]): Path[] {
  // Most commits read and write one path or none: nothing to cover, and no trie to build.
  if (paths.length === 0) return [];
  if (paths.length === 1) return [Array.from(paths[0]!)];
  const root: CoverNode = { end: false, children: new Map() };
  for (const path of paths) {
    let node = root;
    for (const seg of path) {
      if (node.end) break;
      const key = String(seg);
      let next = node.children.get(key);
      if (!next) {
        next = [seg, { end: false, children: new Map() }];
        node.children.set(key, next);
      }
      node = next[1];
    }
    if (!node.end) {
      node.end = true;
      node.children.clear();
    }
  }
  // Depth-first, in insertion order, with an explicit stack: a path of any length costs heap, not stack.
  // Each entry links to its parent's, and a path is spelled out only where one ends.
  type Entry = { node: CoverNode; seg?: Segment; up?: Entry; depth: number };
  const out: Path[] = [];
  const stack: Entry[] = [{ node: root, depth: 0 }];
  while (stack.length > 0) {
    const entry = stack.pop()!;
    if (entry.node.end) {
      const path = new Array<Segment>(entry.depth);
      for (let e: Entry | undefined = entry; e?.up; e = e.up) path[e.depth - 1] = e.seg!;
      out.push(path);
      continue;
    }
    const children = [...entry.node.children.values()];
    for (let i = children.length - 1; i >= 0; i--) {
      const [seg, node] = children[i]!;
      stack.push({ node, seg, up: entry, depth: entry.depth + 1 });
    }
  }
  return out;
}

type Next = [1, 2, 3, 4, 5, 6, 7, 8];

/**
 * The paths into a board type, as tuples: `['tasks']`, `['tasks', string, 'status']`, `['items', number]`.
 * Keyed collections and records take any string key, arrays any index. Deep boards are cut at eight
 * levels (deeper paths are plain `Path`). `Path` itself when the board type is unknown.
 *
 * @example
 * const ok: PathOf<{ tasks: Keyed<{ status: string }> }> = ['tasks', 't1', 'status'];
 */
export type PathOf<T, D extends number = 0> = unknown extends T
  ? Path
  : D extends 8
    ? Path
    :
        | readonly []
        | (T extends {
            get(key: string): infer V | undefined;
            has(key: string): boolean;
            with(key: string, value: unknown): unknown;
          }
            ? readonly [string, ...PathOf<V, Next[D]>]
            : T extends readonly (infer E)[]
              ? readonly [number, ...PathOf<E, Next[D]>]
              : T extends object
                ? { [K in keyof T & string]-?: readonly [K, ...PathOf<NonNullable<T[K]>, Next[D]>] }[keyof T &
                    string]
                : never);

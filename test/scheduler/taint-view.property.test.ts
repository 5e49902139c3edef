import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Keyed, type Path } from '../../src/blackboard/index.js';
import { TaintTracker } from '../../src/scheduler/taint.js';

/** A frozen board with plain objects, arrays and a keyed collection, as committed boards are. */
type Node = string | number | Node[] | { [k: string]: Node };
const leaf = fc.oneof(fc.string({ maxLength: 4 }), fc.integer());
const tree: fc.Arbitrary<Node> = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('node'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('a', 'b', 'c'), tie('node'), { maxKeys: 3 }),
  ),
})).node;

const deepFreeze = <T>(v: T): T => {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
};

const boardOf = (x: Node, items: Record<string, Node>) =>
  deepFreeze({ x, items: Keyed.from(Object.entries(items).map(([k, v]) => [k, deepFreeze(v)] as const)) });

/** Every path that exists in a value (plain objects and arrays; a Keyed's entries). */
function pathsOf(v: unknown, at: Path = []): Path[] {
  const out: Path[] = [at];
  if (v instanceof Keyed) for (const [k, x] of v) out.push(...pathsOf(x, [...at, k]));
  else if (Array.isArray(v)) for (const [i, x] of v.entries()) out.push(...pathsOf(x, [...at, i]));
  else if (typeof v === 'object' && v !== null)
    for (const [k, x] of Object.entries(v)) out.push(...pathsOf(x, [...at, k]));
  return out;
}

/** Reads `path` through a view the way agent code does: property by property, `get` for a Keyed. */
function readThrough(root: unknown, path: Path): unknown {
  let v = root;
  for (const seg of path) v = v instanceof Keyed ? v.get(String(seg)) : (v as Record<string, unknown>)[seg];
  return v;
}

const prefixOf = (a: Path, b: Path) => a.length <= b.length && a.every((s, i) => String(s) === String(b[i]));

describe('the taint view of a board', () => {
  it('reports a read exactly when it reaches a tainted path, returns the same values, and never throws on frozen boards', () => {
    fc.assert(
      fc.property(
        tree,
        fc.dictionary(fc.constantFrom('k1', 'k2', 'k3'), tree, { maxKeys: 3 }),
        fc.nat(),
        fc.nat(),
        (x, items, pick, readPick) => {
          const board = boardOf(x, items);
          const all = pathsOf(board).filter((p) => p.length > 0);
          const tainted = all[pick % all.length]!;
          const read = all[readPick % all.length]!;
          const tracker = new TaintTracker();
          tracker.restore({ activations: [], paths: [tainted] });
          let hits = 0;
          const view = tracker.view(board, () => {
            hits += 1;
          });
          const value = readThrough(view, read);
          // Reading a path hits when it goes through or ends at the tainted path. (Reading an ancestor of
          // the tainted path hands out a view: touching its contents hits, not reading it.)
          expect(hits > 0).toBe(prefixOf(tainted, read));
          // The values are the board's (views of objects compare equal as JSON).
          expect(JSON.stringify(value)).toBe(JSON.stringify(readThrough(board, read)));
          // Serialising the whole view reads everything, so it hits.
          hits = 0;
          expect(JSON.stringify(view)).toBe(JSON.stringify(board));
          expect(hits > 0).toBe(true);
        },
      ),
      {
        numRuns: 300,
        // Found by a full-suite run: `instanceof Keyed` on the view of a collection whose other entry is
        // tainted (it reads the trie) counted as reading the tainted entry.
        examples: [['', { k1: 0, k2: '' }, 15, 14]],
      },
    );
  });

  it('hands out the board itself when nothing is tainted (no proxy, nothing copied)', () => {
    const board = boardOf({ a: 'x' }, { k1: 1 });
    expect(new TaintTracker().view(board, () => {})).toBe(board);
  });

  it('answers instanceof Keyed without a read, and counts reading into the trie as reading every entry', () => {
    const board = boardOf('', { k1: 0, k2: 'x' });
    const tracker = new TaintTracker();
    tracker.restore({ activations: [], paths: [['items', 'k2']] });
    let hits = 0;
    const view = tracker.view(board, () => {
      hits += 1;
    }) as unknown as { items: Keyed<unknown> };
    expect(view.items instanceof Keyed).toBe(true);
    expect(view.items.get('k1')).toBe(0);
    expect(hits).toBe(0);
    expect(JSON.stringify(view.items.b)).toBe(JSON.stringify(board.items.b));
    expect(hits).toBeGreaterThan(0);
  });

  it('refuses writes through the view', () => {
    const board = boardOf({ a: { b: 'x' } }, {});
    const tracker = new TaintTracker();
    tracker.restore({ activations: [], paths: [['x', 'a', 'b']] });
    const view = tracker.view(board, () => {}) as unknown as { x: { a: { b: string } } };
    expect(() => {
      view.x.a = { b: 'y' };
    }).toThrow(/read-only/);
  });
});

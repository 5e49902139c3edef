import type { Conflict, ConflictingWrite } from './errors.js';
import { formatPath, type Path, type Segment } from './path.js';

interface IndexNode {
  /** Version of the last write to exactly this path (0: never). */
  writtenAt: number;
  /** Highest version written at this path or below it. */
  subtreeMax: number;
  children: Map<string, IndexNode> | undefined;
  segment: Segment;
}

const newNode = (segment: Segment): IndexNode => ({
  writtenAt: 0,
  subtreeMax: 0,
  children: undefined,
  segment,
});

/**
 * Answers the conflict rule ({@link pathsOverlap}) for many paths at once in O(path depth) each: a
 * trie of every path written, each node holding the last version written there and the highest
 * version written anywhere below. A path conflicts at base version `b` when a node on the way down
 * (an ancestor or itself) was written after `b`, or its own subtree holds a write after `b`.
 *
 * Memory grows with the number of distinct paths written, not with the number of commits.
 */
export class PathIndex {
  private readonly root = newNode('');
  /** Commits at or below this version are no longer indexed; a base below it cannot be checked. */
  private horizon: number;

  constructor(horizon = 0) {
    this.horizon = horizon;
  }

  /** Records that `paths` were written by the commit that produced `version`. */
  record(paths: readonly Path[], version: number): void {
    for (const path of paths) {
      let node = this.root;
      node.subtreeMax = Math.max(node.subtreeMax, version);
      for (const seg of path) {
        node.children ??= new Map();
        const key = String(seg);
        let next = node.children.get(key);
        if (!next) {
          next = newNode(seg);
          node.children.set(key, next);
        }
        node = next;
        node.subtreeMax = Math.max(node.subtreeMax, version);
      }
      node.writtenAt = Math.max(node.writtenAt, version);
    }
  }

  /** The conflict for a commit based on `baseVersion` that touches `paths`, or `undefined`. */
  check(paths: readonly Path[], baseVersion: number, headVersion: number): Conflict | undefined {
    if (baseVersion < this.horizon) {
      return {
        code: 'conflict',
        reason: 'base_too_old',
        baseVersion,
        headVersion,
        conflicts: [],
        message: `Base version ${baseVersion} is older than the retained log (from version ${this.horizon}); re-read the board and retry.`,
      };
    }
    if (this.root.subtreeMax <= baseVersion) return undefined;
    const found: ConflictingWrite[] = [];
    for (const path of paths) {
      const hit = this.firstOverlap(path, baseVersion);
      if (hit) found.push(hit);
    }
    if (found.length === 0) return undefined;
    const list = found.map(
      (c) => `${formatPath(c.path)} (written at v${c.version} via ${formatPath(c.written)})`,
    );
    return {
      code: 'conflict',
      reason: 'overlap',
      baseVersion,
      headVersion,
      conflicts: found,
      message: `The board changed after version ${baseVersion}: ${list.join(', ')}. Re-read and retry.`,
    };
  }

  private firstOverlap(path: Path, base: number): ConflictingWrite | undefined {
    let node = this.root;
    const walked: Segment[] = [];
    for (let i = 0; ; i++) {
      if (node.writtenAt > base) return { path, written: walked.slice(), version: node.writtenAt };
      if (i === path.length) break;
      const next = node.children?.get(String(path[i]));
      if (!next || next.subtreeMax <= base) return undefined;
      node = next;
      walked.push(node.segment);
    }
    // A descendant was written after base: follow the newest branch to name one concrete path.
    while (node.writtenAt <= base && node.children) {
      let best: IndexNode | undefined;
      for (const child of node.children.values()) if (child.subtreeMax > base) best = child;
      if (!best) break;
      node = best;
      walked.push(node.segment);
    }
    return { path, written: walked, version: node.writtenAt };
  }

  /**
   * Forgets writes at or below `version` (for logs compacted up to it). Bases older than `version`
   * are then answered with `base_too_old`; answers for newer bases do not change.
   */
  prune(version: number): void {
    this.horizon = Math.max(this.horizon, version);
    const sweep = (node: IndexNode): void => {
      if (!node.children) return;
      for (const [key, child] of node.children) {
        if (child.subtreeMax <= version) node.children.delete(key);
        else sweep(child);
      }
    };
    sweep(this.root);
  }
}

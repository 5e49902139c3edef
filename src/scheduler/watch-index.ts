import type { Path } from '../blackboard/index.js';

interface WatchNode {
  readonly here: string[];
  readonly children: Map<string, WatchNode>;
}

const node = (): WatchNode => ({ here: [], children: new Map() });

/**
 * Which agents a change concerns: a trie of watched paths. An agent watching `tasks` is concerned by a
 * write to `tasks.t1.status` (ancestor) and one watching `tasks.t1.status` by a write to `tasks`
 * (descendant), by the same overlap rule as commits. Cost: the depth of the changed path plus the
 * watchers found, not the number of agents.
 */
export class WatchIndex {
  private readonly root = node();

  add(agentId: string, watches: readonly Path[]): void {
    for (const path of watches) {
      let n = this.root;
      for (const seg of path) {
        const key = String(seg);
        let next = n.children.get(key);
        if (!next) {
          next = node();
          n.children.set(key, next);
        }
        n = next;
      }
      n.here.push(agentId);
    }
  }

  /** Agents watching a path that overlaps any of `changed`. */
  match(changed: readonly Path[]): Set<string> {
    const out = new Set<string>();
    const collectAll = (n: WatchNode): void => {
      for (const id of n.here) out.add(id);
      for (const c of n.children.values()) collectAll(c);
    };
    for (const path of changed) {
      let n: WatchNode | undefined = this.root;
      for (let i = 0; n && i < path.length; i++) {
        for (const id of n.here) out.add(id);
        n = n.children.get(String(path[i]));
      }
      if (n) collectAll(n);
    }
    return out;
  }
}

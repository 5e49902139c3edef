import type { Draft } from 'immer';
import type { AnyStateMachine } from 'xstate';
import {
  assertAgentIdAllowed,
  formatPath,
  isPath,
  isPrefix,
  type Path,
  type PathOf,
} from '../blackboard/index.js';
import { Keyed, type KeySelection, selectKeys } from '../blackboard/keyed.js';
import { diagnoseStatuses, type StatusPoolArgs, type StatusPoolOptions, statusNames } from './status-pool.js';

/** How a pooled agent finds and claims its work items. */
export interface PoolConfig<TBoard> {
  /** The keys of the items an instance could work on now (e.g. the open tasks of this agent's kind). */
  readonly items: (board: TBoard) => Iterable<string>;
  /**
   * Marks `key` as taken on a draft of the board; return false if it is no longer available. The claim
   * is committed optimistically: of two instances (or processes) claiming one item, one conflicts.
   */
  readonly claim: (draft: Draft<TBoard>, key: string) => boolean | undefined;
  /**
   * Why this pool can offer nothing on `board` when that looks like a mistake rather than finished work
   * (`statusPool`: items, none of them in the open or claimed status, say `todo` items for a pool that
   * looks for `open`), or undefined. Asked at the end of a run for a pooled agent that never ran; the
   * run's result lists the answer in `warnings` (code `pool_idle`).
   */
  readonly diagnose?: (board: TBoard) => string | undefined;
}

/** Retry policy for an agent whose activation failed. */
export interface RetryPolicy {
  /** Attempts in all, the first included (default 2). */
  readonly attempts?: number;
  /** Wait before a retry, in ms on the run's clock; doubled each time (default 0). */
  readonly backoffMs?: number;
}

/** Token and money limits; when spent, the agent's breaker opens and it is not activated again in the run. */
export interface Budget {
  readonly tokens?: number;
  readonly cost?: number;
}

/** The declaration of an agent. */
export interface AgentConfig<TBoard> {
  readonly id: string;
  /** An XState v5 machine (from `setup(...).createMachine(...)`). It receives `board` events. */
  readonly machine: AnyStateMachine;
  /** Board paths whose change may enable this agent (typed by the board). `[[]]` watches everything. */
  readonly watches: readonly PathOf<TBoard>[];
  /** Board paths this agent may commit to; a commit outside them is refused (`forbidden_path`). */
  readonly writes: readonly PathOf<TBoard>[];
  /** Higher runs first (default 0). */
  readonly priority?: number;
  /** Activations of this agent at once (default 1; pooled agents: instances at once, default 4). */
  readonly concurrency?: number;
  readonly budget?: Budget;
  /** The model tier this agent asks for (the model layer maps tiers to models). */
  readonly model?: { readonly tier: 'small' | 'large' };
  /** Expected usage of one activation, shown in the agenda's rating. */
  readonly estimate?: Budget;
  /** Makes the agent pooled: one fresh machine instance per work item, run to a final state. */
  readonly pool?: PoolConfig<TBoard>;
  readonly retry?: RetryPolicy;
  /** The agent activated instead when retries are exhausted (graceful degradation). */
  readonly fallback?: string;
}

/** A validated agent declaration. */
export interface AgentDefinition<TBoard = unknown> extends AgentConfig<TBoard> {
  readonly kind: 'singleton' | 'pooled';
  readonly concurrency: number;
  readonly priority: number;
  readonly retry: Required<RetryPolicy>;
}

/**
 * Declares an agent: an XState machine plus what it watches, what it may write, and how it is run.
 * Throws on a malformed declaration (a programming error).
 *
 * @example
 * const reviewer = defineAgent<Board>({
 *   id: 'reviewer', machine: reviewerMachine, watches: [['drafts']], writes: [['reviews']],
 * });
 */
export function defineAgent<TBoard>(config: AgentConfig<TBoard>): AgentDefinition<TBoard> {
  const where = `Agent "${config.id}"`;
  if (typeof config.id !== 'string' || !/^[\w.:-]+$/.test(config.id)) {
    throw new TypeError(
      `An agent id must be a non-empty word (letters, digits, _ . : -), got ${JSON.stringify(config.id)}.`,
    );
  }
  assertAgentIdAllowed(config.id);
  if (!config.machine || typeof (config.machine as { transition?: unknown }).transition !== 'function') {
    throw new TypeError(`${where}: machine must be an XState machine.`);
  }
  for (const field of ['watches', 'writes'] as const) {
    if (!Array.isArray(config[field]) || !config[field].every(isPath)) {
      throw new TypeError(`${where}: ${field} must be a list of paths such as [['tasks'], ['goal']].`);
    }
  }
  const concurrency = config.concurrency ?? (config.pool ? 4 : 1);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new TypeError(`${where}: concurrency must be a positive integer.`);
  if (!config.pool && concurrency !== 1) {
    throw new TypeError(
      `${where}: a singleton agent runs one activation at a time; use pool for parallel instances.`,
    );
  }
  const attempts = config.retry?.attempts ?? 2;
  if (!Number.isInteger(attempts) || attempts < 1)
    throw new TypeError(`${where}: retry.attempts must be a positive integer.`);
  return {
    ...config,
    kind: config.pool ? 'pooled' : 'singleton',
    concurrency,
    priority: config.priority ?? 0,
    retry: { attempts, backoffMs: config.retry?.backoffMs ?? 0 },
  };
}

/** The first written path outside the agent's `writes`, or undefined when all are allowed. */
export function forbiddenWrite(
  agent: Pick<AgentDefinition, 'writes'>,
  written: readonly Path[],
): Path | undefined {
  return written.find((w) => !agent.writes.some((allowed) => isPrefix(allowed, w)));
}

/**
 * Why a commit of `agent` is refused for writing outside its `writes` (the security boundary), or
 * undefined when every path is allowed. The scheduler, workers and the hub refuse with it alike.
 */
export function forbiddenCommit(
  agent: Pick<AgentDefinition, 'id' | 'writes'>,
  written: readonly Path[],
): { code: 'forbidden_path'; message: string; path: Path } | undefined {
  const path = forbiddenWrite(agent, written);
  if (path === undefined) return undefined;
  return {
    code: 'forbidden_path',
    message: `${agent.id} may not write ${JSON.stringify(path)}; its writes are ${JSON.stringify(agent.writes)}`,
    path,
  };
}

/**
 * A warning for a path several agents may write (the commit rule keeps them safe at run time): the agents
 * whose `writes` name it or an ancestor of it.
 */
export interface SharedWrite {
  readonly path: Path;
  /** Two or more agent ids: those writing an ancestor first, then those writing the path itself. */
  readonly agents: readonly string[];
}

/**
 * The paths several agents may write (one path equal to, or an ancestor of, the other), one group per
 * path. A trie of written paths finds them in time proportional to the paths written, not agents squared:
 * a thousand agents sharing one counter are one group of a thousand, not 499,500 pairs.
 */
export function findSharedWrites(agents: readonly Pick<AgentDefinition, 'id' | 'writes'>[]): SharedWrite[] {
  type Node = { writers: string[]; children: Map<string, Node>; path: Path };
  const root: Node = { writers: [], children: new Map(), path: [] };
  for (const agent of agents) {
    for (const path of agent.writes) {
      let node = root;
      for (const seg of path) {
        let next = node.children.get(String(seg));
        if (!next) {
          next = { writers: [], children: new Map(), path: [...node.path, seg] };
          node.children.set(String(seg), next);
        }
        node = next;
      }
      if (!node.writers.includes(agent.id)) node.writers.push(agent.id);
    }
  }
  const out: SharedWrite[] = [];
  // A node's writers overlap each other and every writer above them. Iterative: paths may be deep.
  const stack: [Node, readonly string[]][] = [[root, []]];
  while (stack.length > 0) {
    const [node, above] = stack.pop()!;
    const here = node.writers.filter((id) => !above.includes(id));
    if (here.length > 0 && above.length + here.length >= 2)
      out.push({ path: node.path, agents: [...above, ...here] });
    const next = here.length > 0 ? [...above, ...here] : above;
    for (const child of [...node.children.values()].reverse()) stack.push([child, next]);
  }
  return out;
}

/** Agents named in a shared-write warning before the rest are counted. */
const NAMED_WRITERS = 5;

/** A readable line for a shared write. */
export const describeSharedWrite = (w: SharedWrite): string => {
  const path = formatPath(w.path);
  if (w.agents.length === 2) return `${w.agents[0]} and ${w.agents[1]} may both write ${path}`;
  const named = w.agents.slice(0, NAMED_WRITERS).join(', ');
  const more = w.agents.length - NAMED_WRITERS;
  return more > 0
    ? `${named} and ${more} more agents (${w.agents.length} in all) may all write ${path}`
    : `${named.replace(/, ([^,]*)$/, ' and $1')} may all write ${path}`;
};

/**
 * The common pool: the items of a keyed collection whose `status` is the open status (`'open'` unless
 * `open` says otherwise; optionally filtered), claimed by setting their status to the claimed status
 * (`'claimed'` unless `claimed` says otherwise). Two claimers of one item: one commit conflicts.
 * `open` and `claimed` are typed against the items' `status`: an item type whose statuses are not
 * `'open'`/`'claimed'` must name its own (a `todo`/`doing`/`done` board does not compile without them).
 * When a run ends and the agent never ran while the collection held items none of which was open or
 * claimed, the run's `warnings` say so (`pool_idle`).
 * `filter` must be a pure function of the item and its key: on a Keyed collection its answers are
 * remembered for the parts of the collection a commit did not change, so listing the open items after a
 * commit costs what the commit changed, not every item.
 *
 * @example
 * pool: statusPool((b) => b.tasks, { open: 'todo', claimed: 'doing', filter: (t) => t.kind === 'code' })
 */
export function statusPool<TBoard, TItem extends { status: string }>(
  collection: (board: TBoard) => {
    entries(): Iterable<[string, TItem]>;
    get(key: string): TItem | undefined;
  },
  ...[options = {} as StatusPoolOptions<TItem>]: StatusPoolArgs<TItem>
): PoolConfig<TBoard> {
  const { open, claimed } = statusNames(options as { open?: unknown; claimed?: unknown });
  const filter = (options as { filter?: (item: TItem, key: string) => boolean }).filter;
  const selection: KeySelection = new WeakMap();
  return {
    items: (board) => {
      const items = collection(board);
      const pick = (item: TItem, key: string) => item.status === open && (!filter || filter(item, key));
      // A committed Keyed collection shares its unchanged parts between versions: the open items of each
      // part are remembered, so listing after one commit costs that commit's part, not every item.
      if (items instanceof Keyed) return selectKeys(items as Keyed<TItem>, pick, selection);
      const keys: string[] = [];
      for (const [key, item] of items.entries()) if (pick(item, key)) keys.push(key);
      return keys;
    },
    diagnose: (board) => diagnoseStatuses(collection(board).entries(), open, claimed),
    claim: (draft, key) => {
      const item = collection(draft as TBoard).get(key);
      if (item?.status !== open) return false;
      (item as { status: string }).status = claimed;
      return true;
    },
  };
}

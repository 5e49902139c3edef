import { type CommitEvent, Keyed, type Path } from '../blackboard/index.js';
import { type AnySchema, fixedDepth } from '../blackboard/schema.js';

/** True when `value` holds model output marked by `untrusted()` (a `{ value, provenance: { kind: 'model' } }`). */
export function containsUntrusted(value: unknown, depth = 0): boolean {
  if (typeof value !== 'object' || value === null || depth > 32) return false;
  const provenance = (value as { provenance?: { kind?: unknown } }).provenance;
  if (provenance && typeof provenance === 'object' && provenance.kind === 'model') return true;
  const children = value instanceof Map ? [...value.values()] : Object.values(value);
  return children.some((v) => containsUntrusted(v, depth + 1));
}

/**
 * Whether reading the changed paths `paths` reads text a tainted writer chose: a path in a tainted region
 * (see {@link TaintTracker.within}) whose segments go past the property names the schema fixes (a
 * record's or a Keyed collection's keys, array indexes). `['note']` names a schema field whatever wrote it;
 * `['notes', key]` carries the key its writer picked.
 */
export function carriesTaintedKeys(
  tracker: TaintTracker,
  schema: AnySchema,
  paths: readonly Path[],
): boolean {
  return paths.some((p) => tracker.within(p) && fixedDepth(schema, p) < p.length);
}

/** A node of the tainted-path trie: tainted itself (and all below), or on the way to tainted paths. */
interface TaintNode {
  tainted: boolean;
  children: Map<string, TaintNode> | undefined;
}

/** Why an activation carries taint (recorded on the log, so a resumed run knows it too). */
export type TaintSource = 'read' | 'changed' | 'tool' | 'remote' | 'delegation' | 'fallback' | 'state';

/**
 * Follows taint through a run. An activation is tainted once it calls a model, starts a child run, runs
 * tools, runs in another process, or reads a tainted value (through its board event's board, or in a
 * commit's recipe); a commit taints the paths it writes when its activation is tainted, it read a tainted
 * path, or it writes model output. It also knows which agents have had a tainted activation: a singleton's
 * actor keeps its context and state between activations, so once one of its activations is tainted, what
 * it does later may carry the tainted data (the scheduler taints its later activations, and a commit it
 * makes between activations taints what it writes). What it learns comes from the log (commits, and the
 * records of model calls, child runs and taint, each naming its agent), so a resumed run rebuilds it.
 */
export class TaintTracker {
  private readonly activations = new Set<string>();
  private readonly agents = new Set<string>();
  private readonly paths: Path[] = [];
  private readonly root: TaintNode = { tainted: false, children: undefined };

  /** Marks an activation (of `agentId`, when known) tainted; true when the activation was not already. */
  markActivation(activationId: string, agentId?: string): boolean {
    if (agentId !== undefined) this.agents.add(agentId);
    if (this.activations.has(activationId)) return false;
    this.activations.add(activationId);
    return true;
  }

  /** Takes note of an accepted commit. */
  observe(event: CommitEvent): void {
    const byActivation =
      event.activationId !== undefined
        ? this.activations.has(event.activationId)
        : // A commit an agent's actor makes between activations (a delayed transition) comes from its state.
          this.agents.has(event.author);
    const tainted =
      byActivation ||
      event.reads.some((r) => this.touches(r)) ||
      event.patches.some((p) => containsUntrusted(p.value));
    if (!tainted) return;
    if (event.activationId !== undefined) this.markActivation(event.activationId, event.author);
    for (const w of event.writes) this.addPath(w);
  }

  /** What the tracker knows, to hand to a resumed run. */
  state(): { activations: string[]; paths: Path[]; agents: string[] } {
    return { activations: [...this.activations], paths: [...this.paths], agents: [...this.agents] };
  }

  restore(state: {
    activations: readonly string[];
    paths: readonly Path[];
    agents?: readonly string[] | undefined;
  }): void {
    for (const a of state.activations) this.activations.add(a);
    for (const a of state.agents ?? []) this.agents.add(a);
    for (const p of state.paths) this.addPath(p);
  }

  /** Whether an activation has seen tainted data (read it, or got it from a model, a tool, a child run…). */
  isTainted(activationId: string): boolean {
    return this.activations.has(activationId);
  }

  /** Whether an activation of `agentId` has been tainted (its actor's context and state may carry it). */
  isAgentTainted(agentId: string): boolean {
    return this.agents.has(agentId);
  }

  /**
   * Whether `path` lies in a tainted region: it or a path above it was written tainted. A path's own
   * segments (a record's keys) were then chosen by a tainted writer.
   */
  within(path: Path): boolean {
    let node: TaintNode | undefined = this.root;
    for (const seg of path) {
      if (node.tainted) return true;
      node = node.children?.get(String(seg));
      if (!node) return false;
    }
    return node.tainted;
  }

  /** Whether reading `path` reads something tainted: a tainted path at, above or below it. */
  touches(path: Path): boolean {
    let node: TaintNode | undefined = this.root;
    for (const seg of path) {
      if (node.tainted) return true;
      node = node.children?.get(String(seg));
      if (!node) return false;
    }
    return node.tainted || node.children !== undefined;
  }

  /**
   * A read-only view of a (frozen) board state that calls `onTainted` when a tainted value is read through
   * it. Nothing is copied: untainted subtrees are handed out as they are (no proxy, no cost), and only the
   * objects on the way to tainted paths are wrapped; with nothing tainted the state itself is returned.
   */
  view<T>(state: T, onTainted: () => void): T {
    if (this.root.children === undefined && !this.root.tainted) return state;
    return viewOf(state, this.root, onTainted, new WeakMap()) as T;
  }

  private addPath(path: Path): void {
    this.paths.push(path);
    let node = this.root;
    for (const seg of path) {
      if (node.tainted) return;
      node.children ??= new Map();
      const key = String(seg);
      let next = node.children.get(key);
      if (!next) {
        next = { tainted: false, children: undefined };
        node.children.set(key, next);
      }
      node = next;
    }
    node.tainted = true;
    node.children = undefined;
  }
}

const readOnly = (): never => {
  throw new TypeError('The board of a board event is read-only: write through a commit.');
};

/** Keyed members that read entries (or their keys) wholesale. */
const KEYED_CLEAN = new Set<string | symbol>(['has', 'size', 'constructor']);

function viewOf(
  value: unknown,
  node: TaintNode | undefined,
  hit: () => void,
  cache: WeakMap<object, object>,
): unknown {
  if (node === undefined) return value;
  if (node.tainted) {
    hit();
    return value;
  }
  if (typeof value !== 'object' || value === null || node.children === undefined) return value;
  const known = cache.get(value);
  if (known) return known;
  const children = node.children;
  const proxy =
    value instanceof Keyed ? keyedView(value, children, hit, cache) : objectView(value, children, hit, cache);
  cache.set(value, proxy);
  return proxy;
}

function keyedView(
  keyed: Keyed<unknown>,
  children: Map<string, TaintNode>,
  hit: () => void,
  cache: WeakMap<object, object>,
): object {
  // The proxy's target is a stand-in: a frozen target's invariants forbid handing out views of its values.
  return new Proxy(Object.create(Object.getPrototypeOf(keyed)) as object, {
    get(_, prop) {
      if (prop === 'get')
        return (key: string) => viewOf(keyed.get(key), children.get(String(key)), hit, cache);
      // The trie itself: `instanceof Keyed` checks that it is an array (which reads nothing); reading into
      // it reads every entry.
      if (prop === 'b') return tripwire(keyed.b as object, hit);
      // Iteration, keys, values, entries, toJSON…: the entries (or keys) below a tainted path are read.
      if (!KEYED_CLEAN.has(prop) && (typeof prop === 'string' || prop === Symbol.iterator)) hit();
      const member = Reflect.get(keyed, prop, keyed);
      return typeof member === 'function' ? member.bind(keyed) : member;
    },
    has: (_, prop) => Reflect.has(keyed, prop),
    ownKeys: () => {
      hit();
      return Reflect.ownKeys(keyed);
    },
    getOwnPropertyDescriptor: (_, prop) => {
      hit();
      const d = Reflect.getOwnPropertyDescriptor(keyed, prop);
      return d && { ...d, configurable: true };
    },
    set: readOnly,
    defineProperty: readOnly,
    deleteProperty: readOnly,
  });
}

/**
 * A view of `target` that reports a read on any access to its contents, and answers `Array.isArray` (which
 * looks at the target without a trap) as the target does.
 */
function tripwire(target: object, hit: () => void): object {
  const reading =
    <A extends unknown[], R>(trap: (...args: A) => R) =>
    (...args: A): R => {
      hit();
      return trap(...args);
    };
  return new Proxy(target, {
    get: reading((t: object, prop: string | symbol) => Reflect.get(t, prop)),
    has: reading((t: object, prop: string | symbol) => Reflect.has(t, prop)),
    ownKeys: reading((t: object) => Reflect.ownKeys(t)),
    getOwnPropertyDescriptor: reading((t: object, prop: string | symbol) =>
      Reflect.getOwnPropertyDescriptor(t, prop),
    ),
    set: readOnly,
    defineProperty: readOnly,
    deleteProperty: readOnly,
  });
}

function objectView(
  target: object,
  children: Map<string, TaintNode>,
  hit: () => void,
  cache: WeakMap<object, object>,
): object {
  const isArray = Array.isArray(target);
  const stand = isArray ? [] : (Object.create(Object.getPrototypeOf(target)) as object);
  return new Proxy(stand, {
    get(_, prop) {
      const value = Reflect.get(target, prop);
      // Methods (an array's map, join, iterator) run on the view, so their reads come back through here.
      if (typeof prop === 'symbol' || typeof value === 'function') return value;
      return viewOf(value, children.get(prop), hit, cache);
    },
    has: (_, prop) => Reflect.has(target, prop),
    ownKeys: () => Reflect.ownKeys(target),
    getOwnPropertyDescriptor(_, prop) {
      const d = Reflect.getOwnPropertyDescriptor(target, prop);
      if (!d) return d;
      if (isArray && prop === 'length') return { ...d, writable: true, configurable: false };
      const value =
        typeof prop === 'string' && 'value' in d ? viewOf(d.value, children.get(prop), hit, cache) : d.value;
      return { ...d, value, configurable: true };
    },
    set: readOnly,
    defineProperty: readOnly,
    deleteProperty: readOnly,
  });
}

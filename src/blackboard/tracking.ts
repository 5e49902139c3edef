import { isDraft } from 'immer';
import { Keyed } from './keyed.js';
import type { Path, Segment } from './path.js';

/** Logical paths read by a recipe. */
export interface ReadLog {
  /** Reads that depend on exactly that value (a leaf, an enumeration of keys, a collection's size). */
  readonly exact: Path[];
  /** Objects reached and keys tested; each counts as read whole unless the recipe read or wrote below it. */
  readonly reached: Path[];
}

const KEYED_WHOLE_READS = new Set(['size', 'keys', 'values', 'entries', 'forEach', 'toJSON']);

/**
 * Wraps an immer draft so every read made through it is logged by its logical board path. Writes pass
 * through to the draft unchanged. A Keyed collection is read through its methods: `get(k)` and `has(k)`
 * log the entry's path; `size`, iteration and `keys()`/`values()`/`entries()` log the whole collection.
 */
export function trackReads<T extends object>(
  draft: T,
  /** Screens a value written at a path of `depth` segments (what immer receives instead). */
  screen: (value: unknown, depth: number) => unknown = (value) => value,
  /**
   * Below this many segments nothing is board data (the board is no deeper): what the recipe built there
   * is handed back untracked, so a recipe nesting its own objects 100,000 deep costs no path per level.
   */
  maxDepth = Number.POSITIVE_INFINITY,
): { root: T; log: ReadLog } {
  const log: ReadLog = { exact: [], reached: [] };
  const wrappers = new WeakMap<object, object>();
  const targets = new WeakMap<object, object>();

  const child = (value: unknown, at: Path): unknown => {
    if (at.length > maxDepth) return value;
    if (typeof value === 'object' && value !== null && (isDraft(value) || !Object.isFrozen(value))) {
      log.reached.push(at);
      return wrap(value, at);
    }
    (typeof value === 'object' && value !== null ? log.reached : log.exact).push(at);
    return value;
  };

  const keyedMember = (t: Keyed<unknown>, prop: string | symbol, path: Path): unknown => {
    if (prop === 'get') return (key: string) => child(t.get(key), [...path, key]);
    if (prop === 'has') {
      return (key: string) => {
        log.reached.push([...path, key]);
        return t.has(key);
      };
    }
    if (prop === 'set' || prop === 'delete') {
      return (key: string, value?: unknown) =>
        prop === 'set' ? t.set(key, screen(unwrapValue(value), path.length + 1)) : t.delete(key);
    }
    if (prop === Symbol.iterator || (typeof prop === 'string' && KEYED_WHOLE_READS.has(prop))) {
      log.exact.push(path);
      // Entries handed out by iteration are read whole (their paths are under the collection's).
      const value = Reflect.get(t, prop);
      return typeof value === 'function' ? value.bind(t) : value;
    }
    return Reflect.get(t, prop);
  };

  const wrap = (target: object, path: Path): object => {
    const known = wrappers.get(target);
    if (known) return known;
    const handler: ProxyHandler<object> = {
      get(t, prop, receiver) {
        if (t instanceof Keyed) return keyedMember(t, prop, path);
        if (typeof prop === 'symbol') return Reflect.get(t, prop);
        if (Array.isArray(t) && prop === 'length') {
          log.exact.push(path);
          return t.length;
        }
        const value = Reflect.get(t, prop, receiver);
        if (typeof value === 'function') return value;
        const seg: Segment = Array.isArray(t) && /^\d+$/.test(prop) ? Number(prop) : prop;
        return child(value, [...path, seg]);
      },
      has(t, prop) {
        if (typeof prop !== 'symbol') log.reached.push([...path, prop]);
        return Reflect.has(t, prop);
      },
      ownKeys(t) {
        log.exact.push(path);
        return Reflect.ownKeys(t);
      },
      getOwnPropertyDescriptor(t, prop) {
        if (typeof prop !== 'symbol') log.reached.push([...path, prop]);
        return Reflect.getOwnPropertyDescriptor(t, prop);
      },
      set(t, prop, value) {
        return Reflect.set(t, prop, screen(unwrapValue(value), path.length + 1));
      },
      defineProperty(t, prop, desc) {
        return Reflect.defineProperty(
          t,
          prop,
          'value' in desc ? { ...desc, value: screen(unwrapValue(desc.value), path.length + 1) } : desc,
        );
      },
      deleteProperty(t, prop) {
        return Reflect.deleteProperty(t, prop);
      },
    };
    const proxy = new Proxy(target, handler);
    wrappers.set(target, proxy);
    targets.set(proxy, target);
    return proxy;
  };

  const unwrapValue = (value: unknown): unknown =>
    typeof value === 'object' && value !== null ? (targets.get(value) ?? value) : value;

  return { root: wrap(draft, []) as T, log };
}

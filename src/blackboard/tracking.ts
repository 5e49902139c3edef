import { isDraft } from 'immer';

/** Physical paths (as the draft sees them) read by a recipe. */
export interface ReadLog {
  /** Reads that depend on exactly that value (a leaf, an enumeration of keys). */
  readonly exact: PropertyKey[][];
  /** Objects reached and keys tested; each counts as read whole unless the recipe read or wrote below it. */
  readonly reached: PropertyKey[][];
}

/**
 * Wraps an immer draft so every read made through it is logged by path. Writes pass through to the
 * draft unchanged. Methods and prototype getters run with the wrapper as `this`, so reads made inside
 * them (a Keyed's `get`, `size`) are logged too.
 */
export function trackReads<T extends object>(draft: T): { root: T; log: ReadLog } {
  const log: ReadLog = { exact: [], reached: [] };
  const wrappers = new WeakMap<object, object>();
  const targets = new WeakMap<object, object>();

  const wrap = (target: object, path: PropertyKey[]): object => {
    const known = wrappers.get(target);
    if (known) return known;
    const handler: ProxyHandler<object> = {
      get(t, prop, receiver) {
        if (typeof prop === 'symbol') return Reflect.get(t, prop);
        const getter = findGetter(t, prop);
        const value = getter ? getter.call(receiver) : Reflect.get(t, prop);
        if (typeof value === 'function') return value;
        const at = [...path, prop];
        if (typeof value === 'object' && value !== null && (isDraft(value) || !Object.isFrozen(value))) {
          log.reached.push(at);
          return wrap(value, at);
        }
        if (!getter) (typeof value === 'object' && value !== null ? log.reached : log.exact).push(at);
        return value;
      },
      // A key test depends on the key's existence only: any read or write below it implies as much.
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
        return Reflect.set(t, prop, unwrapValue(value));
      },
      defineProperty(t, prop, desc) {
        return Reflect.defineProperty(
          t,
          prop,
          'value' in desc ? { ...desc, value: unwrapValue(desc.value) } : desc,
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

function findGetter(target: object, prop: string): (() => unknown) | undefined {
  for (
    let proto = Object.getPrototypeOf(target);
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    const desc = Object.getOwnPropertyDescriptor(proto, prop);
    if (desc) return desc.get;
  }
  return undefined;
}

import { Keyed } from './keyed.js';
import type { Path } from './path.js';

/**
 * Finds the first part of `value` that cannot live on the board: board values are JSON values
 * (plain objects, arrays, strings, finite numbers, booleans, null) and {@link Keyed} collections.
 * Returns the offending path relative to `value` and what it is, or `undefined` when all is well.
 * Cost is the size of the value.
 */
export function findUnserializable(value: unknown, at: Path = []): { path: Path; found: string } | undefined {
  const seen = new Set<object>();
  const visit = (v: unknown, path: Path): { path: Path; found: string } | undefined => {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return undefined;
      case 'number':
        return Number.isFinite(v) ? undefined : { path, found: String(v) };
      case 'object': {
        if (v === null) return undefined;
        if (seen.has(v)) return { path, found: 'a circular reference' };
        seen.add(v);
        try {
          if (Array.isArray(v)) {
            for (let i = 0; i < v.length; i++) {
              if (!(i in v)) return { path: [...path, i], found: 'a hole in an array' };
              const bad = visit(v[i], [...path, i]);
              if (bad) return bad;
            }
            return undefined;
          }
          if (v instanceof Keyed) {
            for (const [k, item] of v) {
              const bad = visit(item, [...path, k]);
              if (bad) return bad;
            }
            return undefined;
          }
          const proto = Object.getPrototypeOf(v);
          if (proto !== Object.prototype && proto !== null) {
            return { path, found: `an instance of ${proto?.constructor?.name ?? 'a class'}` };
          }
          for (const k of Object.keys(v)) {
            const bad = visit((v as Record<string, unknown>)[k], [...path, k]);
            if (bad) return bad;
          }
          if (Object.getOwnPropertySymbols(v).length > 0) return { path, found: 'a symbol key' };
          return undefined;
        } finally {
          seen.delete(v);
        }
      }
      default:
        return { path, found: typeof v === 'undefined' ? 'undefined' : `a ${typeof v}` };
    }
  };
  return visit(value, at);
}

/**
 * Freezes `value` and everything reachable from it, stopping at objects that are already frozen
 * (board subtrees are frozen when they are committed, so shared structure is never walked again).
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  if (value instanceof Keyed) {
    for (const mid of value.b) {
      if (Object.isFrozen(mid)) continue;
      for (const leaf of mid)
        if (!Object.isFrozen(leaf)) for (const v of Object.freeze(leaf).values()) deepFreeze(v);
      Object.freeze(mid);
    }
    Object.freeze(value.b);
  } else {
    for (const k of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[k]);
  }
  return Object.freeze(value);
}

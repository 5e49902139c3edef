import { Keyed } from './keyed.js';
import type { Path } from './path.js';

/** How deeply board values may nest. */
const MAX_DEPTH = 1_000;

/**
 * Finds the first part of `value` that cannot live on the board: board values are JSON values
 * (plain objects, arrays, strings, finite numbers, booleans, null) and {@link Keyed} collections.
 * Returns the offending path relative to `value` and what it is, or `undefined` when all is well.
 * Cost is the size of the value.
 */
export function findUnserializable(value: unknown, at: Path = []): { path: Path; found: string } | undefined {
  // One path, pushed and popped as the walk goes (copied only for the answer), and the objects on it:
  // a value is checked on every publish and commit, so the walk allocates nothing where all is well. One
  // stack frame per level of nesting.
  const path: (string | number)[] = [...at];
  const onPath: object[] = [];
  const found = (what: string) => ({ path: [...path] as Path, found: what });
  const visit = (v: unknown): { path: Path; found: string } | undefined => {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return undefined;
      case 'number':
        return Number.isFinite(v) ? undefined : found(String(v));
      case 'object':
        break;
      default:
        return found(typeof v === 'undefined' ? 'undefined' : `a ${typeof v}`);
    }
    if (v === null) return undefined;
    if (onPath.includes(v)) return found('a circular reference');
    // Refused with a finding, not a RangeError from the walk (or later from JSON and the schema).
    if (onPath.length >= MAX_DEPTH) return found(`nesting deeper than ${MAX_DEPTH} levels`);
    let bad: { path: Path; found: string } | undefined;
    onPath.push(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length && !bad; i++) {
        path.push(i);
        bad = i in v ? visit(v[i]) : found('a hole in an array');
        path.pop();
      }
    } else if (v instanceof Keyed) {
      for (const [k, item] of v) {
        path.push(k);
        bad = visit(item);
        path.pop();
        if (bad) break;
      }
    } else {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        bad = found(`an instance of ${proto?.constructor?.name ?? 'a class'}`);
      } else {
        for (const k in v) {
          if (!Object.hasOwn(v, k)) continue;
          path.push(k);
          bad = visit((v as Record<string, unknown>)[k]);
          path.pop();
          if (bad) break;
        }
        if (!bad && Object.getOwnPropertySymbols(v).length > 0) bad = found('a symbol key');
      }
    }
    onPath.pop();
    return bad;
  };
  return visit(value);
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

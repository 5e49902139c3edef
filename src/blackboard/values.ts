import { Keyed } from './keyed.js';
import { type BoardLimitName, DEFAULT_BOARD_LIMITS, OverDepth } from './limits.js';
import type { Path, Segment } from './path.js';

/** What {@link findUnserializable} found: where, what, and the bound it passed (when it is one). */
export interface ValueFinding {
  readonly path: Path;
  readonly found: string;
  /** Set when the value is over a bound rather than not JSON. */
  readonly limit?: { readonly name: BoardLimitName; readonly max: number };
}

/** The bounds {@link findUnserializable} checks. */
export interface ValueBounds {
  /** Levels below the board's root (counting `at`) at which a container may sit. */
  readonly maxDepth?: number;
  /** Characters in an object key. */
  readonly maxKeyLength?: number;
  /** UTF-8 bytes of the value's JSON (escapes not counted). */
  readonly maxBytes?: number;
}

/** A container being walked: its children, handed out one at a time, and whether it put a segment on the path. */
interface Frame {
  readonly node: object;
  readonly next: () => [Segment, unknown] | undefined;
  readonly pushed: boolean;
  /** The container's copy, when the walk copies (see {@link MeasureOptions}). */
  readonly out?: unknown[] | Record<string, unknown>;
}

/** How {@link measureValue} walks. */
export interface MeasureOptions {
  /**
   * Build a plain copy of the value from the very reads the walk checks (each property read once, so a
   * getter or a Proxy cannot show the check one value and the copy another). A `Keyed` collection is
   * copied as a plain object of its entries; object properties that are `undefined` are left out (as in
   * JSON) instead of being a finding. The copy is a tree (shared parts are copied where they occur).
   */
  readonly copy?: boolean;
}

/**
 * Finds the first part of `value` that cannot live on the board: board values are JSON values
 * (plain objects, arrays, strings, finite numbers, booleans, null) and {@link Keyed} collections, within
 * the bounds given (by default the board's default limits). Returns the offending path relative to the
 * board's root (`at` is where `value` sits) and what it is, or `undefined` when all is well, with the
 * value's size in `bytes`. Iterative (an explicit stack, no recursion): a value nested 100,000 levels
 * deep is a finding, not a `RangeError`; the walk stops at the first finding, so its cost is at most
 * the size of the value and never much beyond the bounds.
 *
 * @example
 * findUnserializable({ when: new Date() }); // { path: ['when'], found: 'an instance of Date' }
 */
export function findUnserializable(
  value: unknown,
  at: Path = [],
  bounds: ValueBounds = DEFAULT_BOARD_LIMITS,
): ValueFinding | undefined {
  return measureValue(value, at, bounds).finding;
}

/** {@link findUnserializable}, with the size of the value in bytes (as far as it was walked). */
export function measureValue(
  value: unknown,
  at: Path,
  bounds: ValueBounds,
  options: MeasureOptions = {},
): { finding: ValueFinding | undefined; bytes: number; copy?: unknown } {
  const maxDepth = bounds.maxDepth ?? Number.POSITIVE_INFINITY;
  const maxKey = bounds.maxKeyLength ?? Number.POSITIVE_INFINITY;
  const maxBytes = bounds.maxBytes ?? Number.POSITIVE_INFINITY;
  // Most values (every scheduler record, most patch values) are small plain JSON: measured by a plain
  // recursion, bounded in depth, that gives up at anything unusual. The walk below then looks again and
  // finds what it is (the same reads, the same answer, at the same first finding).
  if (options.copy !== true) {
    const quick = quickBytes(value, Math.min(QUICK_LEVELS, maxDepth - at.length), maxKey, maxBytes);
    if (quick >= 0 && quick <= maxBytes) return { finding: undefined, bytes: quick };
  }
  // One path, pushed and popped as the walk goes (copied only for the answer), and the containers on it.
  const path: Segment[] = [...at];
  const onPath = new Set<object>();
  const frames: Frame[] = [];
  const copying = options.copy === true;
  let root: unknown;
  /** Puts a copied value where the walk is: the root, the next element, or the property just entered. */
  const place = (v: unknown): void => {
    const parent = frames[frames.length - 1];
    if (!parent) root = v;
    else if (Array.isArray(parent.out)) parent.out.push(v);
    else
      Object.defineProperty(parent.out, path[path.length - 1]!, {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  };
  let bytes = 0;
  const found = (what: string, limit?: ValueFinding['limit']): ValueFinding => ({
    path: [...path],
    found: what,
    ...(limit ? { limit } : {}),
  });
  const tooLarge = () => found(`more than ${maxBytes} bytes`, { name: 'maxBytes', max: maxBytes });

  /** Looks at one value: a finding, or undefined (a container is pushed to be walked). */
  const visit = (v: unknown, pushed: boolean): ValueFinding | undefined => {
    switch (typeof v) {
      case 'string':
        bytes += utf8Length(v) + 2;
        if (copying) place(v);
        return bytes > maxBytes ? tooLarge() : undefined;
      case 'boolean':
        bytes += v ? 4 : 5;
        if (copying) place(v);
        return bytes > maxBytes ? tooLarge() : undefined;
      case 'number':
        if (!Number.isFinite(v)) return found(String(v));
        bytes += String(v).length;
        if (copying) place(v);
        return bytes > maxBytes ? tooLarge() : undefined;
      case 'object':
        break;
      default:
        return found(typeof v === 'undefined' ? 'undefined' : `a ${typeof v}`);
    }
    if (v === null) {
      bytes += 4;
      if (copying) place(v);
      return bytes > maxBytes ? tooLarge() : undefined;
    }
    // A recipe's value kept from immer: deeper than the recipe's bound, hence than the board's.
    if (v instanceof OverDepth) {
      const max = Math.min(v.maxDepth, maxDepth);
      return found(`nesting deeper than ${max} levels`, { name: 'maxDepth', max });
    }
    if (onPath.has(v)) return found('a circular reference');
    if (path.length >= maxDepth)
      return found(`nesting deeper than ${maxDepth} levels`, { name: 'maxDepth', max: maxDepth });
    bytes += 2;
    let next: Frame['next'];
    let out: Frame['out'];
    if (Array.isArray(v)) {
      if (copying) out = [];
      let i = 0;
      next = () => {
        if (i >= v.length) return undefined;
        const index = i++;
        return [index, index in v ? v[index] : HOLE];
      };
    } else if (v instanceof Keyed) {
      if (copying) out = {};
      const entries = v.entries();
      next = () => {
        const r = entries.next();
        return r.done ? undefined : r.value;
      };
    } else {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null)
        return found(`an instance of ${proto?.constructor?.name ?? 'a class'}`);
      if (Object.getOwnPropertySymbols(v).length > 0) return found('a symbol key');
      const keys = Object.keys(v);
      if (copying) out = {};
      let i = 0;
      next = () => {
        if (i >= keys.length) return undefined;
        const key = keys[i++]!;
        return [key, (v as Record<string, unknown>)[key]];
      };
    }
    onPath.add(v);
    if (out) place(out);
    frames.push({ node: v, next, pushed, ...(out ? { out } : {}) });
    return bytes > maxBytes ? tooLarge() : undefined;
  };

  let finding = visit(value, false);
  while (!finding && frames.length > 0) {
    const frame = frames[frames.length - 1]!;
    const child = frame.next();
    if (!child) {
      frames.pop();
      onPath.delete(frame.node);
      if (frame.pushed) path.pop();
      continue;
    }
    const [seg, v] = child;
    // A copy leaves out an object's undefined properties, as JSON does (an array's are still findings).
    if (copying && v === undefined && !Array.isArray(frame.node)) continue;
    path.push(seg);
    if (typeof seg === 'string') {
      if (seg.length > maxKey) {
        finding = found(`a key longer than ${maxKey} characters`, { name: 'maxKeyLength', max: maxKey });
        break;
      }
      bytes += utf8Length(seg) + 4;
    } else bytes += 1;
    if (v === HOLE) {
      finding = found('a hole in an array');
      break;
    }
    const before = frames.length;
    finding = visit(v, true);
    // A leaf (or a finding) leaves its segment to pop here; a container pops it when its frame ends.
    if (frames.length === before && !finding) path.pop();
  }
  return copying && !finding ? { finding, bytes, copy: root } : { finding, bytes };
}

const HOLE: unique symbol = Symbol('hole');

/** The length of `String(n)` for a safe integer, without building the string. */
function digits(n: number): number {
  let d = n < 0 ? 2 : 1;
  let x = Math.abs(n);
  while (x >= 10) {
    x = Math.floor(x / 10);
    d += 1;
  }
  return d;
}

/** How deep {@link quickBytes} recurses before it leaves a value to the iterative walk. */
const QUICK_LEVELS = 24;

/**
 * The bytes {@link measureValue} counts for `v`, when `v` is plain JSON (plain objects without symbol keys
 * or undefined properties, arrays without holes, finite numbers), containers at most `levels` deep, keys
 * at most `maxKey` long, at most `room` bytes in all; otherwise -1 (the walk finds out why). A circular
 * value reaches the depth bound and is left to the walk.
 */
function quickBytes(v: unknown, levels: number, maxKey: number, room: number): number {
  switch (typeof v) {
    case 'string':
      return utf8Length(v) + 2;
    case 'boolean':
      return v ? 4 : 5;
    case 'number':
      return Number.isSafeInteger(v) ? digits(v) : Number.isFinite(v) ? String(v).length : -1;
    case 'object':
      break;
    default:
      return -1;
  }
  if (v === null) return 4;
  if (levels <= 0) return -1;
  let bytes = 2;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      if (!(i in v)) return -1;
      const b = quickBytes(v[i], levels - 1, maxKey, room - bytes - 1);
      if (b < 0) return -1;
      bytes += b + 1;
      if (bytes > room) return -1;
    }
    return bytes;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return -1;
  if (Object.getOwnPropertySymbols(v).length > 0) return -1;
  // `for…in` walks the own keys in the order of Object.keys without building the array; an inherited one
  // (a polluted prototype) is left to the walk.
  for (const key in v) {
    if (!Object.hasOwn(v, key)) return -1;
    if (key.length > maxKey) return -1;
    const child = (v as Record<string, unknown>)[key];
    const b = quickBytes(child, levels - 1, maxKey, room - bytes);
    if (b < 0) return -1;
    bytes += utf8Length(key) + 4 + b;
    if (bytes > room) return -1;
  }
  return bytes;
}

/** The number of bytes `s` takes in UTF-8, without encoding it. */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 2; // a surrogate pair: 4 bytes for 2 code units
      i++;
    } else n += 2;
  }
  return n;
}

/**
 * Freezes `value` and everything reachable from it, stopping at objects that are already frozen
 * (board subtrees are frozen when they are committed, so shared structure is never walked again).
 * Iterative: a deep value costs heap for its stack, never the call stack.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  // A small fresh value (a record, a patch's value) is frozen by a plain recursion; one deeper than it
  // goes is finished by the walk below, which skips what the recursion froze.
  if (freezeNear(value, QUICK_LEVELS)) return value;
  // Each object is frozen after what it holds (children are pushed after their parent's marker).
  const stack: { node: object; done: boolean }[] = [{ node: value, done: false }];
  const push = (child: unknown) => {
    if (typeof child === 'object' && child !== null && !Object.isFrozen(child))
      stack.push({ node: child, done: false });
  };
  while (stack.length > 0) {
    const top = stack.pop()!;
    const node = top.node;
    if (Object.isFrozen(node)) continue;
    if (top.done) {
      Object.freeze(node);
      continue;
    }
    stack.push({ node, done: true });
    // A Keyed collection is walked through its own property, the trie (`b`): arrays of Map leaves.
    if (node instanceof Map) for (const v of node.values()) push(v);
    else for (const k of Object.keys(node)) push((node as Record<string, unknown>)[k]);
  }
  return value;
}

/**
 * Freezes `node` and what it holds, children first, recursing at most `levels` deep. False when it had to
 * stop (`node` is then left unfrozen, with whatever below it was finished frozen, for {@link deepFreeze}).
 */
function freezeNear(node: object, levels: number): boolean {
  if (levels <= 0) return false;
  if (node instanceof Map) {
    for (const v of node.values())
      if (typeof v === 'object' && v !== null && !Object.isFrozen(v) && !freezeNear(v, levels - 1))
        return false;
  } else {
    for (const k of Object.keys(node)) {
      const v = (node as Record<string, unknown>)[k];
      if (typeof v === 'object' && v !== null && !Object.isFrozen(v) && !freezeNear(v, levels - 1))
        return false;
    }
  }
  Object.freeze(node);
  return true;
}

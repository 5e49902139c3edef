import { z } from 'zod';
import type { InvalidCommit, SchemaIssue } from './errors.js';
import type { Patch } from './events.js';
import { Keyed } from './keyed.js';
import { applyPatches } from './patches.js';
import { isPrefix, type Path, type Segment } from './path.js';

/** Any zod schema (zod 4 classic). */
export type AnySchema = z.ZodType;

interface KeyedMarker {
  (value: unknown): boolean;
  valueSchema: AnySchema;
}

/**
 * A zod schema for a {@link Keyed} collection of `valueSchema` values: the board's representation of a
 * large keyed collection (tasks by id, documents by key). Validating a change to one entry checks that
 * entry only. Initial states and loaded snapshots may give the collection as a plain object; the
 * board turns it into a `Keyed`.
 *
 * @example
 * const Board = z.object({ tasks: keyed(z.object({ status: z.enum(['open', 'done']) })) });
 */
export function keyed<TValue extends AnySchema>(valueSchema: TValue): z.ZodType<Keyed<z.output<TValue>>> {
  const marker = ((value: unknown) => value instanceof Keyed) as unknown as KeyedMarker;
  marker.valueSchema = valueSchema;
  return z
    .custom<Keyed<z.output<TValue>>>(marker, { message: 'Expected a Keyed collection' })
    .superRefine((value, ctx) => {
      for (const [key, entry] of value) {
        const result = valueSchema.safeParse(entry);
        if (result.success) continue;
        for (const issue of result.error.issues) {
          ctx.addIssue({
            code: 'custom',
            message: issue.message,
            path: [key, ...issue.path],
            params: { code: issue.code },
          });
        }
      }
    });
}

type Def = {
  type: string;
  innerType?: AnySchema;
  shape?: Record<string, AnySchema>;
  catchall?: AnySchema;
  element?: AnySchema;
  valueType?: AnySchema;
  keyType?: AnySchema;
  checks?: unknown[];
  fn?: unknown;
  options?: readonly AnySchema[];
  items?: readonly AnySchema[];
  rest?: AnySchema | null;
  in?: AnySchema;
  getter?: () => AnySchema;
  left?: AnySchema;
  right?: AnySchema;
};

const defOf = (schema: AnySchema): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'nonoptional', 'catch']);

/** Strips wrappers that do not change the shape (optional, nullable, default, readonly, …). */
function unwrap(schema: AnySchema): AnySchema {
  let s = schema;
  for (let def = defOf(s); WRAPPERS.has(def.type) && def.innerType; def = defOf(s)) s = def.innerType;
  return s;
}

/** The value schema of a `keyed(...)` schema, or undefined. */
function keyedValueSchema(schema: AnySchema): AnySchema | undefined {
  const def = defOf(schema);
  if (def.type !== 'custom') return undefined;
  return (def.fn as Partial<KeyedMarker> | undefined)?.valueSchema;
}

type Step = { kind: 'child'; schema: AnySchema } | { kind: 'opaque' } | { kind: 'unknown'; why: string };

/** How the schema of the node `s` continues into `seg`. Opaque: validate `s` as a whole. */
function step(s: AnySchema, seg: Segment): Step {
  const valueSchema = keyedValueSchema(s);
  if (valueSchema) return { kind: 'child', schema: valueSchema };
  const def = defOf(s);
  if (def.checks && def.checks.length > 0) return { kind: 'opaque' };
  switch (def.type) {
    case 'object': {
      const child =
        typeof seg === 'string' && def.shape && Object.hasOwn(def.shape, seg) ? def.shape[seg] : undefined;
      if (child) return { kind: 'child', schema: child };
      const catchall = def.catchall && defOf(def.catchall).type !== 'never' ? def.catchall : undefined;
      return catchall
        ? { kind: 'child', schema: catchall }
        : { kind: 'unknown', why: 'is not a key of this object' };
    }
    case 'array':
      return typeof seg === 'number' && def.element
        ? { kind: 'child', schema: def.element }
        : { kind: 'unknown', why: 'is not an array index' };
    case 'record': {
      if (!def.valueType || !def.keyType) return { kind: 'opaque' };
      return def.keyType.safeParse(String(seg)).success
        ? { kind: 'child', schema: def.valueType }
        : { kind: 'unknown', why: 'is not an allowed key of this record' };
    }
    default:
      // Unions, intersections, tuples, pipes, lazy and custom schemas: no static way down.
      return { kind: 'opaque' };
  }
}

/** Reads the value at a logical path (through Keyed collections); `undefined` when absent. */
export function getIn(state: unknown, path: Path): unknown {
  let node = state;
  for (const seg of path) {
    if (node instanceof Keyed) node = node.get(String(seg));
    else if (typeof node === 'object' && node !== null && Object.hasOwn(node, seg))
      node = (node as Record<string, unknown>)[seg as string];
    else return undefined;
  }
  return node;
}

const toIssues = (prefix: Path, error: z.ZodError): SchemaIssue[] =>
  error.issues.map((issue) => ({
    path: [...prefix, ...(issue.path.filter((p) => typeof p !== 'symbol') as Segment[])],
    code: (issue.code === 'custom' && (issue.params as { code?: string } | undefined)?.code) || issue.code,
    message: issue.message,
  }));

/** The result of validating one patch: problems found, and the region that had to be checked whole. */
export interface PatchValidation {
  readonly issues: SchemaIssue[];
  /** Set when an ancestor had to be validated as a whole (a refinement, a union): it becomes a read. */
  readonly region?: Path;
}

/**
 * Validates the effect of one patch on `next` (the board after the commit), checking only the region
 * the patch touched: the new value at its path, plus what its parent requires (a required key may not
 * be removed; an unknown key may not be added). The walk stops early at an ancestor whose schema can
 * only be checked whole (refinements, unions, tuples); that ancestor is then validated and reported as
 * `region`. Cost follows the size of the change, not of the board.
 */
export function validatePatch(
  root: AnySchema,
  next: unknown,
  op: 'add' | 'replace' | 'remove',
  path: Path,
): PatchValidation {
  let schema = root;
  let parent: AnySchema | undefined;
  for (let i = 0; i < path.length; i++) {
    const s = unwrap(schema);
    const seg = path[i]!;
    const st = step(s, seg);
    if (st.kind === 'opaque') {
      const region = path.slice(0, i);
      const result = schema.safeParse(getIn(next, region));
      return { issues: result.success ? [] : toIssues(region, result.error), region };
    }
    if (st.kind === 'unknown') {
      const at = path.slice(0, i + 1);
      return { issues: [{ path: at, code: 'unknown_path', message: `${JSON.stringify(seg)} ${st.why}` }] };
    }
    parent = s;
    schema = st.schema;
  }
  if (op === 'remove') {
    if (!parent)
      return { issues: [{ path, code: 'invalid_type', message: 'The board itself cannot be removed' }] };
    const optional = (schema as unknown as { _zod: { optin?: string } })._zod.optin === 'optional';
    if (defOf(parent).type === 'object' && !optional) {
      return {
        issues: [
          { path, code: 'required', message: 'This key is required by the schema and cannot be removed' },
        ],
      };
    }
    return { issues: [] };
  }
  const result = schema.safeParse(getIn(next, path));
  return { issues: result.success ? [] : toIssues(path, result.error) };
}

/**
 * Validates a whole board value (the initial state, a loaded snapshot). Cost: the whole board; used
 * once per run, never per commit.
 */
export function validateAll(root: AnySchema, state: unknown): SchemaIssue[] {
  const result = root.safeParse(state);
  return result.success ? [] : toIssues([], result.error);
}

/** A board value with its Keyed collections as plain objects (what a store keeps as JSON). */
function plain(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Keyed) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) out[k] = plain(v);
    return out;
  }
  if (Array.isArray(value)) return value.map(plain);
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null)
    return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = plain(v);
  return out;
}

/**
 * Turns plain objects (or Maps) into {@link Keyed} collections where the schema has `keyed(...)`,
 * sharing everything else. Used for initial states, snapshots read from disk and JSON patch values.
 * Walks objects, records, arrays, tuples, pipes, lazy schemas, intersections (both sides) and unions,
 * through refinements and wrappers. A union takes the first option that accepts the revived value, and
 * decides on the value's JSON form (Keyed collections as plain objects), so a value revived from the log
 * comes out the same as the live value it was written from.
 *
 * @example
 * const Board = z.object({ tasks: keyed(z.number()) });
 * revive(Board, { tasks: { a: 1 } }); // { tasks: Keyed { a → 1 } }
 */
export function revive(schema: AnySchema, value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  // Nothing below can become a collection: the value is already what the board holds (no walk, no copy).
  if (!holds(schema, 'keyed')) return value;
  const s = unwrap(schema);
  const valueSchema = keyedValueSchema(s);
  if (valueSchema) {
    if (value instanceof Keyed) {
      // A collection built by a caller may hold plain objects where its values have collections.
      if (!holds(valueSchema, 'keyed')) return value;
      let out = value;
      for (const [k, v] of value) {
        const after = revive(valueSchema, v);
        if (after !== v) out = out.with(k, after);
      }
      return out;
    }
    const source = value instanceof Map ? [...value.entries()] : Object.entries(value);
    return Keyed.from(source.map(([k, v]) => [String(k), revive(valueSchema, v)] as const));
  }
  const def = defOf(s);
  if (def.type === 'union') {
    // The option zod would pick: the first that accepts the value once its collections are revived.
    const json = plain(value);
    for (const option of def.options ?? []) {
      const revived = revive(option, json);
      if (option.safeParse(revived).success) return revived;
    }
    return value;
  }
  // Anything else given a collection leaves it alone (a Keyed under z.any(), a custom schema).
  if (value instanceof Keyed) return value;
  const mapValues = (child: (key: string) => AnySchema | undefined): unknown => {
    let changed: Record<string, unknown> | unknown[] | undefined;
    for (const key of Object.keys(value)) {
      const c = child(key);
      if (!c) continue;
      const before = (value as Record<string, unknown>)[key];
      const after = revive(c, before);
      if (after !== before) {
        changed ??= Array.isArray(value) ? [...value] : { ...value };
        (changed as Record<string, unknown>)[key] = after;
      }
    }
    return changed ?? value;
  };
  switch (def.type) {
    case 'object':
      return mapValues((k) => (def.shape && Object.hasOwn(def.shape, k) ? def.shape[k] : def.catchall));
    case 'record':
      return mapValues(() => def.valueType);
    case 'array':
      return Array.isArray(value) ? mapValues(() => def.element) : value;
    case 'tuple':
      return Array.isArray(value) ? mapValues((k) => def.items?.[Number(k)] ?? def.rest ?? undefined) : value;
    case 'pipe':
      return def.in ? revive(def.in, value) : value;
    case 'lazy':
      return def.getter ? revive(def.getter(), value) : value;
    case 'intersection':
      return def.right && def.left ? revive(def.right, revive(def.left, value)) : value;
    default:
      return value;
  }
}

type Holds = 'keyed' | 'union';
const holdsCache: Record<Holds, WeakMap<AnySchema, boolean>> = { keyed: new WeakMap(), union: new WeakMap() };
/**
 * Whether a value of `schema` can hold a Keyed collection (or a union) somewhere: cached per schema, so
 * a walk that can find nothing to revive is skipped.
 */
function holds(schema: AnySchema, what: Holds): boolean {
  const cached = holdsCache[what].get(schema);
  if (cached !== undefined) return cached;
  const result = walkHolds(schema, what, new Set());
  holdsCache[what].set(schema, result);
  return result;
}

function walkHolds(schema: AnySchema, what: Holds, seen: Set<AnySchema>): boolean {
  if (seen.has(schema)) return false; // a recursive schema: its other branches answer
  seen.add(schema);
  const s = unwrap(schema);
  const valueSchema = keyedValueSchema(s);
  if (valueSchema) return what === 'keyed' || walkHolds(valueSchema, what, seen);
  const def = defOf(s);
  const any = (list: readonly (AnySchema | null | undefined)[]) =>
    list.some((c) => c != null && walkHolds(c, what, seen));
  switch (def.type) {
    case 'object':
      return any([...Object.values(def.shape ?? {}), def.catchall]);
    case 'array':
      return any([def.element]);
    case 'record':
      return any([def.valueType]);
    case 'tuple':
      return any([...(def.items ?? []), def.rest]);
    case 'pipe':
      return any([def.in]);
    case 'lazy':
      return any([def.getter?.()]);
    case 'intersection':
      return any([def.left, def.right]);
    case 'union':
      return what === 'union' || any(def.options ?? []);
    default:
      return false;
  }
}

/** Unwraps wrappers and lazy schemas down to the schema that has the shape. */
function resolve(schema: AnySchema): AnySchema {
  let s = unwrap(schema);
  for (let def = defOf(s); def.type === 'lazy' && def.getter; def = defOf(s)) s = unwrap(def.getter());
  return s;
}

const bothCache = new WeakMap<AnySchema, WeakMap<AnySchema, AnySchema>>();
/** The intersection of two children (cached: the same pair gives the same schema). */
function both(left: AnySchema, right: AnySchema): AnySchema {
  const byRight = bothCache.get(left) ?? new WeakMap<AnySchema, AnySchema>();
  bothCache.set(left, byRight);
  const cached = byRight.get(right);
  if (cached) return cached;
  const s = z.intersection(left, right);
  byRight.set(right, s);
  return s;
}

/**
 * Where reviving goes from the node `s` into `seg`: the child's schema; `'whole'` when the child cannot be
 * known from the path alone (a union: which option depends on the value), so the node is revived as a
 * whole; undefined when nothing there can hold a collection we know of (an unknown key, `z.any()`).
 */
function reviveStep(schema: AnySchema, seg: Segment): AnySchema | 'whole' | undefined {
  const s = resolve(schema);
  const valueSchema = keyedValueSchema(s);
  if (valueSchema) return valueSchema;
  const def = defOf(s);
  switch (def.type) {
    case 'object':
      if (typeof seg === 'string' && def.shape && Object.hasOwn(def.shape, seg)) return def.shape[seg];
      return def.catchall && defOf(def.catchall).type !== 'never' ? def.catchall : undefined;
    case 'array':
      return typeof seg === 'number' ? def.element : undefined;
    case 'tuple':
      return typeof seg === 'number' ? (def.items?.[seg] ?? def.rest ?? undefined) : undefined;
    case 'record':
      return def.valueType && def.keyType?.safeParse(String(seg)).success ? def.valueType : undefined;
    case 'pipe':
      return def.in ? reviveStep(def.in, seg) : undefined;
    case 'intersection': {
      const l = def.left ? reviveStep(def.left, seg) : undefined;
      const r = def.right ? reviveStep(def.right, seg) : undefined;
      if (l === 'whole' || r === 'whole') return 'whole';
      return l && r ? both(l, r) : (l ?? r);
    }
    case 'union':
      return 'whole';
    default:
      return undefined;
  }
}

/** Where a patch at `path` leaves the board's known shape, for reviving. */
interface ReviveTarget {
  /** The schema of the node at the path; undefined when no schema knows it (or a union is on the way). */
  readonly schema?: AnySchema;
  /** The nearest ancestor that must be revived as a whole after the patch (a union on the way). */
  readonly whole?: { readonly path: Path; readonly schema: AnySchema };
}

function reviveTarget(root: AnySchema, path: Path): ReviveTarget {
  let schema = root;
  for (let i = 0; i < path.length; i++) {
    const next = reviveStep(schema, path[i]!);
    if (next === 'whole') return { whole: { path: path.slice(0, i), schema } };
    if (!next) return {};
    schema = next;
  }
  return { schema };
}

/**
 * @internal Revives a commit's patches and applies them to `state`: each value through the schema at its
 * path, then each ancestor whose schema is known only as a whole (a union on the path) from its new value.
 * The one way both the live commit and every replay build the next board, so they agree. Cost: the
 * patches' values plus the union-typed ancestors they touch (which validation checks whole anyway).
 */
export function applyRevived<T>(
  schema: AnySchema,
  state: T,
  patches: readonly Patch[],
): { ok: true; state: T; patches: Patch[] } | { ok: false; error: InvalidCommit } {
  const revived: Patch[] = [];
  const wholes: { path: Path; schema: AnySchema }[] = [];
  // Without a union in the schema, a patch whose value holds no object has nothing to revive.
  const unions = holds(schema, 'union');
  for (const p of patches) {
    if (!unions && (p.op === 'remove' || typeof p.value !== 'object' || p.value === null)) {
      revived.push(p);
      continue;
    }
    const target = reviveTarget(schema, p.path);
    // A union whose options hold no collection revives to itself: nothing to redo as a whole.
    if (target.whole && holds(target.whole.schema, 'keyed')) wholes.push(target.whole);
    if (!target.schema || p.op === 'remove' || typeof p.value !== 'object' || p.value === null) {
      revived.push(p);
      continue;
    }
    const value = revive(target.schema, p.value);
    revived.push(value === p.value ? p : { ...p, value });
  }
  const applied = applyPatches(state, revived);
  if (!applied.ok) return applied;
  if (wholes.length === 0) return { ok: true, state: applied.state, patches: revived };
  // Shallowest first; one inside another already revived is done.
  wholes.sort((a, b) => a.path.length - b.path.length);
  const fixes: Patch[] = [];
  for (const w of wholes) {
    if (fixes.some((f) => isPrefix(f.path, w.path))) continue;
    const value = getIn(applied.state, w.path);
    if (typeof value !== 'object' || value === null) continue;
    const after = revive(w.schema, value);
    if (after !== value) fixes.push({ op: 'replace', path: w.path, value: after });
  }
  if (fixes.length === 0) return { ok: true, state: applied.state, patches: revived };
  const fixed = applyPatches(applied.state, fixes);
  return fixed.ok ? { ok: true, state: fixed.state, patches: revived } : fixed;
}

/**
 * @internal How many leading segments of `path` are property names the schema fixes (keys of a
 * `z.object`'s shape): the rest (a record's or a Keyed collection's keys, array indexes, anything past
 * where no static way leads) were chosen by whoever wrote the path.
 */
export function fixedDepth(root: AnySchema, path: Path): number {
  let schema = root;
  for (let i = 0; i < path.length; i++) {
    const s = unwrap(schema);
    const seg = path[i]!;
    const def = defOf(s);
    if (keyedValueSchema(s) || def.type !== 'object' || typeof seg !== 'string') return i;
    if (!def.shape || !Object.hasOwn(def.shape, seg)) return i;
    schema = def.shape[seg]!;
  }
  return path.length;
}

import type { Patch as ImmerPatch } from 'immer';
import type { InvalidCommit } from './errors.js';
import type { Patch } from './events.js';
import { copyArray, KEYED_INNER_SEGMENTS, Keyed, slotOf } from './keyed.js';
import { formatPath, isPath, type Path, type Segment } from './path.js';
import { deepFreeze } from './values.js';

class PatchFailure extends Error {
  constructor(readonly failure: InvalidCommit) {
    super(failure.message);
  }
}

const fail = (reason: InvalidCommit['reason'], path: Path, message: string): never => {
  throw new PatchFailure({
    code: 'invalid_commit',
    reason,
    path,
    message: `${formatPath(path)}: ${message}`,
  });
};

type Container = Record<string, unknown> | unknown[] | Keyed<unknown>;

const isContainer = (v: unknown): v is Container => typeof v === 'object' && v !== null;

/**
 * Applies logical patches to a frozen board value and returns the new frozen value. Only the
 * containers on each patch's path are copied (a Keyed collection copies one bucket), and a container
 * copied once is reused by later patches in the same call, so a commit's cost follows its size.
 * Returns an `InvalidCommit` when a patch names a path that does not exist.
 */
export function applyPatches<T>(
  state: T,
  patches: readonly Patch[],
): { ok: true; state: T } | { ok: false; error: InvalidCommit } {
  const fresh = new Set<object>();
  try {
    let root: unknown = state;
    for (const patch of patches) root = applyOne(root, patch, 0, fresh);
    for (const obj of fresh) Object.freeze(obj);
    return { ok: true, state: root as T };
  } catch (e) {
    if (e instanceof PatchFailure) return { ok: false, error: e.failure };
    throw e;
  }
}

function applyOne(node: unknown, patch: Patch, depth: number, fresh: Set<object>): unknown {
  const { path } = patch;
  if (path.length === 0) {
    if (patch.op !== 'replace') fail('bad_path', path, `only "replace" can target the whole board`);
    return deepFreeze(patch.value);
  }
  if (!isContainer(node))
    return fail('missing_path', path.slice(0, depth), 'is not an object, array or collection');
  const seg = path[depth]!;
  const last = depth === path.length - 1;
  if (node instanceof Keyed) return applyKeyed(node, patch, depth, fresh);
  if (Array.isArray(node)) {
    if (typeof seg !== 'number')
      return fail('bad_path', path.slice(0, depth + 1), 'array segments must be indices');
    const copy = own(node, fresh) as unknown[];
    if (last) {
      if (patch.op === 'add') {
        if (seg > copy.length) fail('missing_path', path, `index past the end (length ${copy.length})`);
        copy.splice(seg, 0, deepFreeze(patch.value));
      } else {
        if (seg >= copy.length) fail('missing_path', path, `no element (length ${copy.length})`);
        if (patch.op === 'remove') copy.splice(seg, 1);
        else copy[seg] = deepFreeze(patch.value);
      }
    } else {
      if (seg >= copy.length) fail('missing_path', path.slice(0, depth + 1), 'does not exist');
      copy[seg] = applyOne(copy[seg], patch, depth + 1, fresh);
    }
    return copy;
  }
  const key = String(seg);
  const exists = Object.hasOwn(node, key);
  const copy = own(node, fresh) as Record<string, unknown>;
  if (last) {
    if (patch.op !== 'add' && !exists) fail('missing_path', path, 'does not exist');
    if (patch.op === 'remove') delete copy[key];
    else copy[key] = deepFreeze(patch.value);
  } else {
    if (!exists) fail('missing_path', path.slice(0, depth + 1), 'does not exist');
    copy[key] = applyOne(copy[key], patch, depth + 1, fresh);
  }
  return copy;
}

function applyKeyed(node: Keyed<unknown>, patch: Patch, depth: number, fresh: Set<object>): Keyed<unknown> {
  const { path } = patch;
  const key = String(path[depth]);
  const last = depth === path.length - 1;
  if (!node.has(key) && !(last && patch.op === 'add'))
    fail('missing_path', path.slice(0, depth + 1), 'does not exist');
  // Copy the path through the trie (top array, middle array, leaf), each at most once per call.
  let target = node;
  if (!fresh.has(node)) {
    const top = copyArray(node.b);
    fresh.add(top);
    target = new Keyed<unknown>(top);
    fresh.add(target);
  }
  const top = target.b as unknown[][];
  const [i, j] = slotOf(key);
  const mid = own(top[i]!, fresh) as Map<string, unknown>[];
  top[i] = mid;
  const leaf = fresh.has(mid[j]!) ? mid[j]! : new Map(mid[j]!);
  fresh.add(leaf);
  mid[j] = leaf;
  if (!last) leaf.set(key, applyOne(leaf.get(key), patch, depth + 1, fresh));
  else if (patch.op === 'remove') leaf.delete(key);
  else leaf.set(key, deepFreeze(patch.value));
  return target;
}

/** The container itself if this call already copied it, else a shallow copy (marked as ours). */
function own(node: object, fresh: Set<object>): object {
  if (fresh.has(node)) return node;
  const copy = Array.isArray(node) ? copyArray(node) : { ...node };
  fresh.add(copy);
  return copy;
}

/**
 * Maps a physical path (as immer sees the board: through a Keyed's trie) to the logical path users and
 * the conflict rule see (`['tasks', 'b', 17, 3, 't1']` → `['tasks', 't1']`). A path that stops inside a
 * Keyed's internals means the whole collection; an array's `length` means the whole array. `root` is
 * any board value the path runs through.
 */
function toLogicalPath(root: unknown, physical: readonly PropertyKey[]): Path {
  const out: Segment[] = [];
  let node: unknown = root;
  for (let i = 0; i < physical.length; i++) {
    const seg = physical[i]!;
    if (node instanceof Keyed) {
      const keyAt = i + KEYED_INNER_SEGMENTS;
      if (keyAt >= physical.length) return out;
      const key = String(physical[keyAt]);
      out.push(key);
      node = node.get(key);
      i = keyAt;
      continue;
    }
    if (Array.isArray(node)) {
      if (seg === 'length') return out;
      const index = typeof seg === 'number' ? seg : Number(seg);
      out.push(index);
      node = node[index];
      continue;
    }
    const key = String(seg);
    out.push(key);
    node = isContainer(node) && Object.hasOwn(node, key) ? (node as Record<string, unknown>)[key] : undefined;
  }
  return out;
}

/** Translates immer's patches (recorded on a draft of `base`) into logical board patches. */
export function fromImmerPatches(base: unknown, patches: readonly ImmerPatch[]): Patch[] {
  return patches.map((p) => {
    const path = toLogicalPath(base, p.path);
    return p.op === 'remove' ? { op: p.op, path } : { op: p.op, path, value: p.value };
  });
}

/** Checks that `patches` is a well-formed list of patches; returns the problem or undefined. */
export function checkPatchShape(patches: unknown): InvalidCommit | undefined {
  if (!Array.isArray(patches))
    return { code: 'invalid_commit', reason: 'malformed', message: '`patches` must be an array' };
  for (const [i, p] of patches.entries()) {
    const ok =
      typeof p === 'object' &&
      p !== null &&
      (p.op === 'add' || p.op === 'replace' || p.op === 'remove') &&
      isPath(p.path) &&
      (p.op === 'remove' || 'value' in p);
    if (!ok) {
      return {
        code: 'invalid_commit',
        reason: 'malformed',
        message: `patches[${i}] must be { op: 'add' | 'replace' | 'remove', path: (string | index)[], value? }`,
      };
    }
    // Assigning `__proto__` on a copied object would swap its prototype instead of adding a key.
    if ((p.path as Path).includes('__proto__')) {
      return {
        code: 'invalid_commit',
        reason: 'bad_path',
        path: p.path,
        message: `patches[${i}]: "__proto__" cannot be a board key`,
      };
    }
  }
  return undefined;
}

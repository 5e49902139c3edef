import type { InvalidCommit } from './errors.js';
import type { BoardLimits } from './limits.js';
import { checkPatchShape } from './patches.js';
import { formatPath, type Path } from './path.js';
import type { Commit } from './types.js';
import { measureValue, type ValueFinding } from './values.js';

const invalid = (reason: InvalidCommit['reason'], message: string, path?: Path): InvalidCommit => ({
  code: 'invalid_commit',
  reason,
  message,
  ...(path ? { path } : {}),
});

const overLimit = (
  limits: BoardLimits,
  name: keyof BoardLimits,
  message: string,
  path?: Path,
): InvalidCommit => ({
  code: 'invalid_commit',
  reason: 'limit_exceeded',
  message: `${message} (limit ${name}: ${limits[name]}).`,
  limit: { name, max: limits[name] },
  ...(path ? { path } : {}),
});

/** A path shortened for a message: its first segments, each cut short. */
export function briefPath(path: Path): string {
  const head = path
    .slice(0, 8)
    .map((s) => (typeof s === 'string' && s.length > 40 ? `${s.slice(0, 40)}…` : s));
  return formatPath(head) + (path.length > head.length ? `… (${path.length} segments)` : '');
}

/**
 * Checks one path against the board's bounds and (with `shape`) its shape: strings and non-negative
 * integer indices. One loop that stops at the first problem: a path of 20,000 segments costs one comparison.
 */
export function checkPath(
  path: unknown,
  limits: BoardLimits,
  what: string,
  shape = true,
): InvalidCommit | undefined {
  if (!Array.isArray(path))
    return invalid('bad_path', `${what} must be a path (an array of strings and indices).`);
  if (path.length > limits.maxDepth)
    return overLimit(
      limits,
      'maxDepth',
      `${what} has ${path.length} segments`,
      path.slice(0, limits.maxDepth),
    );
  for (let i = 0; i < path.length; i++) {
    const s: unknown = path[i];
    if (typeof s === 'string') {
      if (s.length > limits.maxKeyLength)
        return overLimit(
          limits,
          'maxKeyLength',
          `${what}: segment ${i} has ${s.length} characters`,
          path.slice(0, i),
        );
    } else if (shape && !(typeof s === 'number' && Number.isInteger(s) && s >= 0)) {
      return invalid('bad_path', `${what}: segment ${i} must be a string or a non-negative integer index.`);
    }
  }
  return undefined;
}

/**
 * Checks the names a commit or message carries (author, topic, activation id, idempotency key): at most
 * `maxKeyLength` characters each, like a path segment, since the log and every reader keep them.
 */
export function checkNames(names: Record<string, unknown>, limits: BoardLimits): InvalidCommit | undefined {
  for (const [field, value] of Object.entries(names)) {
    if (typeof value === 'string' && value.length > limits.maxKeyLength)
      return overLimit(limits, 'maxKeyLength', `${field} has ${value.length} characters`);
  }
  return undefined;
}

/** A finding about a value, as a refusal. */
function refusal(limits: BoardLimits, bad: ValueFinding, what: string): InvalidCommit {
  if (bad.limit)
    return overLimit(limits, bad.limit.name, `${what} has ${bad.found} at ${briefPath(bad.path)}`, bad.path);
  return invalid('not_serializable', `${what} contains ${bad.found} at ${briefPath(bad.path)}.`, bad.path);
}

/**
 * Structural checks of a commit from any source (it may come from the network as JSON), bounds first:
 * counts, then every path, then the values (serialisable, nested within `maxDepth` of the root, `maxBytes`
 * together). Nothing here recurses; nothing recursive runs before it.
 */
export function checkCommit(
  commit: Commit,
  headVersion: number,
  limits: BoardLimits,
): InvalidCommit | undefined {
  if (typeof commit !== 'object' || commit === null)
    return invalid('malformed', 'A commit must be an object.');
  const { baseVersion, reads, author, patches } = commit;
  if (typeof baseVersion !== 'number' || !Number.isInteger(baseVersion) || baseVersion < 0) {
    return invalid(
      'bad_base_version',
      `baseVersion must be a non-negative integer, got ${JSON.stringify(baseVersion)}.`,
    );
  }
  if (baseVersion > headVersion)
    return invalid(
      'bad_base_version',
      `baseVersion ${baseVersion} is ahead of the board (version ${headVersion}).`,
    );
  if (typeof author !== 'string' || author === '')
    return invalid('malformed', 'author must be a non-empty string.');
  if (!Array.isArray(reads))
    return invalid('bad_path', 'reads must be an array of paths (arrays of strings and indices).');
  if (reads.length > limits.maxReads)
    return overLimit(limits, 'maxReads', `The commit reads ${reads.length} paths`);
  for (const [i, read] of reads.entries()) {
    const bad = checkPath(read, limits, `reads[${i}]`);
    if (bad) return bad;
  }
  for (const field of ['activationId', 'idempotencyKey'] as const) {
    if (commit[field] !== undefined && typeof commit[field] !== 'string')
      return invalid('malformed', `${field} must be a string when given.`);
  }
  const names = checkNames(
    { author, activationId: commit.activationId, idempotencyKey: commit.idempotencyKey },
    limits,
  );
  if (names) return names;
  if (Array.isArray(patches)) {
    if (patches.length > limits.maxPatches)
      return overLimit(limits, 'maxPatches', `The commit has ${patches.length} patches`);
    for (const [i, p] of patches.entries()) {
      const path: unknown = typeof p === 'object' && p !== null ? p.path : undefined;
      const bad = Array.isArray(path) ? checkPath(path, limits, `patches[${i}].path`, false) : undefined;
      if (bad) return bad;
    }
  }
  const shape = checkPatchShape(patches);
  if (shape) return shape;
  if (patches.length === 0) return invalid('malformed', 'A commit needs at least one patch.');
  let bytes = 0;
  for (const p of patches) {
    if (p.op === 'remove') continue;
    const measured = measureValue(p.value, p.path, { ...limits, maxBytes: limits.maxBytes - bytes });
    if (measured.finding) return refusal(limits, measured.finding, 'The value');
    bytes += measured.bytes;
  }
  return undefined;
}

/** Checks a message's payload: JSON, nested at most `maxDepth` levels, at most `maxBytes`. */
export function checkPayload(payload: unknown, limits: BoardLimits): InvalidCommit | undefined {
  const { finding } = measureValue(payload, [], limits);
  return finding ? refusal(limits, finding, 'The payload') : undefined;
}

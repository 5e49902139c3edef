/**
 * Bounds on what one commit or message may carry. Each is checked, without recursion, before anything
 * walks the input recursively (patch application, freezing, schema checks, JSON): a commit or message
 * over a bound is refused as `invalid_commit` with reason `limit_exceeded`, never a `RangeError`.
 *
 * @example
 * const board = await createBlackboard({ schema, initial, limits: { maxBytes: 256 * 1024 } });
 */
export interface BoardLimits {
  /**
   * How deep the board goes: segments in any path (a patch's, a read's), and levels below the board's root
   * at which any part of a written value may sit (a patch's path plus the value's own nesting). Default 256.
   * Above about 1,000, zod and immer may run out of stack on deeply nested values.
   */
  readonly maxDepth: number;
  /** Characters in one path segment or object key. Default 4,096. */
  readonly maxKeyLength: number;
  /**
   * Size of a commit's values together, or of one message's payload, in UTF-8 bytes of their JSON (string
   * escapes not counted). Default 8 MiB.
   */
  readonly maxBytes: number;
  /** Patches in one commit. Default 10,000. */
  readonly maxPatches: number;
  /** Paths in one commit's `reads`. Default 10,000. */
  readonly maxReads: number;
}

/** The name of one of the {@link BoardLimits}. */
export type BoardLimitName = keyof BoardLimits;

/**
 * The bounds a board has unless its options say otherwise.
 *
 * @example
 * createBlackboard({ schema, initial, limits: { maxBytes: DEFAULT_BOARD_LIMITS.maxBytes / 8 } });
 */
export const DEFAULT_BOARD_LIMITS: BoardLimits = Object.freeze({
  maxDepth: 256,
  maxKeyLength: 4096,
  maxBytes: 8 * 1024 * 1024,
  maxPatches: 10_000,
  maxReads: 10_000,
});

/** The board's limits: the defaults, overridden by `given`; each must be a positive integer (else throws). */
export function boardLimits(given?: Partial<BoardLimits>): BoardLimits {
  const limits = { ...DEFAULT_BOARD_LIMITS, ...given };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new TypeError(`Board limit ${name} must be a positive integer, got ${String(value)}.`);
  }
  return Object.freeze(limits);
}

/**
 * @internal Stands in a recipe's draft for a value nested deeper than the board allows, so immer never walks
 * it (its finalisation recurses); the commit check then refuses it as `limit_exceeded`.
 */
export class OverDepth {
  // Not frozen: a recipe that goes on writing into what it built finishes, and its commit is refused.
  constructor(readonly maxDepth: number) {}
}

/**
 * True when `value` nests more than `levels` levels (a scalar is 0, `{}` and `[]` are 1), found without
 * recursion and stopping as soon as it is known. `skip` names containers not to enter (drafts: board
 * data, already within bounds).
 */
export function nestsDeeperThan(value: unknown, levels: number, skip?: (node: object) => boolean): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const stack: [object, number][] = [[value, 1]];
  // The deepest level each node was entered at: a node shared by a short way and a long one counts at the
  // long one (skipping any node seen before would let a chain hide behind shortcuts to its links).
  const deepest = new Map<object, number>();
  while (stack.length > 0) {
    const [node, level] = stack.pop()!;
    if (level > levels) return true;
    if ((deepest.get(node) ?? 0) >= level) continue;
    deepest.set(node, level);
    // A Keyed collection is known by its brand (this module stays free of immer, for the browser client).
    const children: Iterable<unknown> =
      isKeyed(node) || node instanceof Map || node instanceof Set ? node.values() : Object.values(node);
    for (const child of children) {
      if (typeof child === 'object' && child !== null && !skip?.(child)) stack.push([child, level + 1]);
    }
  }
  return false;
}

const isKeyed = (node: object): node is { values(): Iterable<unknown> } =>
  (node as Record<symbol, unknown>)[Symbol.for('hearsay.keyed')] === true;

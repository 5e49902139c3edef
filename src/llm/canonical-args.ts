import { briefPath } from '../blackboard/check-commit.js';
import { type BoardLimitName, DEFAULT_BOARD_LIMITS } from '../blackboard/limits.js';
import { deepFreeze, measureValue } from '../blackboard/values.js';

/** Why a call's or a request's arguments were refused. */
export interface ArgsRefusal {
  readonly ok: false;
  /** `limit_exceeded`: over one of the bounds; `invalid_args`: not plain JSON data (or a getter threw). */
  readonly code: 'limit_exceeded' | 'invalid_args';
  /** The bound passed, for `limit_exceeded` (the board's default limits). */
  readonly limit?: { readonly name: BoardLimitName; readonly max: number };
  readonly message: string;
}

/**
 * Takes the one copy of an action's arguments that is approved, hashed and run: plain JSON data (plain
 * objects, arrays, strings, finite numbers, booleans, null; a `Keyed` collection becomes a plain object of
 * its entries, `undefined` properties are left out), read once (a getter or a Proxy is asked once, and what
 * it answered is the copy), within the board's default bounds (`DEFAULT_BOARD_LIMITS`: nesting, key length,
 * bytes), checked without recursion before anything recursive sees it, and deep-frozen.
 * @internal
 */
export function canonicalArgs(
  args: unknown,
  what = 'The arguments',
): { readonly ok: true; readonly args: unknown } | ArgsRefusal {
  if (args === undefined) return { ok: true, args };
  let measured: ReturnType<typeof measureValue>;
  try {
    measured = measureValue(args, [], DEFAULT_BOARD_LIMITS, { copy: true });
  } catch (error) {
    // A getter or a Proxy trap that throws: the arguments cannot be read, so nothing is approved or run.
    const why = error instanceof Error ? error.message : String(error);
    return { ok: false, code: 'invalid_args', message: `${what} could not be read (${why}).` };
  }
  const { finding } = measured;
  if (finding?.limit)
    return {
      ok: false,
      code: 'limit_exceeded',
      limit: finding.limit,
      message: `${what} have ${finding.found} at ${briefPath(finding.path)}: the limit ${finding.limit.name} is ${finding.limit.max}. Pass smaller arguments (a reference to data on the board, not the data).`,
    };
  if (finding)
    return {
      ok: false,
      code: 'invalid_args',
      message: `${what} contain ${finding.found} at ${briefPath(finding.path)}: arguments must be plain JSON data.`,
    };
  return { ok: true, args: deepFreeze(measured.copy) };
}

/**
 * The error `tools.requestApproval` rejects with when the request's arguments cannot be approved (misuse:
 * over a bound, or not plain JSON data): `code` is `limit_exceeded` or `invalid_args`, `limit` the bound.
 * @internal
 */
export class ApprovalArgsError extends Error {
  readonly code: ArgsRefusal['code'];
  readonly limit?: ArgsRefusal['limit'];
  constructor(refusal: ArgsRefusal) {
    super(refusal.message);
    this.name = 'ApprovalArgsError';
    this.code = refusal.code;
    if (refusal.limit) this.limit = refusal.limit;
  }
}

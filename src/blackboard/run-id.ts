import { BlackboardError } from './errors.js';

/**
 * The most UTF-16 code units (JavaScript `length`) a run id may have: the hub's protocol bound too, so every
 * run can be subscribed to. A child run's id adds `/<team>.<8 hex>` to its parent's per level, and is held to
 * the same bound. Stores may hold less (see `PostgresStore`, `FileStore`).
 *
 * @example
 * if (id.length > MAX_RUN_ID_LENGTH) reply(400, 'run id too long');
 */
export const MAX_RUN_ID_LENGTH = 1000;

// Control characters: PostgreSQL cannot store NUL, and the log's readers and notifications use \n and
// \u0000 as separators.
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters refused
const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * What is wrong with `runId` as a run id, or undefined when it is a valid one: a non-empty string of at most
 * {@link MAX_RUN_ID_LENGTH} code units, well-formed Unicode (no lone surrogate), with no control character.
 *
 * @example
 * runIdProblem('nightly'); // undefined
 * runIdProblem('a\u0000b'); // 'contains a control character (U+0000)'
 */
export function runIdProblem(runId: unknown): string | undefined {
  return nameProblem(runId, MAX_RUN_ID_LENGTH);
}

/** @internal What is wrong with `name` as an id of at most `max` code units (the rules of run ids). */
export function nameProblem(name: unknown, max: number): string | undefined {
  if (typeof name !== 'string') return `must be a string, got ${typeof name}`;
  if (name === '') return 'is empty';
  if (name.length > max) return `has ${name.length} characters, more than the ${max} allowed`;
  const control = CONTROL.exec(name);
  if (control)
    return `contains a control character (U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')})`;
  if (LONE_SURROGATE.test(name)) return 'contains a lone surrogate (not well-formed Unicode)';
  return undefined;
}

/**
 * Throws a {@link BlackboardError} with code `invalid_id` (its `details` say `{ id: 'runId', problem }`) when
 * `runId` is not a valid run id (see {@link runIdProblem}). Every board checks its run id with it before the
 * store sees it, whatever the store.
 *
 * @example
 * checkRunId(request.params.runId); // throws BlackboardError { code: 'invalid_id' } for 'a\u0000b'
 */
export function checkRunId(runId: unknown): asserts runId is string {
  const problem = runIdProblem(runId);
  if (problem === undefined) return;
  const shown = typeof runId === 'string' ? JSON.stringify(runId.slice(0, 60)) : String(runId);
  throw new BlackboardError(
    'invalid_id',
    `The run id ${shown}${typeof runId === 'string' && runId.length > 60 ? '…' : ''} ${problem}: use 1 to ${MAX_RUN_ID_LENGTH} printable characters.`,
    { details: { id: 'runId', problem } },
  );
}

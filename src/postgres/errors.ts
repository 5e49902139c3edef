import { BlackboardError } from '../blackboard/index.js';
import { isPostgresOutage } from './outage.js';

/** A SQLSTATE: five digits or upper-case letters. */
const SQLSTATE = /^[0-9A-Z]{5}$/;

/** What to do about a refusal, by SQLSTATE, where the database's own words do not say it. */
const ADVICE: Readonly<Record<string, string>> = {
  '22021':
    'PostgreSQL cannot store the NUL character (U+0000) in text: an id or key given to the store holds one ' +
    '(run ids are checked before they reach the store; idempotency keys and the board keys that name pooled ' +
    'items are not). Remove the NUL.',
  '22023':
    "An id is too long for PostgreSQL (a notification's payload holds at most 8,000 bytes): use shorter run " +
    'ids, agent ids, queue names or pooled item keys.',
  '54000':
    "An id is too long for PostgreSQL's indexes (about 2,700 bytes per row): use shorter run ids, agent ids " +
    'or pooled item keys.',
};

/**
 * What the store lets reach its caller of an error on its way to PostgreSQL. An outage passes as it is (see
 * {@link isPostgresOutage}): callers and workers classify it with `store.isOutage` and wait it out. A refusal
 * by the database (an error with a SQLSTATE: bad input, a permission, a missing table) becomes a
 * `BlackboardError` with code `store_failure`, a message that says what to do, the SQLSTATE in `details`,
 * and the original error as `cause`. Anything else (the store's own errors, a bug) passes as it is.
 *
 * @example
 * await pool.query(sql, values).catch((error) => { throw storeError(error); });
 */
export function storeError(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof BlackboardError || isPostgresOutage(error)) return error;
  const state = (error as { code?: unknown }).code;
  if (typeof state !== 'string' || !SQLSTATE.test(state)) return error;
  const advice =
    ADVICE[state] ??
    'It is not an outage (waiting will not mend it): check the database (schema, permissions) and what was given to the store.';
  return new BlackboardError(
    'store_failure',
    `PostgreSQL refused the store's request: ${error.message} (SQLSTATE ${state}). ${advice}`,
    { cause: error, details: { sqlState: state } },
  );
}

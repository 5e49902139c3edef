import { BlackboardError } from '../blackboard/index.js';
import { isPostgresOutage } from './outage.js';

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
 * What the store lets reach its caller of an error from PostgreSQL. The store's own errors pass as they are.
 * So does an outage (see {@link isPostgresOutage}): callers and workers classify it with `store.isOutage`
 * and wait it out. Any other error (a refusal: bad input, a permission, a missing table) becomes a
 * `BlackboardError` with code `store_failure`, a message that says what to do, the SQLSTATE in `details`,
 * and the original error as `cause`.
 *
 * @example
 * await pool.query(sql, values).catch((error) => { throw storeError(error); });
 */
export function storeError(error: unknown): unknown {
  if (error instanceof BlackboardError || isPostgresOutage(error)) return error;
  const sqlState = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  const state = typeof sqlState === 'string' ? sqlState : undefined;
  const said = error instanceof Error ? error.message : String(error);
  const advice =
    (state && ADVICE[state]) ??
    'It is not an outage (waiting will not mend it): check the database (schema, permissions) and what was given to the store.';
  return new BlackboardError(
    'store_failure',
    `PostgreSQL refused the store's request: ${said}${state ? ` (SQLSTATE ${state})` : ''}. ${advice}`,
    { cause: error, details: { sqlState: state } },
  );
}

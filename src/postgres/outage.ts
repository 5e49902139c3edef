/**
 * SQLSTATE classes and codes that go away by waiting: connection exceptions (08), operator intervention
 * such as a shutdown or a server still starting (57P01–57P03), too many connections (53300), the
 * transaction conflicts a retry resolves (40001 serialization failure, 40P01 deadlock), a lock not granted
 * in time (55P03: its holder is ended once idle past the store's `lockTimeoutMs`), and a session the server
 * ended for sitting idle in a transaction (25P03).
 */
const TRANSIENT_STATES = /^(08...|57P0[123]|53300|40001|40P01|55P03|25P03)$/;

/** What node-postgres says, without a code, when the connection went away under a query. */
const LOST_CONNECTION =
  /connection terminated|connection timeout|timeout exceeded when trying to connect|not queryable/i;

/**
 * Whether an error from PostgreSQL (or the way to it) means the database could not be reached for now:
 * a socket error (`ECONNREFUSED`, `ECONNRESET`, …), a transient SQLSTATE, or a connection that was lost.
 * A refusal such as a syntax error, a missing table or a permission is not: waiting does not mend it.
 *
 * @example
 * isPostgresOutage(Object.assign(new Error('the database system is shutting down'), { code: '57P03' })); // true
 */
export function isPostgresOutage(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code !== '') {
    // A socket's errno (ECONNREFUSED, EAI_AGAIN…), not Node's own ERR_* codes (a bad certificate, a bug).
    if (/^E(?!RR_)[A-Z0-9_]+$/.test(code)) return true;
    return TRANSIENT_STATES.test(code);
  }
  return LOST_CONNECTION.test(error.message);
}

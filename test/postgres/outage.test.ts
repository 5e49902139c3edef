import { describe, expect, it } from 'vitest';
import { isPostgresOutage } from '../../src/postgres/index.js';

const pgError = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});

describe('which PostgreSQL errors are outages (waited out) and which are refusals (failed at once)', () => {
  it.each([
    ['a refused connection', pgError('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'), true],
    ['a reset socket', pgError('read ECONNRESET', 'ECONNRESET'), true],
    ['a connection dropped under a query', pgError('Connection terminated unexpectedly'), true],
    ['a pool that could not connect in time', pgError('timeout exceeded when trying to connect'), true],
    ['a broken client', pgError('Client has encountered a connection error and is not queryable'), true],
    ['an administrator ending the connection', pgError('terminating connection', '57P01'), true],
    ['a server starting up or shutting down', pgError('the database system is starting up', '57P03'), true],
    ['a connection exception', pgError('connection failure', '08006'), true],
    ['too many connections', pgError('sorry, too many clients already', '53300'), true],
    ['a deadlock', pgError('deadlock detected', '40P01'), true],
    ['a lock not granted in time', pgError('canceling statement due to lock timeout', '55P03'), true],
    [
      'a session ended for idling in a transaction',
      pgError('terminating connection due to idle-in-transaction timeout', '25P03'),
      true,
    ],
    ['a syntax error', pgError('syntax error at or near "SELEC"', '42601'), false],
    ['a missing table', pgError('relation "x" does not exist', '42P01'), false],
    ['a permission', pgError('permission denied for table events', '42501'), false],
    ['bad input', pgError('invalid input syntax for type json', '22P02'), false],
    ['a name that does not resolve for now', pgError('getaddrinfo EAI_AGAIN db', 'EAI_AGAIN'), true],
    [
      "a certificate Node refuses (one of Node's own codes)",
      pgError('bad cert', 'ERR_TLS_CERT_ALTNAME_INVALID'),
      false,
    ],
    ['any other error', new TypeError('x is not a function'), false],
    ['not an error at all', 'ECONNREFUSED', false],
  ])('%s', (_what, error, expected) => {
    expect(isPostgresOutage(error)).toBe(expected);
  });
});

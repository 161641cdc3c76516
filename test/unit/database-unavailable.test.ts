// Which driver errors mean "the database cannot be reached" (a 503 and a retry, never a lost
// batch) and which are the query's own fault.
import { describe, expect, it } from 'vitest';
import { asDatabaseUnavailable, isTransientConflict } from '../../server/db/database.js';
import { DatabaseUnavailable } from '../../server/errors.js';

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('asDatabaseUnavailable', () => {
  it('knows a server that is down, shutting down, refusing connections or closed for maintenance', () => {
    for (const err of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      pgError('57P01', 'terminating connection due to administrator command'),
      pgError('57P03', 'the database system is starting up'),
      pgError('53300', 'sorry, too many clients already'),
      // ALTER DATABASE … ALLOW_CONNECTIONS false
      pgError('55000', 'database "opmas" is not currently accepting connections'),
      new Error('Connection terminated unexpectedly'),
      Object.assign(new Error('Knex: Timeout acquiring a connection'), { name: 'KnexTimeoutError' }),
    ]) {
      expect(asDatabaseUnavailable(err), err.message).toBeInstanceOf(DatabaseUnavailable);
    }
  });

  it("leaves a query's own errors alone", () => {
    for (const err of [
      pgError('23505', 'duplicate key value violates unique constraint "agents_pkey"'),
      pgError('55000', 'cannot execute nextval() in a read-only transaction state'),
      pgError('42P01', 'relation "nope" does not exist'),
      new TypeError('x is not a function'),
    ]) {
      expect(asDatabaseUnavailable(err), err.message).toBeUndefined();
    }
    expect(asDatabaseUnavailable('a string')).toBeUndefined();
  });
});

describe('isTransientConflict', () => {
  it('knows a deadlock, a serialization failure and a lock not available, and nothing else', () => {
    expect(isTransientConflict(pgError('40P01', 'deadlock detected'))).toBe(true);
    expect(isTransientConflict(pgError('40001', 'could not serialize access due to concurrent update'))).toBe(true);
    expect(isTransientConflict(pgError('55P03', 'could not obtain lock on row in relation "agent_status"'))).toBe(true);
    expect(isTransientConflict(pgError('22P05', 'unsupported Unicode escape sequence'))).toBe(false);
    expect(isTransientConflict(pgError('57P01', 'terminating connection due to administrator command'))).toBe(false);
    expect(isTransientConflict('40P01')).toBe(false);
  });
});

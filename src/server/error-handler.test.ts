import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toEimError } from './error-handler.ts';

const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code });

test('a lost or refused store connection, or a statement a migration just made stale, is unavailable (503, retry), not internal', () => {
  const lost = [
    coded('EPIPE', 'write EPIPE'),
    coded('ECONNRESET'),
    coded('ECONNREFUSED'),
    coded('ETIMEDOUT'),
    coded('57P01', 'terminating connection due to administrator command'),
    coded('57P02'),
    coded('08006', 'connection failure'),
    coded('08003'),
    coded('0A000', 'cached plan must not change result type'),
    new Error('Connection terminated unexpectedly'),
    new Error('Client has encountered a connection error and is not queryable'),
    new Error('Client was closed and is not queryable'),
  ];
  for (const e of lost) assert.equal(toEimError(e).code, 'unavailable', String(e));
});

test('other errors stay internal, also those whose text merely mentions a connection', () => {
  const others = [
    coded('23505', 'duplicate key value violates unique constraint'),
    coded('42P01', 'relation does not exist'),
    coded('0800', 'not a class 08 code'),
    coded('0A000', 'feature not supported'),
    coded('EPIPE2'),
    new Error('Connection terminated unexpectedly, said the user'),
    new TypeError('cannot read properties of undefined'),
    'a string',
    undefined,
  ];
  for (const e of others) assert.equal(toEimError(e).code, 'internal', String(e));
});

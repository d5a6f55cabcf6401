import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { createTestDatabase, PG_URL, pgReachable } from '../../testing/test-stores.ts';
import { PREPARED_MAX_TEXT, PREPARED_PER_CONNECTION, PreparedClient } from './prepared-client.ts';

/** What the session of `client` holds prepared, by statement text. */
async function sessionStatements(client: pg.Client): Promise<string[]> {
  return (await client.query('select statement from pg_prepared_statements')).rows.map((r) => r.statement as string);
}

async function withClient(fn: (client: PreparedClient, db: { url: string }) => Promise<void>): Promise<void> {
  const db = await createTestDatabase();
  const client = new PreparedClient({ connectionString: db.url });
  try {
    await client.connect();
    await fn(client, db);
  } finally {
    await client.end().catch(() => {});
    await db.drop();
  }
}

test('postgres: a parameterised statement is prepared once per connection and run by name after', async (t) => {
  if (!(await pgReachable())) return void t.skip(`PostgreSQL not reachable at ${PG_URL}`);
  await withClient(async (client) => {
    const text = 'select $1::int + 1 as v';
    for (let i = 0; i < 3; i++) assert.equal((await client.query(text, [i])).rows[0].v, i + 1);
    assert.deepEqual(await sessionStatements(client), [text], 'one prepared statement for three runs');
    // Without parameters, or with a config object, statements run as pg runs them.
    await client.query('select 1');
    await client.query({ text: 'select $1::text as s', values: ['x'] });
    assert.deepEqual(await sessionStatements(client), [text]);
    // Too long to keep: run unnamed.
    const long = `select $1::int as v /* ${'x'.repeat(PREPARED_MAX_TEXT)} */`;
    assert.equal((await client.query(long, [5])).rows[0].v, 5);
    assert.deepEqual(await sessionStatements(client), [text]);
  });
});

test('postgres: a connection keeps at most PREPARED_PER_CONNECTION statements, the least recently used deallocated', async (t) => {
  if (!(await pgReachable())) return void t.skip(`PostgreSQL not reachable at ${PG_URL}`);
  await withClient(async (client) => {
    const hot = 'select $1::int * 2 as v';
    const n = PREPARED_PER_CONNECTION + 40;
    for (let i = 0; i < n; i++) {
      // Distinct texts, as a tenant's list filters would make; each answer still right.
      assert.equal((await client.query(`select $1::int + ${i} as v`, [1])).rows[0].v, 1 + i);
      assert.equal((await client.query(hot, [i])).rows[0].v, 2 * i, 'the statement used all along stays prepared and right');
    }
    const held = await sessionStatements(client);
    assert.ok(held.length <= PREPARED_PER_CONNECTION, `the session holds ${held.length}`);
    assert.equal(client.preparedCount, held.length, 'what the client counts is what the session holds');
    assert.ok(held.includes(hot), 'the hot statement was not evicted');
    assert.ok(!held.includes('select $1::int + 0 as v'), 'the oldest one-off was');
  });
});

test("postgres: a prepared statement whose table's columns changed (another server's migration) heals", async (t) => {
  if (!(await pgReachable())) return void t.skip(`PostgreSQL not reachable at ${PG_URL}`);
  await withClient(async (client, db) => {
    await client.query('create table t (a int)');
    await client.query('insert into t values (1)');
    const text = 'select * from t where a = $1';
    assert.deepEqual((await client.query(text, [1])).rows, [{ a: 1 }]);
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query('alter table t add column b int default 7');
    } finally {
      await other.end();
    }
    // Outside a transaction: run again unnamed, with the new columns.
    assert.deepEqual((await client.query(text, [1])).rows, [{ a: 1, b: 7 }]);
    assert.deepEqual((await client.query(text, [1])).rows, [{ a: 1, b: 7 }], 'prepared again');
    await client.query('alter table t add column c int default 8');
    // Inside one: the error stands (the transaction is aborted), and the next run prepares it anew.
    await client.query('begin');
    await assert.rejects(client.query(text, [1]), /cached plan must not change result type/);
    await client.query('rollback');
    assert.deepEqual((await client.query(text, [1])).rows, [{ a: 1, b: 7, c: 8 }]);
    assert.deepEqual((await client.query(text, [1])).rows, [{ a: 1, b: 7, c: 8 }]);
    assert.equal((await sessionStatements(client)).filter((s) => s === text).length, 1, 'the stale ones were deallocated');
  });
});

test('postgres: a statement whose parse a failed transaction refused is never deallocated later (that would abort a healthy transaction)', async (t) => {
  if (!(await pgReachable())) return void t.skip(`PostgreSQL not reachable at ${PG_URL}`);
  await withClient(async (client) => {
    await client.query('begin');
    await assert.rejects(client.query('select $1::int / 0 as v', [1]), /division by zero/);
    // Its parse is refused (the transaction is aborted): the session never holds this name.
    await assert.rejects(client.query('select $1::int + 100 as v', [1]), /current transaction is aborted/);
    await client.query('rollback');
    // A transaction that evicts every earlier statement must commit.
    await client.query('begin');
    for (let i = 0; i < PREPARED_PER_CONNECTION + 5; i++) assert.equal((await client.query(`select $1::int + ${1000 + i} as v`, [1])).rows[0].v, 1001 + i);
    const r = await client.query('commit');
    assert.equal(r.command, 'COMMIT', 'not rolled back by a failed deallocate');
    assert.ok((await sessionStatements(client)).length <= PREPARED_PER_CONNECTION);
  });
});

test('postgres: a statement whose parameters could not be bound is prepared anew, not lost for the connection', async (t) => {
  if (!(await pgReachable())) return void t.skip(`PostgreSQL not reachable at ${PG_URL}`);
  await withClient(async (client) => {
    const text = 'select $1::text as v';
    const unbindable = {
      toPostgres() {
        throw new Error('cannot be a parameter');
      },
    };
    await assert.rejects(client.query(text, [unbindable]), /cannot be a parameter/);
    assert.equal((await client.query(text, ['a'])).rows[0].v, 'a');
    assert.equal((await client.query(text, ['b'])).rows[0].v, 'b');
    await client.query('begin');
    assert.equal((await client.query(text, ['c'])).rows[0].v, 'c', 'inside a transaction too');
    await client.query('commit');
  });
});

test("postgres: after one connection meets a stale plan, the process's other connections prepare afresh instead of failing too", async (t) => {
  if (!(await pgReachable())) return void t.skip(`PostgreSQL not reachable at ${PG_URL}`);
  await withClient(async (a, db) => {
    const b = new PreparedClient({ connectionString: db.url });
    await b.connect();
    try {
      await a.query('create table t (x int)');
      await a.query('insert into t values (1)');
      const text = 'select * from t where x = $1';
      for (const c of [a, b]) assert.deepEqual((await c.query(text, [1])).rows, [{ x: 1 }]);
      await a.query('alter table t add column y int default 2');
      assert.deepEqual((await a.query(text, [1])).rows, [{ x: 1, y: 2 }], 'healed outside a transaction');
      await b.query('begin');
      assert.deepEqual((await b.query(text, [1])).rows, [{ x: 1, y: 2 }], 'the other connection, inside a transaction, prepared it afresh');
      await b.query('commit');
    } finally {
      await b.end();
    }
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { createTestDatabase, PG_URL, pgReachable } from '../../testing/test-stores.ts';
import { until } from '../../testing/until.ts';
import { AdvisoryLease } from './advisory-lease.ts';

/** For `until`: the leases retry every 50 ms, so a hand-over shows within a few polls. */
const POLL = { timeoutMs: 5000, intervalMs: 10 };

test('postgres: one advisory lease holder at a time; stopping, or losing the session, hands it over', async (t) => {
  if (!(await pgReachable())) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
  const db = await createTestDatabase();
  const log: string[] = [];
  const lease = (name: string) =>
    new AdvisoryLease({ url: db.url, keys: [424242, 7], intervalMs: 50, acquired: () => void log.push(`${name} acquired`), lost: () => void log.push(`${name} lost`) });
  const a = lease('a');
  const b = lease('b');
  const c = lease('c');
  try {
    await a.start();
    await b.start();
    assert.deepEqual([a.held, b.held], [true, false]);
    await new Promise((r) => setTimeout(r, 200)); // b keeps trying meanwhile
    assert.deepEqual(log, ['a acquired']);

    // A clean stop releases it; b takes it at its next try.
    await a.stop();
    await until(() => b.held, 'b to take over', POLL);
    assert.deepEqual(log, ['a acquired', 'a lost', 'b acquired']);

    // b's session ends from the outside (a crashed holder, a network cut): b hears it lost, c takes it.
    await c.start();
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query("select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and objid = 7 and classid = 424242 and granted");
    await admin.end();
    await until(() => log.includes('b lost'), 'b to notice', POLL);
    await until(() => b.held || c.held, 'someone to hold it again', POLL);
    assert.equal([b.held, c.held].filter(Boolean).length, 1, 'exactly one holder');
  } finally {
    await Promise.all([a.stop(), b.stop(), c.stop()]);
    await db.drop();
  }
});

test('postgres: a holder whose session ends gives the lease up at once, before another can take it', async (t) => {
  if (!(await pgReachable())) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
  const db = await createTestDatabase();
  const log: string[] = [];
  // a checks its session only every 10 s; b tries every 50 ms.
  const a = new AdvisoryLease({ url: db.url, keys: [424242, 8], intervalMs: 10_000, acquired: () => void log.push('a acquired'), lost: () => void log.push('a lost') });
  const b = new AdvisoryLease({ url: db.url, keys: [424242, 8], intervalMs: 50, acquired: () => void log.push('b acquired'), lost: () => void log.push('b lost') });
  try {
    await a.start();
    await b.start();
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query("select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and objid = 8 and classid = 424242 and granted");
    await admin.end();
    await until(() => b.held, 'b to take over', POLL);
    // Had a waited for its next check, both would run what only one may for up to 10 s.
    assert.deepEqual(log, ['a acquired', 'a lost', 'b acquired']);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    await db.drop();
  }
});

import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import type { Resource } from '../../api/index.ts';
import { interceptPgQueries, openTestStore, PG_URL, pgReachable, queryDatabase, terminateSessions, type TestStore } from '../../testing/test-stores.ts';
import type { KyselyStore } from '../kysely-store.ts';

// A PostgreSQL write batch runs on one connection in pipeline mode (runBatch): its reads go out with
// the revision lock and its last writes with its events. These are the ways a batch can fail there;
// each must leave no transaction open and a pool that serves the next write.

const P = 'default';
const region = (name: string): Omit<Resource, 'revision' | 'createdAt' | 'updatedAt'> => ({ kind: 'Region', id: `region-${name.padStart(8, '0')}`, project: P, name, labels: {}, generation: 1, spec: {}, status: {} });
const create = (store: KyselyStore, name: string, after?: () => Promise<void>) =>
  store.write(
    async (tx) => {
      const r = (await tx.insertIfFree(region(name), 'test')).resource!;
      await after?.();
      return r;
    },
    { creates: [{ project: P, kind: 'Region', name }] },
  );

/** Sessions of the test database left inside a transaction. */
async function openTransactions(ts: TestStore): Promise<number> {
  const [{ n }] = await queryDatabase(ts.location, `select count(*)::int as n from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'`);
  return n as number;
}

/**
 * What every failure here must leave: each write answered as `answers` says (its name, or its
 * error), the regions `logged` in the event log once each since `mark`, and no session left inside
 * a transaction.
 */
async function assertLanded(ts: TestStore, mark: number, made: PromiseSettledResult<Resource>[], answers: string[], logged: string[]): Promise<void> {
  assert.deepEqual(
    made.map((m) => (m.status === 'fulfilled' ? m.value.name : String(m.reason))),
    answers,
  );
  const events = await ts.store.readEvents({ after: mark, limit: 10 });
  assert.deepEqual(events.map((e) => e.id).sort(), logged.map((n) => region(n).id), 'only these are logged, once each');
  assert.equal(await openTransactions(ts), 0, 'no connection was left inside a transaction');
}

test('postgres: a batch failed by one write rolls back; the others commit when retried alone, and the pool serves on', async (t) => {
  if (!(await pgReachable())) return void t.skip(`no PG at ${PG_URL}`);
  const ts = await openTestStore('postgres');
  try {
    const mark = await ts.store.currentRevision();
    const made = await Promise.allSettled([
      create(ts.store, 'a'),
      create(ts.store, 'b', async () => {
        throw new Error('not a refusal');
      }),
      create(ts.store, 'c'),
    ]);
    await assertLanded(ts, mark, made, ['a', 'Error: not a refusal', 'c'], ['a', 'c']);
    assert.equal((await create(ts.store, 'd')).name, 'd');
  } finally {
    await ts.cleanup();
  }
});

test('postgres: a batch whose connection is killed mid-way fails over to fresh connections; every write lands once', async (t) => {
  if (!(await pgReachable())) return void t.skip(`no PG at ${PG_URL}`);
  const ts = await openTestStore('postgres');
  try {
    await create(ts.store, 'warm'); // the pool has a connection to kill
    const mark = await ts.store.currentRevision();
    let killed = 0;
    const kill = async () => {
      if (killed > 0) return;
      // Every session of the store's database but our own: its batch connection among them.
      killed = await terminateSessions(ts.location);
    };
    const made = await Promise.allSettled([create(ts.store, 'a'), create(ts.store, 'b', kill), create(ts.store, 'c')]);
    assert.ok(killed > 0, 'the batch connection was killed');
    await assertLanded(ts, mark, made, ['a', 'b', 'c'], ['a', 'b', 'c']);
    assert.equal((await create(ts.store, 'd')).name, 'd');
  } finally {
    await ts.cleanup();
  }
});

/**
 * Three creates made together (one batch) on a warmed store while `intercept` sees every pg
 * statement of this process; `check` gets the revision before them and what each answered.
 */
async function threeCreatesUnder(t: TestContext, intercept: Parameters<typeof interceptPgQueries>[0], check: (ts: TestStore, mark: number, made: PromiseSettledResult<Resource>[]) => Promise<void>): Promise<void> {
  if (!(await pgReachable())) return void t.skip(`no PG at ${PG_URL}`);
  const ts = await openTestStore('postgres');
  let restore = () => {};
  try {
    await create(ts.store, 'warm');
    const mark = await ts.store.currentRevision();
    restore = interceptPgQueries(intercept);
    const made = await Promise.allSettled([create(ts.store, 'a'), create(ts.store, 'b'), create(ts.store, 'c')]);
    restore();
    await check(ts, mark, made);
  } finally {
    restore();
    await ts.cleanup();
  }
}

/** A look at the event log (whether a commit whose answer was lost happened). */
const isLogLookup = (text: string) => text.includes('from "eim_events" where "revision" =');

test('postgres: a batch that fails before its COMMIT was sent is retried write by write, not answered as unconfirmed', async (t) => {
  // The batch's revision lock fails as a lost connection would, and so would a look at the log:
  // a store that asked the log would have to answer "unconfirmed" to every write.
  const injected = { lock: 0, logLookups: 0 };
  await threeCreatesUnder(
    t,
    (text, send) => {
      if (injected.lock === 0 && text.includes('eim_meta where id = 1 for update')) {
        injected.lock++;
        return Promise.reject(new Error('Connection terminated unexpectedly'));
      }
      if (isLogLookup(text)) {
        injected.logLookups++;
        return Promise.reject(new Error('Connection terminated unexpectedly'));
      }
      return send();
    },
    async (ts, mark, made) => {
      assert.equal(injected.lock, 1, 'the fault was injected');
      assert.equal(injected.logLookups, 0, 'no COMMIT was sent, so the log was not asked');
      await assertLanded(ts, mark, made, ['a', 'b', 'c'], ['a', 'b', 'c']);
    },
  );
});

test('postgres: a statement pg refuses before sending it (the last writes) fails the batch before its COMMIT is sent: retried write by write, not committed without it', async (t) => {
  // The batch's events statement fails without reaching the database, as one pg cannot bind
  // does: the transaction is not aborted by it, so a COMMIT sent behind it would keep the rest.
  // A look at the log fails too: a store that asked it would answer "unconfirmed".
  const injected = { events: 0, logLookups: 0 };
  await threeCreatesUnder(
    t,
    (text, send) => {
      if (injected.events === 0 && text.startsWith('with ev as (insert into eim_events')) {
        injected.events++;
        return Promise.reject(new Error('could not bind parameter'));
      }
      if (isLogLookup(text)) {
        injected.logLookups++;
        return Promise.reject(new Error('Connection terminated unexpectedly'));
      }
      return send();
    },
    async (ts, mark, made) => {
      assert.equal(injected.events, 1, 'the fault was injected');
      assert.equal(injected.logLookups, 0, 'no COMMIT was sent, so the log was not asked');
      await assertLanded(ts, mark, made, ['a', 'b', 'c'], ['a', 'b', 'c']);
    },
  );
});

test("postgres: a batch's COMMIT goes out behind its last statements, before their answers", async (t) => {
  const log: string[] = [];
  const short = (text: string) => (text === 'commit' || text === 'begin' ? text : text.startsWith('with ev as') ? 'events' : text.startsWith('insert into "eim_resources"') ? 'resources' : undefined);
  await threeCreatesUnder(
    t,
    (text, send) => {
      const name = short(text);
      if (!name) return send();
      log.push(`sent ${name}`);
      const r = send();
      if (r instanceof Promise) void r.then(() => log.push(`answered ${name}`), () => log.push(`failed ${name}`));
      return r;
    },
    async (ts, mark, made) => {
      await assertLanded(ts, mark, made, ['a', 'b', 'c'], ['a', 'b', 'c']);
      const sent = log.filter((l) => l.startsWith('sent'));
      assert.deepEqual(sent.slice(sent.lastIndexOf('sent begin')), ['sent begin', 'sent resources', 'sent events', 'sent commit'], log.join(', '));
      const commitSent = log.lastIndexOf('sent commit');
      assert.ok(commitSent < log.lastIndexOf('answered events'), `COMMIT was sent before the events were answered: ${log.join(', ')}`);
    },
  );
});

test('postgres: a batch whose last statement fails rolls back (COMMIT answers ROLLBACK) and is retried write by write, without asking the log', async (t) => {
  const injected = { events: 0, rollbacks: 0, logLookups: 0 };
  await threeCreatesUnder(
    t,
    (text, send, sendInstead) => {
      if (isLogLookup(text)) injected.logLookups++;
      if (injected.events === 0 && text.startsWith('with ev as (insert into eim_events')) {
        injected.events++;
        return sendInstead('select 1/0'); // a real error: the transaction is aborted
      }
      const r = send();
      if (injected.events === 1 && text === 'commit' && r instanceof Promise) void r.then((a: { command?: string }) => a.command === 'ROLLBACK' && injected.rollbacks++);
      return r;
    },
    async (ts, mark, made) => {
      assert.equal(injected.events, 1, 'the fault was injected');
      assert.equal(injected.rollbacks, 1, 'the COMMIT sent behind it answered ROLLBACK');
      assert.equal(injected.logLookups, 0, 'the outcome was known: the log was not asked');
      await assertLanded(ts, mark, made, ['a', 'b', 'c'], ['a', 'b', 'c']);
    },
  );
});

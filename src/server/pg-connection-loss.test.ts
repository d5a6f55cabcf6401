import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnServer } from '../testing/server-process.ts';
import { call } from '../testing/http-client.ts';
import { createTestDatabase, PG_URL, pgReachable, tempDir, terminateSessions } from '../testing/test-stores.ts';

// A server on PostgreSQL whose database connections are all ended under it (the database restarts,
// a failover, an administrator's pg_terminate_backend) while it commits writes: it must live on,
// answer every request, and write again on fresh connections. A connection checked out by a write
// batch between two statements used to have no 'error' listener: its error was an uncaught
// exception that ended the process.

/** The server's logged errors (pino level 50 and up), for a failure's message. */
const errorsLogged = (out: string) =>
  out
    .split('\n')
    .filter((l) => /"level":(50|60)/.test(l))
    .slice(-5)
    .join('\n');

test('postgres: a server whose database connections are all ended mid-write lives on and writes again', async (t) => {
  if (!(await pgReachable())) return void t.skip(`PostgreSQL not reachable at ${PG_URL}`);
  const db = await createTestDatabase();
  const tmp = tempDir();
  const server = await spawnServer(['--store', db.url, '--data-dir', tmp.dir]);
  try {
    const statuses = new Map<number, number>();
    let n = 0;
    let stop = false;
    const create = async () => (await call(`${server.url}/v1/projects/default/regions`, { method: 'POST', token: server.token, body: { name: `r-${n++}`, spec: {} }, timeoutMs: 15_000 })).status;
    const writers = Array.from({ length: 8 }, async () => {
      while (!stop) {
        const s = await create().catch(() => 0);
        statuses.set(s, (statuses.get(s) ?? 0) + 1);
      }
    });
    let ended = 0;
    for (let i = 0; i < 5; i++) {
      await sleep(300);
      ended += await terminateSessions(db.url);
    }
    await sleep(500);
    stop = true;
    await Promise.all(writers);
    assert.ok(ended >= 5, `sessions ended: ${ended}`);
    assert.equal(server.proc.exitCode, null, `the server is still running:\n${server.output().slice(-3000)}`);
    assert.equal(statuses.get(0) ?? 0, 0, `every request answered: ${JSON.stringify([...statuses])}`);
    assert.ok((statuses.get(201) ?? 0) > 0);
    const other = [...statuses.keys()].filter((s) => s !== 201 && s !== 503);
    assert.deepEqual(other, [], `answers other than 201 and 503 (unavailable): ${JSON.stringify([...statuses])}\n${errorsLogged(server.output())}`);
    // Afterwards every write lands.
    for (let i = 0; i < 10; i++) assert.equal(await create(), 201);
  } finally {
    await server.kill('SIGKILL');
    await db.drop();
    tmp.remove();
  }
});

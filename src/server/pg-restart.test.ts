import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { call } from '../testing/http-client.ts';
import { freePort } from '../testing/server-cluster.ts';
import { spawnServer } from '../testing/server-process.ts';
import { tempDir } from '../testing/test-stores.ts';

// The database itself stops and starts again under a running server (a restart, a failover that
// takes seconds): the server must live through it, answer 503 while the database is away (never a
// hang or a 500), and serve and write again once it is back, without a restart of its own. A
// throwaway cluster of our own, on a port of its own: the shared PostgreSQL is never stopped.

const BIN = '/usr/lib/postgresql/15/bin';

/** Runs a PostgreSQL tool as the postgres user (initdb and postgres refuse root). */
const asPostgres = (tool: string, args: string[]) => execFileSync('runuser', ['-u', 'postgres', '--', join(BIN, tool), ...args], { stdio: 'pipe' });

function canRunCluster(): string | undefined {
  if (!existsSync(join(BIN, 'initdb'))) return `no PostgreSQL 15 binaries in ${BIN}`;
  if (process.getuid?.() !== 0) return 'not root: cannot run the cluster as the postgres user';
  if (spawnSync('runuser', ['-u', 'postgres', '--', 'true']).status !== 0) return 'runuser -u postgres does not work here';
  return undefined;
}

test('postgres: a server lives through its database stopping and starting again, answering 503 meanwhile, and writes again after', async (t) => {
  const why = canRunCluster();
  if (why) return void t.skip(why);
  const root = mkdtempSync(join(tmpdir(), 'eim-pgrestart-'));
  chownSync(root, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
  const data = join(root, 'data');
  const port = await freePort();
  const pgCtl = (...args: string[]) => asPostgres('pg_ctl', ['-D', data, '-l', join(root, 'log'), '-w', '-t', '30', ...args]);
  asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  // Its socket in the temp dir, TCP on 127.0.0.1 only; fsync off: this test is about outages, not durability.
  const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off`;
  pgCtl('start', '-o', options);
  const tmp = tempDir();
  let server: Awaited<ReturnType<typeof spawnServer>> | undefined;
  try {
    asPostgres('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'eim']);
    server = await spawnServer(['--store', `postgres://postgres@127.0.0.1:${port}/eim`, '--data-dir', tmp.dir]);
    const s = server;
    let n = 0;
    const create = async () => (await call(`${s.url}/v1/projects/default/regions`, { method: 'POST', token: s.token, body: { name: `r-${n++}`, spec: {} }, timeoutMs: 20_000 })).status;
    assert.equal(await create(), 201);

    // Eight writers throughout: the database stops under batches in flight.
    const answers = new Map<number, number>();
    let stop = false;
    const writers = Array.from({ length: 8 }, async () => {
      while (!stop) {
        const status = await create().catch(() => 0);
        answers.set(status, (answers.get(status) ?? 0) + 1);
        if (status !== 201) await sleep(50);
      }
    });
    await sleep(500);
    pgCtl('stop', '-m', 'fast');
    await sleep(1500);
    const ready = await call(`${s.url}/readyz`, { timeoutMs: 20_000 });
    assert.equal(ready.status, 503, 'not ready while the database is away');
    assert.ok((answers.get(503) ?? 0) > 0, `writes were refused while the database was away: ${JSON.stringify([...answers])}`);

    pgCtl('start', '-o', options);
    // Back: writes land again within a few seconds, on fresh connections.
    const before = answers.get(201) ?? 0;
    for (let i = 0; i < 80 && (answers.get(201) ?? 0) < before + 20; i++) await sleep(100);
    stop = true;
    await Promise.all(writers);
    assert.ok((answers.get(201) ?? 0) >= before + 20, `writes after the database came back: ${JSON.stringify([...answers])}\n${s.output().slice(-2000)}`);
    const other = [...answers.keys()].filter((x) => x !== 201 && x !== 503);
    assert.deepEqual(other, [], `every answer 201 or 503 (no hang, no 500): ${JSON.stringify([...answers])}`);
    for (let i = 0; i < 5; i++) assert.equal(await create(), 201);
    assert.equal((await call(`${s.url}/readyz`, { timeoutMs: 20_000 })).status, 200);
    assert.equal(s.proc.exitCode, null, 'the server never exited');
  } finally {
    await server?.kill('SIGKILL');
    try {
      pgCtl('stop', '-m', 'immediate');
    } catch {
      // stopped already
    }
    rmSync(root, { recursive: true, force: true });
    tmp.remove();
  }
});

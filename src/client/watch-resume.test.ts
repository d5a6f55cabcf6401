import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type EventType, isEimError } from '../api/index.ts';
import { type ServerProcess, spawnServer } from '../testing/server-process.ts';
import { createTestDatabase, DIALECTS, PG_URL, pgReachable, tempDir } from '../testing/test-stores.ts';
import { InventoryClient } from './inventory-client.ts';

// Issue 3's acceptance test: a client watches a real `eim server` process while another client
// writes; the server is SIGKILLed mid-way and started again on the same store and port. The watch,
// left alone by the test, must resume by itself (Last-Event-ID) and deliver every acknowledged
// write exactly once, in revision order, with no gap.

const P = 'default';
const WRITES = 200;
const KILL_AFTER = 50;

/** Starts `eim server` on `port`, retrying while the port is still held by the killed process. */
async function startOn(args: string[], port: number): Promise<ServerProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnServer([...args, '--port', String(port)]);
    } catch (e) {
      if (attempt >= 10 || !/EADDRINUSE/.test(String(e))) throw e;
      await sleep(200);
    }
  }
}

interface Seen {
  revision: number;
  type: EventType;
  id: string;
}

for (const dialect of DIALECTS) {
  test(`a watching client resumes across a SIGKILL and restart without losing an event (${dialect})`, async (t) => {
    if (dialect === 'postgres' && !(await pgReachable())) return t.skip(`PostgreSQL not reachable at ${PG_URL}: skipped`);
    // Undone last first.
    const cleanups: (() => unknown)[] = [];
    t.after(async () => {
      for (const c of cleanups.reverse()) await c();
    });
    const tmp = tempDir();
    cleanups.push(() => tmp.remove());
    const args = ['--data-dir', tmp.dir];
    if (dialect === 'postgres') {
      const db = await createTestDatabase();
      cleanups.push(() => db.drop());
      args.push('--store', db.url);
    }
    let server = await spawnServer(args);
    cleanups.push(() => server.kill('SIGKILL'));
    const port = Number(new URL(server.url).port);

    const watcher = new InventoryClient({ server: server.url, token: server.token });
    const writer = new InventoryClient({ server: server.url, token: server.token });
    cleanups.push(() => (watcher.close(), writer.close()));

    const since = (await watcher.list(P, 'Region', { pageSize: 1 })).revision;
    const seen: Seen[] = [];
    let watchFailure: unknown;
    const abort = new AbortController();
    cleanups.push(() => abort.abort());
    const consuming = (async () => {
      for await (const item of watcher.watch({ project: P, since, signal: abort.signal })) {
        if (item.type !== 'event') continue;
        const e = item.event();
        assert.equal(e.revision, item.revision);
        seen.push({ revision: e.revision, type: e.type, id: e.id });
      }
    })().catch((e) => (watchFailure = e));

    const acked: Seen[] = [];
    const created: string[] = [];
    let lost = 0;
    const write = async (i: number) => {
      try {
        if (i % 4 === 3) {
          const r = await writer.update(P, 'Region', created[created.length - 1], { labels: { touched: String(i) } });
          acked.push({ revision: r.revision, type: 'UPDATED', id: r.id });
        } else {
          const r = await writer.create(P, 'Region', { name: `r-${i}`, labels: { batch: i < WRITES / 2 ? 'a' : 'b' }, spec: {} });
          created.push(r.id);
          acked.push({ revision: r.revision, type: 'CREATED', id: r.id });
        }
      } catch (e) {
        // Only the write in flight while the server dies may fail; it may or may not have committed.
        if (!isEimError(e) || e.code !== 'unavailable') throw e;
        lost++;
      }
    };

    let ackedBeforeKill = 0;
    for (let i = 0; i < WRITES; i++) {
      if (acked.length === KILL_AFTER && ackedBeforeKill === 0) {
        ackedBeforeKill = acked.length;
        const inFlight = write(i); // goes out as the server dies
        await server.kill('SIGKILL');
        await inFlight;
        server = await startOn(args, port);
        assert.equal(server.url, `http://127.0.0.1:${port}`, 'the same address, so the clients need no new URL');
        continue;
      }
      await write(i);
    }
    assert.equal(ackedBeforeKill, KILL_AFTER);
    assert.ok(lost <= 1, `only the write in flight may be lost (lost ${lost})`);
    assert.ok(acked.length >= WRITES - 1);

    const head = (await writer.list(P, 'Region', { pageSize: 1 })).revision;
    const deadline = Date.now() + 20_000;
    while ((seen.at(-1)?.revision ?? since) < head && watchFailure === undefined) {
      if (Date.now() > deadline) assert.fail(`the watch stopped at revision ${seen.at(-1)?.revision} of ${head}:\n${server.output()}`);
      await sleep(20);
    }
    abort.abort();
    await consuming;
    assert.equal(watchFailure, undefined, `the watch failed: ${String(watchFailure)}`);

    const revisions = seen.map((s) => s.revision);
    assert.deepEqual(revisions, Array.from({ length: head - since }, (_, i) => since + i + 1), 'every revision exactly once, in order, no gap');
    const byRevision = new Map(seen.map((s) => [s.revision, s]));
    for (const a of acked) assert.deepEqual(byRevision.get(a.revision), a, `acknowledged write at revision ${a.revision}`);
    assert.ok(
      acked.some((a) => a.revision > acked[KILL_AFTER - 1].revision),
      'writes acknowledged after the restart were watched too',
    );
  });
}

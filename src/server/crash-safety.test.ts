import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { call, openSse, type SseFrame } from '../testing/http-client.ts';
import { type ServerProcess, spawnServer } from '../testing/server-process.ts';
import { createTestDatabase, DIALECTS, pgReachable, tempDir } from '../testing/test-stores.ts';

// A real server process is SIGKILLed in the middle of concurrent writes, then started again on the
// same store. Every write it acknowledged must be there at its acknowledged revision, and a watch
// opened before the crash resumes from its last event id with no gap.

for (const dialect of DIALECTS) {
  describe(`crash safety (${dialect})`, () => {
    const cleanups: (() => Promise<void> | void)[] = [];
    after(async () => {
      for (const c of cleanups.reverse()) await c();
    });

    test('SIGKILL under 8 concurrent writers loses no acknowledged write and no event', async (t) => {
      if (dialect === 'postgres' && !(await pgReachable())) return t.skip('PostgreSQL not reachable: skipped');
      const tmp = tempDir();
      cleanups.push(() => tmp.remove());
      const args = ['--data-dir', tmp.dir];
      if (dialect === 'postgres') {
        const db = await createTestDatabase();
        cleanups.push(() => db.drop());
        args.push('--store', db.url);
      }
      let server: ServerProcess = await spawnServer(args);
      cleanups.push(() => server.kill('SIGKILL'));
      const base = `${server.url}/v1/projects/default`;

      const seen: number[] = [];
      const watch = await openSse(`${base}/watch?since=0`, { token: server.token }, (f: SseFrame) => {
        if (f.event !== 'BOOKMARK' && f.id) seen.push(Number(f.id));
      });

      const acked = new Map<string, number>(); // id → acknowledged revision
      let stop = false;
      const writer = async (w: number) => {
        for (let i = 0; !stop; i++) {
          try {
            const r = await call(`${base}/regions`, { method: 'POST', token: server.token, body: { name: `w${w}-r${i}`, labels: { writer: String(w) }, spec: {} } });
            if (r.status === 201) acked.set(r.json.id, r.json.revision);
            if (i % 3 === 2 && r.status === 201) {
              const p = await call(`${base}/regions/${r.json.id}`, { method: 'PATCH', token: server.token, body: { labels: { patched: 'yes' } } });
              if (p.status === 200) acked.set(p.json.id, p.json.revision);
            }
          } catch {
            return; // the server is gone
          }
        }
      };
      const writers = Array.from({ length: 8 }, (_, w) => writer(w));
      await new Promise((r) => setTimeout(r, 1500));
      await server.kill('SIGKILL');
      stop = true;
      await Promise.all(writers);
      watch.close();
      assert.ok(acked.size > 50, `expected some acknowledged writes before the crash, got ${acked.size}`);

      server = await spawnServer(args);
      const base2 = `${server.url}/v1/projects/default`;
      const all = new Map<string, number>();
      let token: string | undefined;
      do {
        const page = await call(`${base2}/regions?pageSize=1000${token ? `&pageToken=${token}` : ''}`, { token: server.token });
        assert.equal(page.status, 200);
        for (const item of page.json.items) all.set(item.id, item.revision);
        token = page.json.nextPageToken;
      } while (token);
      for (const [id, revision] of acked) {
        assert.ok(all.has(id), `acknowledged ${id} is missing after the crash`);
        // Later unacknowledged patches may have committed; the revision is never older than acknowledged.
        assert.ok(all.get(id)! >= revision, `${id} is at ${all.get(id)}, older than acknowledged ${revision}`);
      }

      // Resume the watch from the last event it got: the rest of the log arrives, no gap, no duplicate.
      const head = (await call(`${base2}/regions?pageSize=1`, { token: server.token })).json.revision as number;
      const resumed: number[] = [];
      const last = seen.at(-1) ?? 0;
      let caughtUp!: () => void;
      const done = new Promise<void>((resolve) => (caughtUp = resolve));
      const stream = await openSse(`${base2}/watch`, { token: server.token, lastEventId: String(last) }, (f) => {
        if (f.event !== 'BOOKMARK' && f.id) resumed.push(Number(f.id));
        if (Number(f.id) >= head) caughtUp();
      });
      if (last >= head) caughtUp();
      await done;
      stream.close();
      const revisions = [...seen, ...resumed];
      assert.deepEqual(revisions, Array.from({ length: head }, (_, i) => i + 1), 'the watch saw every revision exactly once, in order');
    });
  });
}

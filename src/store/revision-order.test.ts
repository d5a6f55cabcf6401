import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Caller, type Inventory, isEimError } from '../api/index.ts';
import { InventoryService } from '../inventory/index.ts';
import { DIALECTS, openTestStore, PG_URL, pgReachable } from '../testing/test-stores.ts';
import type { KyselyStore } from './kysely-store.ts';

// The proof ARCHITECTURE.md §3 asks for: with concurrent writers in several "processes" (store
// instances, each its own pool), revisions become visible in commit order. A reader that has seen
// revision N never later finds a new event at or below N, and every revision has its event.

const ADMIN: Caller = { subject: 'admin', grants: [{ project: '*', role: 'admin' }] };
const P = 'default';
const WRITERS = 8;
const WRITES_PER_WRITER = 150;
const DEADLINE_MS = 25_000;

/** One writer loop: creates its own regions and patches them; every 25th write is refused on purpose. */
async function writer(inv: Inventory, w: number, tally: { ok: number; refused: number; unexpected: string[] }): Promise<void> {
  const own: { id: string; revision: number }[] = [];
  for (let n = 0; n < WRITES_PER_WRITER; n++) {
    try {
      if (n % 25 === 24) {
        // A duplicate name, or a stale ifMatch: refused inside the revision lock, takes no revision.
        if (n % 50 === 49 && own.length > 0) await inv.update(P, 'Region', own[0].id, { labels: { stale: 'x' } }, { ifMatch: 1 });
        else await inv.create(P, 'Region', { name: 'taken', spec: {} });
        tally.unexpected.push(`writer ${w} write ${n} should have been refused`);
      } else if (own.length === 0 || n % 3 === 0) {
        const r = await inv.create(P, 'Region', { name: `w${w}-${n}`, labels: { writer: String(w) }, spec: {} });
        own.push(r);
        tally.ok++;
      } else {
        const target = own[(n * 7) % own.length];
        await inv.update(P, 'Region', target.id, { labels: { n: String(n) } });
        tally.ok++;
      }
    } catch (e) {
      if (isEimError(e) && e.code === 'conflict' && n % 25 === 24) tally.refused++;
      else tally.unexpected.push(`writer ${w} write ${n}: ${String(e)}`);
    }
  }
}

for (const dialect of DIALECTS) {
  test(`${dialect}: concurrent writers on separate store instances; watchers and pollers see 1..N in order with no gap`, async (t) => {
    if (dialect === 'postgres' && !(await pgReachable())) {
      return void t.skip(`PostgreSQL not reachable at ${PG_URL}; set EIM_TEST_PG_URL — the revision-order proof did NOT run`);
    }
    const ts = await openTestStore(dialect);
    const services: InventoryService[] = [];
    const deadline = AbortSignal.timeout(DEADLINE_MS);
    try {
      // PostgreSQL: three writer pools and a fourth for the watcher, like four server processes; the
      // watcher's hub learns of their commits only through NOTIFY and the log. SQLite is one process
      // by design (one connection per file; a second writing connection fails with SQLITE_BUSY), so
      // there the writer loops share one store and the watcher sits on it; the poller still reads
      // through a separate connection.
      const writerStores: KyselyStore[] = dialect === 'postgres' ? [ts.store, await ts.reopen(), await ts.reopen()] : [ts.store];
      const watchStore = dialect === 'postgres' ? await ts.reopen() : ts.store;
      const pollStore = await ts.reopen();
      const start = async (store: KyselyStore) => {
        const svc = new InventoryService(store);
        await svc.start();
        services.push(svc);
        return svc;
      };
      const writerServices: InventoryService[] = [];
      for (const s of writerStores) writerServices.push(await start(s));
      const watchService = watchStore === ts.store ? writerServices[0] : await start(watchStore);
      await writerServices[0].ensureProject(P);
      await writerServices[0].as(ADMIN).create(P, 'Region', { name: 'taken', spec: {} });

      let writesDone = false;
      let finalRevision = Infinity;

      /** Collects event revisions from a watch until it has reached finalRevision. */
      const watch = async (since: number) => {
        const got: number[] = [];
        const problems: string[] = [];
        let duringWrites = 0;
        for await (const item of watchService.as(ADMIN).watch({ project: P, since, signal: deadline, bookmarkMs: 100 })) {
          if (item.type === 'event') {
            const last = got.at(-1) ?? since;
            if (item.revision <= last) problems.push(`revision ${item.revision} delivered after ${last}`);
            const ev = item.event();
            if (ev.revision !== item.revision || ev.project !== P) problems.push(`event ${item.revision} carries ${ev.revision} of ${ev.project}`);
            got.push(item.revision);
            if (!writesDone) duringWrites++;
          }
          if ((got.at(-1) ?? since) >= finalRevision) break;
        }
        return { got, problems, duringWrites };
      };

      /** Pages through the log with readEvents while the writes run; each page must start at last + 1. */
      const poll = async () => {
        let last = 0;
        let pagesDuringWrites = 0;
        const problems: string[] = [];
        while (last < finalRevision && !deadline.aborted) {
          const page = await pollStore.readEvents({ after: last, limit: 100 });
          if (page.length === 0) {
            await sleep(3);
            continue;
          }
          page.forEach((e, i) => {
            if (e.revision !== last + 1 + i) problems.push(`page after ${last}: item ${i} is revision ${e.revision}`);
          });
          last = page[page.length - 1].revision;
          if (!writesDone) pagesDuringWrites++;
        }
        return { last, problems, pagesDuringWrites };
      };

      const fromStart = watch(0);
      const poller = poll();
      const tally = { ok: 0, refused: 0, unexpected: [] as string[] };
      const loops = Array.from({ length: WRITERS }, (_, w) => writer(writerServices[w % writerServices.length].as(ADMIN), w, tally));
      // A second watcher opens mid-way: its replay from `since` must join the live stream seamlessly.
      while (tally.ok < (WRITERS * WRITES_PER_WRITER) / 3 && !deadline.aborted) await sleep(5);
      const midSince = await pollStore.currentRevision();
      const fromMiddle = watch(midSince);
      await Promise.all(loops);
      finalRevision = await writerStores[0].currentRevision();
      writesDone = true;
      const [a, b, polled] = await Promise.all([fromStart, fromMiddle, poller]);

      // Order first: these are what a sequence-allocated revision breaks.
      assert.deepEqual(polled.problems, [], 'no page ever skipped a revision that appeared later');
      assert.deepEqual(a.problems, []);
      assert.deepEqual(b.problems, []);
      assert.deepEqual(tally.unexpected, []);
      assert.equal(tally.refused, WRITERS * Math.floor(WRITES_PER_WRITER / 25), 'every planned refusal was refused');
      assert.equal(finalRevision, tally.ok + 1, 'N = successful writes (plus the "taken" region): refusals took no revision');
      for (const s of [...writerStores, watchStore, pollStore]) assert.equal(await s.currentRevision(), finalRevision);
      const all = Array.from({ length: finalRevision }, (_, i) => i + 1);

      assert.equal(a.got.length, finalRevision, `the watcher from 0 got ${a.got.length} of ${finalRevision} events before the deadline`);
      assert.deepEqual(a.got, all, 'the watcher from 0 saw exactly 1..N in order');
      assert.ok(a.duringWrites > 0, 'the watcher received events live, while the writes ran');
      assert.deepEqual(b.got, all.slice(midSince), `the watcher from ${midSince} saw exactly ${midSince + 1}..N`);
      assert.equal(polled.last, finalRevision);
      assert.ok(polled.pagesDuringWrites > 0, 'the poller read pages while the writes ran');

      const logged = await pollStore.readEvents({ after: 0, limit: finalRevision + 10 });
      assert.deepEqual(logged.map((e) => e.revision), all, 'the log holds exactly one event per revision');
    } finally {
      for (const svc of services) await svc.stop();
      await ts.cleanup();
    }
  });
}

import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { test } from 'node:test';
import type { EventQuery, LoggedEvent } from '../store/index.ts';
import { call, openSse, type SseFrame } from '../testing/http-client.ts';
import { openTestApp } from '../testing/test-app.ts';
import { DIALECTS, PG_URL, pgReachable } from '../testing/test-stores.ts';

// The attack of issue 9 item 2 at a smaller scale: one editor makes a big resource and patches a
// label over and over. Every event carries the whole resource; memory must stay bounded by bytes
// (the watch hub's ring, an events page, a watch's catch-up chunk), and the events page and a
// watch from revision 0 must go on working.

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapUsed = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

const RING_BYTES = 512 * 1024;
const PAGE_BYTES = 256 * 1024;
const PATCHES = 100;
const MB = 1024 * 1024;

for (const dialect of DIALECTS) {
  test(`${dialect}: ${PATCHES} patches of a 200 kB resource keep the heap bounded; the events page and a watch from 0 still work`, async (t) => {
    if (dialect === 'postgres' && !(await pgReachable())) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
    const srv = await openTestApp({ dialect, listen: true, inventory: { ringBytes: RING_BYTES, eventsPageBytes: PAGE_BYTES } });
    t.after(() => srv.close());
    const editor = (await srv.tokens.issue({ subject: 'editor', grants: [{ project: 'default', role: 'editor' }] })).token;
    const base = `${srv.url}/v1/projects/default`;
    const os = {
      imageUrl: 'https://images.example.com/os.img', sha256: 'ab'.repeat(32), profileName: 'os', profileVersion: '1', osType: 'mutable', architecture: 'x86_64', kernelCommand: 'quiet',
    };
    // Its string fields have limits of their own (kernelCommand 4 KiB); labels (256 characters each) make it big.
    const labels = (bytes: number, prefix = 'k') => Object.fromEntries(Array.from({ length: Math.ceil(bytes / 256) }, (_, i) => [`${prefix}${i}`, 'x'.repeat(250)]));

    // The issue's 780 kB resource is refused outright: create, and a patch that would grow one past the limit.
    const huge = await call(`${base}/operating-systems`, { method: 'POST', token: editor, body: { name: 'huge', labels: labels(780_000), spec: os } });
    assert.equal(huge.status, 413, huge.body.slice(0, 300));
    assert.equal(huge.json.error.code, 'payload_too_large');
    assert.match(huge.json.error.message, /at most 262144/);

    const created = await call(`${base}/operating-systems`, { method: 'POST', token: editor, body: { name: 'big', labels: labels(200_000), spec: os } });
    assert.equal(created.status, 201, created.body.slice(0, 300));
    const id = created.json.id as string;
    const grow = await call(`${base}/operating-systems/${id}`, { method: 'PATCH', token: editor, body: { labels: labels(100_000, 'y') } });
    assert.equal(grow.status, 413, grow.body.slice(0, 300));

    const before = heapUsed();
    for (let i = 0; i < PATCHES; i++) {
      const r = await call(`${base}/operating-systems/${id}`, { method: 'PATCH', token: editor, body: { labels: { n: String(i) } } });
      assert.equal(r.status, 200, r.body.slice(0, 300));
    }
    const grown = heapUsed() - before;
    t.diagnostic(`${dialect}: heap grew ${(grown / MB).toFixed(1)} MB over ${((PATCHES * 200_000) / MB).toFixed(0)} MB of events`);
    assert.ok(grown < 10 * MB, `the heap grew ${(grown / MB).toFixed(1)} MB`);
    const held = srv.inventory.hub.held;
    assert.ok(held.bytes <= RING_BYTES, `the ring holds ${held.bytes} bytes, over its budget of ${RING_BYTES}`);
    assert.ok(held.events >= 1 && held.events < 10, `the ring holds ${held.events} events`);
    const head = srv.inventory.hub.last;

    // Log reads are counted from here: every page and chunk stays within its budget (or is one event).
    const pages: number[] = [];
    const readEventPage = srv.store.store.readEventPage.bind(srv.store.store);
    srv.store.store.readEventPage = async (q: EventQuery): Promise<{ events: LoggedEvent[]; more: boolean }> => {
      const page = await readEventPage(q);
      if (q.limit > 1) pages.push(page.events.length > 1 ? page.events.reduce((n, e) => n + Buffer.byteLength(e.json), 0) : 0);
      return page;
    };

    // GET /events?since=0&limit=1000 answers, with fewer events than asked, and paging reaches the head.
    const first = await call(`${base}/events?since=0&limit=1000`, { token: editor });
    assert.equal(first.status, 200, first.body.slice(0, 300));
    assert.ok(first.json.events.length >= 1 && first.json.events.length < 10, `${first.json.events.length} events in the first page`);
    assert.ok(Buffer.byteLength(first.body) <= PAGE_BYTES + 1024, `a page of ${first.body.length} bytes`);
    const seen: number[] = [];
    for (let since = 0; ; ) {
      const r = await call(`${base}/events?since=${since}&limit=1000`, { token: editor });
      assert.equal(r.status, 200);
      if (r.json.events.length === 0) break;
      seen.push(...r.json.events.map((e: { revision: number }) => e.revision));
      since = r.json.revision;
    }
    assert.equal(seen.length, PATCHES + 1);
    assert.deepEqual(seen, [...seen].sort((a, b) => a - b));
    assert.equal(seen.at(-1), head);

    // A watch from 0 delivers every event in order, reading the log in bounded chunks.
    const frames: SseFrame[] = [];
    let done!: () => void;
    const all = new Promise<void>((resolve) => (done = resolve));
    const watch = await openSse(`${base}/watch?since=0`, { token: editor }, (f) => {
      if (f.event === 'BOOKMARK') return;
      frames.push(f);
      if (Number(f.id) === head) done();
    });
    t.after(() => watch.close());
    const timer = setTimeout(() => done(), 20_000);
    await all;
    clearTimeout(timer);
    watch.close();
    assert.deepEqual(frames.map((f) => Number(f.id)), seen, `the watch delivered ${frames.length} of ${seen.length} events`);
    assert.equal(frames.at(-1)!.event, 'UPDATED');
    assert.ok(pages.length > 0, 'the events page and the watch read the log');
    assert.ok(Math.max(...pages) <= PAGE_BYTES, `a log read of ${Math.max(...pages)} bytes (budget ${PAGE_BYTES})`);
  });
}

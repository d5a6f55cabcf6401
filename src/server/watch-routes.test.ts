import assert from 'node:assert/strict';
import http from 'node:http';
import type { Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { type SseFrame, SseParser } from '../client/index.ts';
import { InventoryService, type InventoryServiceOptions } from '../inventory/index.ts';
import { DIALECTS, type Dialect, openTestStore, PG_URL, pgReachable, tempDir } from '../testing/test-stores.ts';
import { until } from '../testing/until.ts';
import { buildApp } from './app.ts';
import { TokenService } from './auth/token-service.ts';

// The watch stream (ARCHITECTURE.md §3, §5) over a real socket: SSE framing, replay then live,
// resume, kinds, bookmarks, compaction and slow readers, on both stores.

const EVENT_KEYS = ['type', 'revision', 'kind', 'id', 'project', 'object', 'actor', 'at'];
const P = '/v1/projects/default';
const BOOKMARK_MS = 300;

interface Frame extends SseFrame {
  /** performance.now() when the frame was parsed. */
  at: number;
}

/** A Server-Sent Events reader over one http.get response: frames are queued as they arrive. */
class SseStream {
  readonly comments: string[] = [];
  ended = false;
  private readonly queue: Frame[] = [];
  private readonly parser = new SseParser((f) => this.queue.push({ ...f, at: performance.now() }), { onComment: (c) => this.comments.push(c.trim()) });
  private wake?: () => void;

  constructor(
    readonly req: http.ClientRequest,
    readonly res: http.IncomingMessage,
  ) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => this.feed(chunk));
    res.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
  }

  private feed(chunk: string): void {
    this.parser.push(chunk);
    this.wake?.();
  }

  /** Waits until `ready()` is true; throws after `timeoutMs` or when the stream ended first. */
  private async until(ready: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (this.ended) throw new Error(`the stream ended while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** Resolves once the server's opening comment arrived: from here on, every commit is delivered. */
  ready(timeoutMs = 5000): Promise<void> {
    return this.until(() => this.comments.length > 0, timeoutMs, 'opening comment');
  }

  async next(timeoutMs = 5000): Promise<Frame> {
    await this.until(() => this.queue.length > 0, timeoutMs, 'frame');
    return this.queue.shift()!;
  }

  /** The next `n` CREATED/UPDATED/DELETED frames, skipping bookmarks. */
  async events(n: number, timeoutMs = 10_000): Promise<Frame[]> {
    const out: Frame[] = [];
    const deadline = Date.now() + timeoutMs;
    while (out.length < n) {
      const f = await this.next(Math.max(1, deadline - Date.now())).catch((e: Error) => {
        throw new Error(`${e.message} (got ${out.length} of ${n} events, last ${out.at(-1)?.id})`);
      });
      if (f.event !== 'BOOKMARK') out.push(f);
    }
    return out;
  }

  /** Frames already received and not yet read. */
  pending(): Frame[] {
    return this.queue.splice(0);
  }

  close(): void {
    this.req.destroy();
  }
}

interface Harness {
  app: FastifyInstance;
  svc: InventoryService;
  base: string;
  admin: string;
  manager: string;
  sockets: Set<Socket>;
  call(method: string, url: string, body?: unknown, token?: string): Promise<{ status: number; body: any }>;
  watch(path: string, options?: { token?: string | null; headers?: Record<string, string> }): Promise<SseStream>;
  /** A watch expected to fail: its status, content-type and JSON body. */
  watchError(path: string, options?: { token?: string | null; headers?: Record<string, string> }): Promise<{ status: number; type: string; body: any }>;
  token(project: string, role: string): Promise<string>;
  close(): Promise<void>;
}

async function openHarness(dialect: Dialect, options: InventoryServiceOptions = {}): Promise<Harness> {
  const ts = await openTestStore(dialect);
  const svc = new InventoryService(ts.store, options);
  await svc.start();
  await svc.ensureProject('default');
  const tmp = tempDir();
  const issuer = await TokenService.open({ auth: ts.store.auth });
  const admin = (await issuer.issue({ subject: 'admin', grants: [{ project: '*', role: 'admin' }] })).token;
  const manager = (await issuer.issue({ subject: 'host-manager', grants: [{ project: '*', role: 'manager' }] })).token;
  const app = await buildApp({ inventory: svc, tokens: issuer, bookmarkMs: BOOKMARK_MS });
  const sockets = new Set<Socket>();
  app.server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const streams: SseStream[] = [];

  const get = (path: string, o: { token?: string | null; headers?: Record<string, string> } = {}) =>
    new Promise<{ req: http.ClientRequest; res: http.IncomingMessage }>((resolve, reject) => {
      const token = o.token === undefined ? admin : o.token;
      const req = http.get(`${base}${path}`, { headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}), ...o.headers } }, (res) => resolve({ req, res }));
      req.on('error', reject);
    });
  const readAll = (res: http.IncomingMessage) =>
    new Promise<string>((resolve) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });

  return {
    app,
    svc,
    base,
    admin,
    manager,
    sockets,
    async call(method, url, body, token = admin) {
      const r = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${token}` }, ...(body === undefined ? {} : { payload: body as object }) });
      return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
    },
    async watch(path, o) {
      const { req, res } = await get(path, o);
      if (res.statusCode !== 200) throw new Error(`watch ${path} answered ${res.statusCode}: ${await readAll(res)}`);
      assert.match(String(res.headers['content-type']), /^text\/event-stream/);
      assert.equal(res.headers['cache-control'], 'no-cache');
      const s = new SseStream(req, res);
      streams.push(s);
      await s.ready();
      return s;
    },
    async watchError(path, o) {
      const { res } = await get(path, o);
      const body = await readAll(res);
      return { status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: JSON.parse(body) };
    },
    async token(project, role) {
      return (await issuer.issue({ subject: `${role}-of-${project}`, grants: [{ project, role: role as 'viewer' }] })).token;
    },
    async close() {
      for (const s of streams) s.close();
      await app.close();
      await svc.stop();
      await ts.cleanup();
      tmp.remove();
    },
  };
}

async function withHarness(t: TestContext, dialect: Dialect, options?: InventoryServiceOptions): Promise<Harness | undefined> {
  if (dialect === 'postgres' && !(await pgReachable())) {
    t.skip(`PostgreSQL not reachable at ${PG_URL}`);
    return undefined;
  }
  const h = await openHarness(dialect, options);
  t.after(() => h.close());
  return h;
}

/** For `until`: in-process checks, so poll often and fail within 5 s. */
const POLL = { timeoutMs: 5000, intervalMs: 10 };

/** Asserts an SSE event frame: `id` is the revision, `event` the type, `data` the contract's event JSON. */
function parseEventFrame(f: Frame): Record<string, any> {
  assert.ok(['CREATED', 'UPDATED', 'DELETED'].includes(f.event), `event type ${f.event}`);
  const e = JSON.parse(f.data);
  assert.deepEqual(Object.keys(e), EVENT_KEYS);
  assert.equal(String(e.revision), f.id, 'id: is the revision');
  assert.equal(e.type, f.event, 'event: is the type');
  assert.equal(e.object.revision, e.revision);
  return e;
}

const revisionsOf = (frames: Frame[]) => frames.map((f) => Number(f.id));

for (const dialect of DIALECTS) {
  test(`watch stream on ${dialect}`, async (t) => {
    // A small ring, so replays of more than 50 events are read from the log, not from memory.
    const h = await withHarness(t, dialect, { ringSize: 50 });
    if (!h) return;
    const region = (name: string, labels: Record<string, string> = {}) => h.call('POST', `${P}/regions`, { name, labels, spec: {} });
    /** The revisions the log holds after `since` (the truth a watcher must match). */
    /** Every logged revision after `since`, paging on (a page stops at its byte budget). */
    const logged = async (since: number, kinds = '') => {
      const out: number[] = [];
      for (let from = since; ; ) {
        const r = await h.call('GET', `${P}/events?since=${from}&limit=1000${kinds ? `&kinds=${kinds}` : ''}`);
        const page = (r.body.events as { revision: number }[]).map((e) => e.revision);
        if (page.length === 0) return out;
        out.push(...page);
        from = r.body.revision;
      }
    };

    await t.test('frames are id: <revision>, event: <TYPE>, data: <event JSON>', async () => {
      const s = await h.watch(`${P}/watch`);
      const created = await region('framing', { a: '1' });
      assert.equal(created.status, 201);
      const patched = await h.call('PATCH', `${P}/regions/${created.body.id}`, { labels: { b: '2' } });
      const deleted = await h.call('DELETE', `${P}/regions/${created.body.id}`);
      const [c, u, d] = (await s.events(3)).map(parseEventFrame);
      assert.equal(c.type, 'CREATED');
      assert.deepEqual(c.object, created.body);
      assert.equal(u.type, 'UPDATED');
      assert.deepEqual(u.object, patched.body);
      assert.equal(d.type, 'DELETED');
      assert.deepEqual(d.object.labels, { a: '1', b: '2' }, 'DELETED carries the last state');
      assert.ok(d.revision > u.object.revision);
      for (const e of [c, u, d]) {
        assert.equal(e.kind, 'Region');
        assert.equal(e.id, created.body.id);
        assert.equal(e.project, 'default');
        assert.match(e.actor, /admin/);
        assert.equal(new Date(e.at).toISOString(), e.at);
      }
      assert.equal(deleted.status, 200);
      s.close();
    });

    await t.test('replay from ?since= then live, with no gap and no duplicate', async () => {
      const since = await h.svc.store.currentRevision();
      for (let i = 0; i < 120; i += 20) await Promise.all(Array.from({ length: 20 }, (_, j) => region(`replay-${i + j}`)));
      const s = await h.watch(`${P}/watch?since=${since}`);
      // Live writes race the replay on purpose.
      const live = (async () => {
        for (let i = 0; i < 30; i++) await region(`live-${i}`);
      })();
      const frames = await s.events(150);
      await live;
      frames.forEach(parseEventFrame);
      assert.deepEqual(revisionsOf(frames), await logged(since));
      await sleep(BOOKMARK_MS + 100);
      assert.deepEqual(s.pending().filter((f) => f.event !== 'BOOKMARK'), [], 'nothing after the last event');
      s.close();
    });

    await t.test('resume with Last-Event-ID after a disconnect: everything once, in order', async () => {
      const since = await h.svc.store.currentRevision();
      const s1 = await h.watch(`${P}/watch?since=${since}`);
      for (let i = 0; i < 10; i++) await region(`resume-a${i}`);
      const first = await s1.events(4);
      s1.close();
      await until(() => h.svc.stats.openWatches === 0, 'the server noticed the disconnect', POLL);
      for (let i = 0; i < 6; i++) await region(`resume-b${i}`);
      // Last-Event-ID wins over ?since=.
      const s2 = await h.watch(`${P}/watch?since=${since}`, { headers: { 'last-event-id': first.at(-1)!.id! } });
      const rest = await s2.events(12);
      const all = await logged(since);
      assert.deepEqual([...revisionsOf(first), ...revisionsOf(rest)], all);
      await sleep(BOOKMARK_MS + 100);
      assert.deepEqual(s2.pending().filter((f) => f.event !== 'BOOKMARK'), []);

      // Resuming from a bookmark's id skips nothing either.
      const bookmark = await s2.next(2000);
      assert.equal(bookmark.event, 'BOOKMARK');
      s2.close();
      await region('resume-c');
      const s3 = await h.watch(`${P}/watch`, { headers: { 'last-event-id': bookmark.id! } });
      assert.deepEqual(revisionsOf(await s3.events(1)), await logged(Number(bookmark.id)));
      s3.close();
      await until(() => h.svc.stats.openWatches === 0, 'every stream is released', POLL);
    });

    await t.test('kinds=hosts streams hosts only; bookmarks still advance past other kinds', async () => {
      const since = await h.svc.store.currentRevision();
      const s = await h.watch(`${P}/watch?kinds=hosts&since=${since}`);
      const r = await region('kinds-r');
      const host = await h.call('POST', `${P}/hosts`, { name: 'kinds-h', spec: {} });
      await h.call('POST', `${P}/sites`, { name: 'kinds-s', spec: { regionId: r.body.id } });
      await h.call('PATCH', `${P}/hosts/${host.body.id}`, { labels: { x: '1' } });
      const last = await region('kinds-r2');
      const frames = (await s.events(2)).map(parseEventFrame);
      assert.deepEqual(frames.map((e) => [e.type, e.kind, e.id]), [['CREATED', 'Host', host.body.id], ['UPDATED', 'Host', host.body.id]]);
      // Bookmarks only, until one reaches the head (on PostgreSQL the stream may send one before its
      // hub has read the last write: that one is valid, just not yet at the head).
      for (let i = 0; ; i++) {
        const b = await s.next(2000);
        assert.equal(b.event, 'BOOKMARK', 'nothing but the host events, then bookmarks');
        if (Number(b.id) >= last.body.revision) break;
        assert.ok(i < 5, `a bookmark after filtered-out writes reaches the head ${last.body.revision} (the last one is at ${b.id})`);
      }
      s.close();

      const mixed = await h.watch(`${P}/watch?kinds=Region,sites&since=${since}`);
      const m = (await mixed.events(3)).map(parseEventFrame);
      assert.deepEqual(m.map((e) => e.kind), ['Region', 'Site', 'Region']);
      mixed.close();
    });

    await t.test('an idle stream sends BOOKMARK frames with the revision', async () => {
      const head = (await region('bookmark')).body.revision as number;
      const s = await h.watch(`${P}/watch`);
      const opened = performance.now();
      const frames: Frame[] = [];
      while (performance.now() - opened < 4 * BOOKMARK_MS + 150) frames.push(await s.next(2000));
      for (const f of frames) {
        assert.equal(f.event, 'BOOKMARK');
        assert.deepEqual(JSON.parse(f.data), { revision: head });
        assert.equal(f.id, String(head));
      }
      // About one per BOOKMARK_MS (4 or 5 here). The bounds leave room for a loaded machine, where
      // arrivals may bunch up; the median gap shows they are paced, not flooded.
      assert.ok(frames.length >= 2 && frames.length <= 6, `${frames.length} bookmarks in ${4 * BOOKMARK_MS + 150} ms`);
      const gaps = frames.slice(1).map((f, i) => f.at - frames[i].at).sort((x, y) => x - y);
      assert.ok(gaps[Math.floor(gaps.length / 2)] >= BOOKMARK_MS - 50, `bookmark gaps ${gaps.map((g) => g.toFixed(0)).join(', ')} ms`);
      // An event resets the idle clock and moves the bookmark's revision.
      const next = (await region('bookmark-2')).body.revision as number;
      const [e] = await s.events(1);
      assert.equal(Number(e.id), next);
      const b = await s.next(2000);
      assert.equal(b.event, 'BOOKMARK');
      assert.deepEqual(JSON.parse(b.data), { revision: next });
      assert.ok(b.at - e.at >= BOOKMARK_MS / 2, 'an event restarts the idle time');
      s.close();
    });

    await t.test('a slow reader that stops reading gets every event, in order, when it resumes', async () => {
      await until(() => h.svc.stats.openWatches === 0, 'the earlier tests\' streams are released', POLL);
      const since = await h.svc.store.currentRevision();
      const s = await h.watch(`${P}/watch?since=${since}`);
      s.res.pause();
      const config = `#cloud-config\n# ${'x'.repeat(60_000)}\n`;
      let n = 0;
      const batch = async () => {
        await Promise.all(Array.from({ length: 20 }, (_, j) => h.call('POST', `${P}/custom-configs`, { name: `slow-${n + j}`, spec: { config } })));
        n += 20;
      };
      // Write until the socket buffers are full and the server waits for the reader, then some more.
      const blocked = () => [...h.sockets].some((sock) => sock.writableNeedDrain);
      while (!blocked()) {
        assert.ok(n < 1000, `the server never waited for the paused reader (${n} events of 60 kB written)`);
        await batch();
        await sleep(30);
      }
      await batch();
      t.diagnostic(`${dialect}: the server waited for the paused reader after ${n - 20} events of 60 kB`);
      await sleep(500);
      assert.equal(h.svc.stats.openWatches, 1, 'the slow reader is not dropped');
      assert.equal(s.ended, false);
      s.res.resume();
      const frames = await s.events(n, 20_000);
      assert.deepEqual(revisionsOf(frames), await logged(since));
      for (const f of frames) assert.equal(parseEventFrame(f).object.spec.config.length, config.length);
      s.close();
    });

    await t.test('errors come as JSON before any stream starts; cross-project watch is for managers', async () => {
      const bad = await h.watchError(`${P}/watch?kinds=spaceships`);
      assert.equal(bad.status, 400);
      assert.match(bad.type, /^application\/json/);
      assert.equal(bad.body.error.code, 'invalid_argument');
      assert.equal((await h.watchError(`${P}/watch`, { token: null })).body.error.code, 'unauthenticated');
      const editor = await h.token('default', 'editor');
      const denied = await h.watchError('/v1/watch', { token: editor });
      assert.equal(denied.status, 403);
      assert.equal(denied.body.error.code, 'permission_denied');
      assert.equal((await h.call('POST', '/v1/projects', { name: 'elsewhere' })).status, 201);
      const hidden = await h.watchError('/v1/projects/elsewhere/watch', { token: editor });
      assert.equal(hidden.status, 404);
      assert.equal(hidden.body.error.code, 'not_found');

      const since = await h.svc.store.currentRevision();
      const all = await h.watch(`/v1/watch?since=${since}&kinds=hosts`, { token: h.manager });
      const mine = await h.watch(`${P}/watch?since=${since}`, { token: await h.token('default', 'viewer') });
      const a = await h.call('POST', '/v1/projects/elsewhere/hosts', { name: 'x-1', spec: {} });
      const b = await h.call('POST', `${P}/hosts`, { name: 'x-2', spec: {} });
      assert.deepEqual((await all.events(2)).map((f) => parseEventFrame(f).id), [a.body.id, b.body.id]);
      assert.deepEqual((await mine.events(1)).map((f) => parseEventFrame(f).id), [b.body.id], 'a project watch sees its project only');
      all.close();
      mine.close();
    });
  });

  test(`watch from a compacted revision on ${dialect} → 410 before any stream`, async (t) => {
    const h = await withHarness(t, dialect, { retention: { minAgeMs: 0, minEvents: 5 } });
    if (!h) return;
    for (let i = 0; i < 20; i++) assert.equal((await h.call('POST', `${P}/regions`, { name: `c${i}`, spec: {} })).status, 201);
    await sleep(5); // compaction takes events strictly older than now - minAgeMs
    const compacted = await h.svc.compact();
    const head = await h.svc.store.currentRevision();
    assert.equal(compacted, head - 5);

    for (const [what, path, headers] of [
      ['since', `${P}/watch?since=1`, {}],
      ['Last-Event-ID', `${P}/watch`, { 'last-event-id': '1' }],
      ['since just below the history', `${P}/watch?since=${compacted - 1}`, {}],
      ['every project', `/v1/watch?since=0`, {}],
    ] as const) {
      const r = await h.watchError(path, { headers });
      assert.equal(r.status, 410, what);
      assert.match(r.type, /^application\/json/, what);
      assert.deepEqual(Object.keys(r.body), ['error']);
      assert.equal(r.body.error.code, 'revision_compacted', what);
      assert.ok(r.body.error.message.length > 0);
    }
    const page = await h.call('GET', `${P}/events?since=1`);
    assert.equal(page.status, 410);
    assert.equal(page.body.error.code, 'revision_compacted');

    // From the oldest retained revision, the stream replays what is left.
    const s = await h.watch(`${P}/watch?since=${compacted}`);
    assert.deepEqual(revisionsOf(await s.events(5)), [1, 2, 3, 4, 5].map((i) => compacted + i));
    s.close();
  });
}

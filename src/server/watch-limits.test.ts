import assert from 'node:assert/strict';
import http from 'node:http';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventQuery, LoggedEvent } from '../store/index.ts';
import { openTestApp, type TestApp } from '../testing/test-app.ts';
import { DIALECTS, type Dialect, PG_URL, pgReachable } from '../testing/test-stores.ts';
import { until } from '../testing/until.ts';

// Watch streams are bounded per token and per server, and every stream that was counted is
// released again, whatever way the request ends (issue 9, items 5 and 6).

const P = '/v1/projects/default';

async function open(t: TestContext, dialect: Dialect, app: { maxWatchesPerToken?: number; maxWatchesPerProject?: number; maxWatchStreams?: number }): Promise<TestApp | undefined> {
  if (dialect === 'postgres' && !(await pgReachable())) {
    t.skip(`PostgreSQL not reachable at ${PG_URL}`);
    return undefined;
  }
  const srv = await openTestApp({ dialect, app: { ...app, rateLimit: { rps: 0 } }, listen: true });
  t.after(() => srv.close());
  return srv;
}

/** Opens a watch; answers its status, Retry-After and (for a 200) the request, to close it. */
function openWatch(url: string, token: string): Promise<{ status: number; retryAfter?: string; body?: string; req: http.ClientRequest }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, agent: false }, (res) => {
      if (res.statusCode === 200) {
        res.resume();
        return resolve({ status: 200, req });
      }
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body, req }));
    });
    req.on('error', reject);
  });
}

async function viewer(srv: TestApp, subject: string, project = 'default'): Promise<string> {
  return (await srv.tokens.issue({ subject, grants: [{ project, role: 'viewer' }] })).token;
}

/** 5 viewer tokens of project default, 3 watch opens each, all at once; closed after the test. */
async function fifteenOpens(t: TestContext, srv: TestApp, subject: string) {
  const tokens = await Promise.all(Array.from({ length: 5 }, (_, i) => viewer(srv, `${subject}${i}`)));
  const answers = await Promise.all(tokens.flatMap((tk) => [0, 1, 2].map(() => openWatch(`${srv.url}${P}/watch?since=0`, tk))));
  t.after(() => answers.forEach((a) => a.req.destroy()));
  assert.equal(answers.filter((a) => a.status === 200).length, 6, `statuses: ${answers.map((a) => a.status).join(',')}`);
  return { tokens, answers };
}

/** The 9 of 15 refused with `status` and `code`, a message matching `message`, and a Retry-After. */
function nineRefused(answers: Awaited<ReturnType<typeof openWatch>>[], status: number, code: string, message: RegExp): void {
  const refused = answers.filter((a) => a.status === status);
  assert.equal(refused.length, 9);
  assert.equal(JSON.parse(refused[0].body!).error.code, code);
  assert.match(JSON.parse(refused[0].body!).error.message, message);
  assert.ok(Number(refused[0].retryAfter) >= 1, 'a refusal says when to retry');
}

for (const dialect of DIALECTS) {
  test(`${dialect}: 60 concurrent watch opens with one token never pass the per-token limit`, async (t) => {
    const srv = await open(t, dialect, { maxWatchesPerToken: 5 });
    if (!srv) return;
    // A revision in the past makes every open await the store (the check of the log) before streaming.
    await srv.call('POST', `${P}/regions`, srv.admin, { name: 'r1', spec: {} });
    const token = await viewer(srv, 'racer');
    const answers = await Promise.all(Array.from({ length: 60 }, () => openWatch(`${srv.url}${P}/watch?since=1`, token)));
    t.after(() => answers.forEach((a) => a.req.destroy()));
    const ok = answers.filter((a) => a.status === 200).length;
    const limited = answers.filter((a) => a.status === 429);
    assert.equal(ok, 5, `exactly the limit is open (statuses: ${answers.map((a) => a.status).join(',')})`);
    assert.equal(limited.length, 55);
    assert.equal(JSON.parse(limited[0].body!).error.code, 'rate_limited');
    assert.ok(Number(limited[0].retryAfter) >= 1, 'a 429 says when to retry');
    assert.equal(srv.inventory.stats.openWatches, 5);
  });

  test(`${dialect}: the server-wide cap on watch streams answers 503 with Retry-After when full, and frees slots as streams close`, async (t) => {
    const srv = await open(t, dialect, { maxWatchesPerToken: 4, maxWatchStreams: 6 });
    if (!srv) return;
    // 5 tokens × 3 opens at once: 6 fit the server, none gets more than its 4.
    const { tokens, answers } = await fifteenOpens(t, srv, 'w');
    nineRefused(answers, 503, 'unavailable', /watch streams/);
    answers.find((a) => a.status === 200)!.req.destroy();
    await until(() => srv.inventory.stats.openWatches === 5, 'a stream closed');
    const again = await openWatch(`${srv.url}${P}/watch`, tokens[4]);
    t.after(() => again.req.destroy());
    assert.equal(again.status, 200, 'a freed slot is usable again');
  });

  test(`${dialect}: one project's many tokens take at most its share of the server's watch streams; other projects still open theirs`, async (t) => {
    const srv = await open(t, dialect, { maxWatchesPerToken: 4, maxWatchesPerProject: 6, maxWatchStreams: 20 });
    if (!srv) return;
    await srv.inventory.ensureProject('other');
    // A project admin mints as many tokens as it likes: 5 tokens × 3 opens at once.
    const { tokens, answers } = await fifteenOpens(t, srv, 't');
    nineRefused(answers, 429, 'rate_limited', /project default already holds 6 open watch streams/);
    // Another tenant is not shut out.
    const other = await viewer(srv, 'o', 'other');
    const theirs = await openWatch(`${srv.url}/v1/projects/other/watch`, other);
    t.after(() => theirs.req.destroy());
    assert.equal(theirs.status, 200, "another project's stream opens");
    // An outsider's opens of the full project are refused as before, and hold none of its slots.
    const outsider = await Promise.all([0, 1, 2].map(() => openWatch(`${srv.url}${P}/watch`, other)));
    t.after(() => outsider.forEach((a) => a.req.destroy()));
    assert.deepEqual(outsider.map((a) => a.status === 403 || a.status === 404), [true, true, true], `statuses: ${outsider.map((a) => a.status).join(',')}`);
    assert.equal(srv.inventory.stats.openWatches, 7);
    // A stream that ends gives its slot back to the project.
    answers.find((a) => a.status === 200)!.req.destroy();
    await until(() => srv.inventory.stats.openWatches === 6, 'a stream closed');
    const again = await openWatch(`${srv.url}${P}/watch`, tokens[4]);
    t.after(() => again.req.destroy());
    assert.equal(again.status, 200, "a freed slot is the project's again");
  });

  test(`${dialect}: a watch aborted while the server awaits the store leaks nothing`, async (t) => {
    const srv = await open(t, dialect, { maxWatchesPerToken: 2 });
    if (!srv) return;
    await srv.call('POST', `${P}/regions`, srv.admin, { name: 'r1', spec: {} });
    const token = await viewer(srv, 'aborter');
    // The store answers the watch's first read of the log slowly (as PostgreSQL under a lock would).
    const store = srv.store.store;
    const readEvents = store.readEvents.bind(store);
    let slow = true;
    let waiting = 0;
    store.readEvents = async (q: EventQuery): Promise<LoggedEvent[]> => {
      if (slow) {
        waiting++;
        await sleep(600);
      }
      return readEvents(q);
    };
    t.after(() => (store.readEvents = readEvents));
    for (let i = 0; i < 2; i++) {
      const req = http.get(`${srv.url}${P}/watch?since=1`, { headers: { authorization: `Bearer ${token}` }, agent: false });
      req.on('error', () => {});
      await until(() => waiting === i + 1, 'the server awaits the store');
      req.destroy();
    }
    await sleep(900); // every slow read has answered
    slow = false;
    await until(() => srv.inventory.stats.openWatches === 0, 'no stream left open', { timeoutMs: 3000 });
    // The token's count went down too: it may open its 2 streams.
    const a = await openWatch(`${srv.url}${P}/watch`, token);
    const b = await openWatch(`${srv.url}${P}/watch`, token);
    t.after(() => [a, b].forEach((x) => x.req.destroy()));
    assert.deepEqual([a.status, b.status], [200, 200]);
    const metrics = await srv.inject('GET', '/metrics', srv.admin);
    assert.match(metrics.body, /^eim_open_watches 2$/m);
  });
}

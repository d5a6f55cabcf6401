import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HARDWARE_REPORT_LIMITS } from '../../api/index.ts';
import { openSse, type SseFrame } from '../../testing/http-client.ts';
import { openTestApp, type TestApp } from '../../testing/test-app.ts';
import { until } from '../../testing/until.ts';
import { KeyedBuckets } from './southbound-limits.ts';

// Issue 9 item 7: the southbound is rate-limited and capped per token and per host, a hardware
// report is bounded, and its write cost follows what changed. The figures of the issue, small.

const enrollmentToken = async (srv: TestApp, autoRegister = false) =>
  (await srv.call('POST', '/v1/projects/default/tokens', srv.admin, { role: 'enrollment', ...(autoRegister ? { autoRegister } : {}) })).json.token as string;

async function agentFor(srv: TestApp, serial: string): Promise<{ hostId: string; token: string }> {
  await srv.call('POST', '/v1/projects/default/hosts', srv.admin, { name: serial.toLowerCase(), spec: { serialNumber: serial, desiredState: 'onboarded' } });
  const r = await srv.call('POST', '/southbound/v1/enroll', await enrollmentToken(srv), { serialNumber: serial, hostname: serial.toLowerCase() });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return { hostId: r.json.hostId, token: r.json.token };
}

/** Sends `n` requests as fast as the process takes them; answers the statuses, the Retry-After headers and the seconds it took. */
async function flood(srv: TestApp, n: number, send: (i: number) => Promise<{ statusCode: number; headers: Record<string, unknown> }>) {
  const t0 = performance.now();
  const statuses: number[] = [];
  const retryAfter: unknown[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, n - i) }, (_, j) => send(i + j)));
    for (const r of batch) {
      statuses.push(r.statusCode);
      if (r.statusCode === 429) retryAfter.push(r.headers['retry-after']);
    }
  }
  return { statuses, retryAfter, seconds: (performance.now() - t0) / 1000 };
}

const count = (xs: number[], s: number) => xs.filter((x) => x === s).length;

describe('southbound limits', () => {
  test('2,000 heartbeats from one host with a limit of 5/s (burst 10): the rest are 429 with Retry-After; another host is not affected', async () => {
    const srv = await openTestApp({ southbound: { leaseCheckMs: 1000, limits: { heartbeat: { perSecond: 5, burst: 10 } } } });
    try {
      const a = await agentFor(srv, 'SN-HB-A');
      const b = await agentFor(srv, 'SN-HB-B');
      const r = await flood(srv, 2000, () => srv.inject('POST', '/southbound/v1/heartbeat', a.token, {}));
      const allowed = 10 + Math.ceil(5 * r.seconds) + 1;
      assert.ok(count(r.statuses, 204) <= allowed, `${count(r.statuses, 204)} accepted in ${r.seconds.toFixed(2)} s (at most ${allowed})`);
      assert.ok(count(r.statuses, 204) >= 10, 'the burst goes through');
      assert.equal(count(r.statuses, 204) + count(r.statuses, 429), 2000);
      assert.ok(r.retryAfter.every((v) => Number(v) >= 1), 'every 429 says when to come back');
      const refused = await srv.call('POST', '/southbound/v1/heartbeat', a.token, {});
      assert.equal(refused.status, 429);
      assert.equal(refused.json.error.code, 'rate_limited');
      assert.equal((await srv.call('POST', '/southbound/v1/heartbeat', b.token, {})).status, 204, 'per host');
    } finally {
      await srv.close();
    }
  });

  test('300 enrolments from one enrollment token (10/s, burst 20): the rest are 429, and only the accepted ones mint tokens and hosts', async () => {
    const srv = await openTestApp({ southbound: { leaseCheckMs: 1000, limits: { enroll: { perSecond: 10, burst: 20 } } } });
    try {
      const et = await enrollmentToken(srv, true);
      const r = await flood(srv, 300, (i) => srv.inject('POST', '/southbound/v1/enroll', et, { serialNumber: `SN-STORM-${i}`, hostname: `storm-${i}` }));
      const ok = count(r.statuses, 200);
      assert.ok(ok >= 20 && ok <= 20 + Math.ceil(10 * r.seconds) + 1, `${ok} enrolled in ${r.seconds.toFixed(2)} s`);
      assert.equal(count(r.statuses, 429), 300 - ok);
      assert.ok(r.retryAfter.every((v) => Number(v) >= 1));
      assert.equal((await srv.call('GET', '/v1/projects/default/hosts?pageSize=1', srv.admin)).json.totalSize, ok, 'a refused enrolment registers nothing');
      const agentTokens = (await srv.call('GET', '/v1/projects/default/tokens', srv.admin)).json.items.filter((t: { role: string }) => t.role === 'agent');
      assert.equal(agentTokens.length, ok, 'a refused enrolment mints no token');
      const other = await enrollmentToken(srv, true);
      assert.equal((await srv.call('POST', '/southbound/v1/enroll', other, { serialNumber: 'SN-OTHER', hostname: 'other' })).status, 200, 'per enrollment token');
    } finally {
      await srv.close();
    }
  });

  test('at most 2 command streams per host: a third closes the oldest', async () => {
    const srv = await openTestApp({ southbound: { leaseCheckMs: 1000 }, listen: true });
    try {
      const a = await agentFor(srv, 'SN-STREAM');
      const frames: SseFrame[][] = [[], [], []];
      const streams = [];
      for (let i = 0; i < 3; i++) {
        streams.push(await openSse(`${srv.url}/southbound/v1/stream`, { token: a.token }, (f) => frames[i].push(f)));
        await until(() => srv.southbound!.streams.size === Math.min(i + 1, 2), `${Math.min(i + 1, 2)} open`);
      }
      await streams[0].ended;
      assert.equal(srv.southbound!.streams.size, 2);
      // Still served: a command reaches the two open streams, not the closed one.
      const mgr = srv.inventory.as({ subject: 'm', grants: [{ project: '*', role: 'manager' }] });
      await mgr.create('default', 'Command', { name: 'c', spec: { hostId: a.hostId, type: 'power', params: { state: 'on' }, ownerId: a.hostId }, status: { state: 'pending' } });
      await until(() => frames[1].some((f) => f.event === 'command') && frames[2].some((f) => f.event === 'command'), 'the open streams get it');
      assert.ok(!frames[0].some((f) => f.event === 'command'));
      for (const s of streams) s.close();
    } finally {
      await srv.close();
    }
  });

  test('hardware reports: bounded by count and bytes, rate-limited per host, and a report writes what changed in one transaction', async () => {
    const srv = await openTestApp({ southbound: { leaseCheckMs: 1000, limits: { hardware: { perSecond: 1, burst: 4 } } } });
    try {
      const a = await agentFor(srv, 'SN-HW');
      let commits = 0;
      let written = 0;
      srv.store.store.onCommit((events) => {
        commits++;
        written += events.length;
      });
      const nics = (set: string, n: number) => Array.from({ length: n }, (_, i) => ({ deviceName: `${set}${i}`, macAddress: `aa:${set}:${i}` }));
      const report = (n: ReturnType<typeof nics>) => ({ hardware: { cpuModel: 'x' }, nics: n, storages: [], gpus: [], usbs: [] });
      const tooMany = await srv.call('POST', '/southbound/v1/hardware', a.token, report(nics('a', HARDWARE_REPORT_LIMITS.nics + 1)));
      assert.equal(tooMany.status, 400);
      assert.match(tooMany.json.error.message, /nics/);
      const huge = await srv.call('POST', '/southbound/v1/hardware', a.token, { ...report([]), hardware: { cpuModel: 'x'.repeat(600_000) } });
      assert.equal(huge.status, 413);
      assert.equal(huge.json.error.code, 'payload_too_large');
      assert.match(huge.json.error.message, /larger than this route accepts \(512 KiB\)/, 'the message names this route\'s limit, not the server-wide 1 MiB');
      assert.deepEqual(huge.json.error.details, { limitBytes: 512 * 1024 });
      assert.equal(commits, 0, 'refused reports write nothing');

      const first = await srv.call('POST', '/southbound/v1/hardware', a.token, report(nics('a', 64)));
      assert.deepEqual(first.json, { writes: 65 });
      assert.equal(commits, 1, '65 writes, one transaction');
      assert.equal(written, 65);
      const same = await srv.call('POST', '/southbound/v1/hardware', a.token, report(nics('a', 64)));
      assert.deepEqual([same.json, commits], [{ writes: 0 }, 1], 'an unchanged report writes nothing');
      const oneChanged = report(nics('a', 64));
      oneChanged.nics[5].macAddress = 'bb:bb';
      assert.deepEqual((await srv.call('POST', '/southbound/v1/hardware', a.token, oneChanged)).json, { writes: 1 });
      assert.equal(commits, 2);
      // The flood: reports alternating two sets; past the burst, 429s that write nothing.
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) statuses.push((await srv.call('POST', '/southbound/v1/hardware', a.token, report(nics(i % 2 ? 'a' : 'b', 64)))).status);
      assert.ok(count(statuses, 200) <= 3, statuses.join(','));
      assert.ok(count(statuses, 429) >= 7, statuses.join(','));
      assert.ok(written <= 66 + 128 * 3, `${written} writes in all`);
      assert.ok(commits <= 2 + 3 * 2, `${commits} transactions in all`);
    } finally {
      await srv.close();
    }
  });
});

test('KeyedBuckets: a bucket idle for a minute and full again is dropped (the same as none); one still refilling is kept', () => {
  let now = 0;
  const size = (b: KeyedBuckets) => b.size;
  const hardware = new KeyedBuckets({ perSecond: 0.2, burst: 5 }, 'hardware reports', () => now); // full again after 25 s
  const renew = new KeyedBuckets({ perSecond: 1 / 60, burst: 5 }, 'renewals', () => now); // after 300 s
  for (const k of ['a', 'b']) for (let i = 0; i < 5; i++) [hardware, renew].forEach((b) => b.take(k));
  assert.throws(() => hardware.take('a'), { code: 'rate_limited' });
  now = 30_000;
  hardware.take('a'); // refilled; the sweep is not due yet
  assert.equal(size(hardware), 2);
  now = 61_000;
  hardware.take('c');
  assert.equal(size(hardware), 2, "b (idle 61 s) went at the minute's sweep; a (30 s) stays");
  renew.take('c');
  assert.equal(size(renew), 3, 'a renewal bucket takes 300 s to fill: none dropped');
  now = 400_000;
  renew.take('d');
  assert.equal(size(renew), 1, 'full again after 300 s: dropped');
  for (let i = 0; i < 5; i++) renew.take('a');
  assert.throws(() => renew.take('a'), { code: 'rate_limited' }, 'a dropped bucket comes back full, no more');
});

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { call, openSse, type SseFrame } from '../testing/http-client.ts';
import { tempDir } from '../testing/test-stores.ts';
import { addressKey } from './connection-guard.ts';
import { defaultMaxConnections, isLoopbackHost, openFileLimits, plainHttpWarning } from './listener-options.ts';
import { type RunningServer, type ServerOptions, startServer } from './server.ts';

// Idle and excess TCP connections cannot exhaust the server (issue 9, item 8): connections are
// capped server-wide and per client address, a connection must send its request head within the
// header timeout, an idle keep-alive connection is closed after the keep-alive timeout, and
// long-lived SSE streams are not affected by either. Real sockets throughout.

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of closers) await c();
});

async function start(options: ServerOptions): Promise<{ srv: RunningServer; port: number }> {
  const tmp = tempDir();
  // /metrics without a token (the default): these raw connections send none.
  const srv = await startServer({ dataDir: tmp.dir, port: 0, logLevel: 'silent', managers: 'none', metricsPublic: true, ...options });
  closers.push(async () => {
    await srv.close();
    tmp.remove();
  });
  return { srv, port: Number(new URL(srv.url).port) };
}

interface RawConn {
  socket: net.Socket;
  /** Everything the server sent so far. */
  received(): string;
  /** Resolves with the time (performance.now()) the server closed the connection. */
  closed: Promise<number>;
}

/** A raw TCP connection to 127.0.0.1:port, from `from` (any 127.x address works on Linux). */
function connect(port: number, from = '127.0.0.1'): Promise<RawConn> {
  return new Promise((resolve, reject) => {
    let data = '';
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: from });
    const closed = new Promise<number>((r) => socket.once('close', () => r(performance.now())));
    socket.on('data', (b) => (data += b.toString()));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    socket.once('error', reject);
  });
}

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, sleep(ms).then(() => Promise.reject(new Error(`${what} not within ${ms} ms`)))]);

const isOpen = async (c: RawConn, ms = 50) => (await Promise.race([c.closed.then(() => false), sleep(ms).then(() => true)]));

/** One request on a raw keep-alive connection; resolves with the response head and body. */
async function request(c: RawConn, path = '/healthz'): Promise<string> {
  const before = c.received().length;
  c.socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n`);
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    const got = c.received().slice(before);
    const m = /content-length: (\d+)\r\n/i.exec(got);
    const head = got.indexOf('\r\n\r\n');
    if (m && head >= 0 && got.length >= head + 4 + Number(m[1])) return got;
    if (!(await isOpen(c, 5))) return got;
  }
  throw new Error(`no complete answer to ${path}`);
}

describe('timeouts (header 400 ms, keep-alive 700 ms)', () => {
  let port = 0;
  let srv: RunningServer;
  before(async () => ({ srv, port } = await start({ headerTimeoutMs: 400, keepAliveTimeoutMs: 700, bookmarkMs: 10_000 })));

  test('a connection that sends nothing is closed after the header timeout', async () => {
    const c = await connect(port);
    const opened = performance.now();
    const at = await within(c.closed, 3000, 'close of the silent connection');
    assert.ok(at - opened >= 300, `closed after ${(at - opened).toFixed(0)} ms, not before the timeout`);
    assert.equal(c.received(), '', 'and answered nothing');
  });

  test('a request head trickled in a byte at a time (slowloris) is closed after the header timeout too', async () => {
    const c = await connect(port);
    const opened = performance.now();
    const head = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    const trickle = (async () => {
      for (const ch of head) {
        if (!(await isOpen(c, 40))) return;
        c.socket.write(ch);
      }
    })();
    const at = await within(c.closed, 3000, 'close of the slow connection');
    await trickle;
    assert.ok(at - opened < 2000, `closed after ${(at - opened).toFixed(0)} ms`);
    assert.doesNotMatch(c.received(), /200 OK/);
  });

  test('a keep-alive connection serves requests, and is closed once idle for the keep-alive timeout', async () => {
    const c = await connect(port);
    assert.match(await request(c), /^HTTP\/1\.1 200/);
    await sleep(450); // past the header timeout: a connection that did send a request is not closed by it
    assert.ok(await isOpen(c), 'still open between requests');
    assert.match(await request(c), /^HTTP\/1\.1 200/, 'reused');
    assert.match(c.received(), /keep-alive: timeout=\d+/i, 'the server announces its keep-alive timeout');
    const idleFrom = performance.now();
    const at = await within(c.closed, 3000, 'close of the idle keep-alive connection');
    assert.ok(at - idleFrom >= 500, `closed after ${(at - idleFrom).toFixed(0)} ms idle`);
  });

  test('a watch stream stays open past both timeouts and keeps delivering', async () => {
    const frames: SseFrame[] = [];
    const s = await openSse(`${srv.url}/v1/projects/default/watch?kinds=regions`, { token: srv.adminToken }, (f) => frames.push(f));
    let ended = false;
    void s.ended.then(() => (ended = true));
    try {
      await sleep(1500);
      assert.equal(ended, false, 'the stream is still open');
      const r = await call(`${srv.url}/v1/projects/default/regions`, { method: 'POST', token: srv.adminToken, body: { name: 'late', spec: {} } });
      assert.equal(r.status, 201);
      const deadline = Date.now() + 3000;
      while (!frames.some((f) => f.event === 'CREATED') && Date.now() < deadline) await sleep(10);
      assert.ok(frames.some((f) => f.event === 'CREATED'), 'the event arrived on the old stream');
    } finally {
      s.close();
    }
  });
});

describe('connection caps (12 in all, 4 per address; 127.0.0.1 and ::1 only count toward the total)', () => {
  let port = 0;
  before(async () => ({ port } = await start({ maxConnections: 12, maxConnectionsPerAddress: 4 })));

  test('the 5th connection from one address is refused; other addresses are still served', async () => {
    const held = await Promise.all([1, 2, 3, 4].map(() => connect(port, '127.0.0.2')));
    for (const c of held) assert.match(await request(c), /^HTTP\/1\.1 200/);
    const fifth = await connect(port, '127.0.0.2');
    await within(fifth.closed, 2000, 'refusal of the 5th connection');
    assert.match(fifth.received(), /^HTTP\/1\.1 503 .*\r\n[\s\S]*retry-after: 5\r\n[\s\S]*"code":"unavailable"/i, 'a 503 that says when to retry, before any request is read');
    const other = await connect(port, '127.0.0.3');
    assert.match(await request(other), /^HTTP\/1\.1 200/, 'another address is served');
    for (const c of held) assert.ok(await isOpen(c), 'the held connections are not disturbed');
    // A closed connection frees its place.
    held[0].socket.destroy();
    await sleep(100);
    const again = await connect(port, '127.0.0.2');
    assert.match(await request(again), /^HTTP\/1\.1 200/);
    assert.match(await request(other, '/metrics'), /eim_connections_refused_total\{reason="per_address"\} 1/);
    for (const c of [...held, other, again]) c.socket.destroy();
    await sleep(100);
  });

  test('loopback is not held to the per-address cap, but everything is held to the total', async () => {
    const local = await Promise.all(Array.from({ length: 8 }, () => connect(port)));
    for (const c of local) assert.match(await request(c), /^HTTP\/1\.1 200/, 'loopback past the per-address cap');
    const remote = await Promise.all([1, 2, 3, 4].map(() => connect(port, '127.0.0.4')));
    for (const c of remote) assert.match(await request(c), /^HTTP\/1\.1 200/);
    // 12 open: the 13th is refused, wherever it comes from.
    const over = await connect(port, '127.0.0.5');
    await within(over.closed, 2000, 'refusal past the total');
    assert.doesNotMatch(over.received(), /200 OK/);
    const metrics = await request(local[0], '/metrics');
    assert.match(metrics, /eim_connections_refused_total\{reason="total"\} 1/);
    assert.match(metrics, /eim_connections_open 12/);
    for (const c of [...local, ...remote]) c.socket.destroy();
  });
});

test('addresses are counted per IPv4 address and per IPv6 /64', () => {
  assert.equal(addressKey('10.1.2.3'), '10.1.2.3');
  assert.equal(addressKey('::ffff:10.1.2.3'), '10.1.2.3', 'IPv4-mapped is IPv4');
  assert.equal(addressKey('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:db8:1:2::99'), '2001:db8:1:2::/64', 'the same /64');
  assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.notEqual(addressKey('2001:db8:1:3::1'), addressKey('2001:db8:1:2::1'), 'another /64');
  assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
});

test('the default connection cap stays under the open-file limit', () => {
  const limits = (n: number) => `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${n}                 ${n}                 files\n`;
  assert.equal(defaultMaxConnections(limits(1_048_576)), 16_384);
  assert.equal(defaultMaxConnections(limits(20_000)), 16_384, 'room for eim sim --nodes 10000 (about 10,300 connections) on 127.0.0.1');
  assert.equal(defaultMaxConnections(limits(10_000)), 9488);
  assert.equal(defaultMaxConnections(limits(1024)), 512);
  assert.equal(defaultMaxConnections(undefined), 16_384, 'not Linux');
  assert.deepEqual(openFileLimits('Max open files            1024                 unlimited            files\n'), { soft: 1024, hard: Number.POSITIVE_INFINITY });
  assert.equal(defaultMaxConnections('Max open files            unlimited            unlimited            files\n'), 16_384);
  assert.equal(openFileLimits('Max processes             100                  100                  processes\n'), undefined);
});

test('plain HTTP beyond loopback is worth a warning block', () => {
  // Also what makes eim managers deliver alerts to local receivers by default (its --inventory URL's host).
  for (const h of ['127.0.0.1', '127.0.0.2', '127.0.1.1', 'localhost', 'LOCALHOST', 'eim.localhost', '::1', '[::1]', '::ffff:127.0.0.1']) assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['0.0.0.0', '::', '[::]', '10.0.0.5', '10.0.0.1', 'eim.example.com', 'eim.internal', 'localhost.example.com', '169.254.169.254', '2001:db8::1']) assert.equal(isLoopbackHost(h), false, h);
  const block = plainHttpWarning('0.0.0.0', 8080);
  assert.ok(block.length >= 4);
  assert.match(block.join('\n'), /0\.0\.0\.0:8080 WITHOUT TLS[\s\S]*--tls-cert/);
});

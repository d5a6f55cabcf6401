import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { enrolAgent } from '../../testing/enrol-agent.ts';
import { openTestApp, type TestApp } from '../../testing/test-app.ts';
import { until } from '../../testing/until.ts';

/** Opens the agent's command stream over a raw socket and stops reading once it is connected. */
function pausedStream(url: string, token: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), hostname);
    let got = '';
    s.on('error', () => {}); // reset by the server: expected
    s.on('data', (b) => {
      got += b;
      if (got.includes(': connected')) {
        s.pause();
        resolve(s);
      }
    });
    s.once('error', reject);
    s.write(`GET /southbound/v1/stream HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\n\r\n`);
  });
}

describe('an agent stream whose client stops reading', () => {
  let srv: TestApp;
  before(async () => {
    srv = await openTestApp({ southbound: { leaseCheckMs: 50, streamBufferBytes: 256 * 1024 }, listen: true });
  });
  after(() => srv.close());

  test('is dropped once more than its buffer waits, instead of growing the server; a new stream gets the newest node config', async () => {
    const { hostId, token } = await enrolAgent(srv, 'SN-SLOW-READER');
    const manager = srv.inventory.as({ subject: 'managers', grants: [{ project: '*', role: 'manager' }] });
    const s = await pausedStream(srv.url, token);
    await until(() => srv.southbound!.streams.size === 1, 'the stream is open', { timeoutMs: 5000, intervalMs: 20 });
    const content = 'x'.repeat(60_000);
    let version = 0;
    // Node configs of 60 KB, version after version, to a client that reads nothing: the kernel's
    // buffers fill first, then the stream's.
    while (srv.southbound!.streams.size > 0 && version < 400) {
      version++;
      await manager.updateStatus('default', 'Host', hostId, {
        nodeConfig: { version: `v${version}`, accounts: [], configs: [{ sourceId: 'customconfig-00000001', name: 'big', type: 'file', runPolicy: 'on-change', path: '/etc/big', content: `${version}${content}` }], sources: [] },
      });
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(srv.southbound!.streams.size, 0, `still open after ${version} versions (${version * 60} KB)`);
    assert.ok(version < 400);
    s.destroy();

    // The agent reconnects (here: reads this time) and gets the newest version.
    const { hostname, port } = new URL(srv.url);
    const fresh = connect(Number(port), hostname);
    let got = '';
    fresh.on('data', (b) => (got += b));
    fresh.write(`GET /southbound/v1/stream HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\n\r\n`);
    await until(() => got.includes(`"version":"v${version}"`), `the new stream gets node config v${version}`, { timeoutMs: 5000, intervalMs: 20 });
    fresh.destroy();
  });
});

describe("a server's agent streams, together", () => {
  let srv: TestApp;
  before(async () => {
    // Each stream may hold 16 MiB (the default), all of them together 512 KiB.
    srv = await openTestApp({ southbound: { leaseCheckMs: 50, streamBufferBytesTotal: 512 * 1024 }, listen: true });
  });
  after(() => srv.close());

  test('are dropped past their total waiting, slow ones only, long before each reaches its own limit', async () => {
    const slow = [await enrolAgent(srv, 'SN-SLOW-1'), await enrolAgent(srv, 'SN-SLOW-2')];
    const reader = await enrolAgent(srv, 'SN-READER');
    const manager = srv.inventory.as({ subject: 'managers', grants: [{ project: '*', role: 'manager' }] });
    const sockets = await Promise.all(slow.map((a) => pausedStream(srv.url, a.token)));
    const { hostname, port } = new URL(srv.url);
    const reading = connect(Number(port), hostname);
    let got = 0;
    reading.on('data', (b) => (got += b.length));
    reading.write(`GET /southbound/v1/stream HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${reader.token}\r\nAccept: text/event-stream\r\n\r\n`);
    await until(() => srv.southbound!.streams.size === 3, 'the three streams are open', { timeoutMs: 5000, intervalMs: 20 });
    const content = 'x'.repeat(60_000);
    const push = (hostId: string, version: number) =>
      manager.updateStatus('default', 'Host', hostId, {
        nodeConfig: { version: `v${version}`, accounts: [], configs: [{ sourceId: 'customconfig-00000001', name: 'big', type: 'file', runPolicy: 'on-change', path: '/etc/big', content: `${version}${content}` }], sources: [] },
      });
    // A stream's kernel buffers take up to ~4.5 MB here (net.ipv4.tcp_wmem's 4 MiB and a paused
    // reader's window), then its own 16 MiB would take more than 340 versions of 60 KB: any drop
    // within 300 is the total's.
    let version = 0;
    while (srv.southbound!.streams.size > 1 && version < 300) {
      version++;
      for (const h of [...slow, reader]) await push(h.hostId, version);
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(srv.southbound!.streams.size, 1, `slow streams still open after ${version} versions of 60 KB to each`);
    assert.ok(srv.southbound!.streams.has(reader.hostId), 'the stream that keeps up stays');
    await until(() => got > version * 60_000, `the reader gets every version (${version} of 60 KB)`, { timeoutMs: 10_000, intervalMs: 20 });
    for (const s of [...sockets, reading]) s.destroy();
  });
});

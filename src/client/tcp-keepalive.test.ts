import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { sseFrames } from './sse-watch.ts';
import { connectionPool } from './tls-trust.ts';

/**
 * The kernel timer armed on the TCP socket with this local port, from /proc/net/tcp's `tr` column
 * (0 none, 1 retransmit, 2 keep-alive, 3 TIME_WAIT, 4 zero-window probe), and when it fires (s).
 */
function timerOf(localPort: number): { timer: number; inS: number } | undefined {
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 6 || f[3] !== '01') continue; // ESTABLISHED only
      if (parseInt(f[1].split(':').pop()!, 16) !== localPort) continue;
      const [tr, when] = f[5].split(':');
      return { timer: Number(tr), inS: parseInt(when, 16) / 100 }; // clock ticks (USER_HZ, 100)
    }
  }
  return undefined;
}

// An idle stream waits for the server's keep-alive comments and bookmarks (sseFrames' idle
// timeout), not for TCP keep-alive probes: Node's global agent probes after 1 s idle, every
// second (libuv), and gives up after ten unanswered, so 10,000 agents' streams sent ~8,000 probes
// a second, and a host's stream died of a 10 s blip (loopback drops in a fleet run: read ETIMEDOUT).
test('an SSE stream holds a connection of its own with no TCP keep-alive probing', { skip: !existsSync('/proc/net/tcp') && 'needs Linux /proc/net/tcp' }, async (t) => {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('id: 1\nevent: BOOKMARK\ndata: {}\n\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const port = (server.address() as AddressInfo).port;
  const clientPort = new Promise<number>((r) => server.once('connection', (s) => r(s.remotePort!)));
  const abort = new AbortController();
  const frames = sseFrames({ url: `http://127.0.0.1:${port}/stream`, headers: {}, signal: abort.signal });
  const first = await frames.next();
  assert.equal(first.value?.event, 'BOOKMARK');
  const local = await clientPort;
  // Idle past the 1 s after which a keep-alive socket arms its probe timer.
  await new Promise((r) => setTimeout(r, 1500));
  const timer = timerOf(local);
  abort.abort();
  await frames.return(undefined);
  assert.notEqual(timer, undefined, 'the stream connection is in /proc/net/tcp');
  assert.notEqual(timer!.timer, 2, 'no keep-alive timer on the idle stream connection');
});

// A pooled connection between requests (an agent's, between heartbeats 10 s apart) is closed by
// the server after 30 s idle (keepAliveTimeout): probing it every second from 1 s on sent ~9
// probes per agent per heartbeat interval to the server, for nothing.
test('a connection pool keeps its idle connections without probing them every second', { skip: !existsSync('/proc/net/tcp') && 'needs Linux /proc/net/tcp' }, async (t) => {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const pool = connectionPool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  t.after(() => {
    pool.destroy();
    server.closeAllConnections();
    server.close();
  });
  const port = (server.address() as AddressInfo).port;
  const clientPort = new Promise<number>((r) => server.once('connection', (s) => r(s.remotePort!)));
  await new Promise<void>((resolve, reject) => {
    http.get(`http://127.0.0.1:${port}/`, { agent: pool }, (res) => res.resume().on('end', resolve)).on('error', reject);
  });
  const local = await clientPort;
  await new Promise((r) => setTimeout(r, 1500));
  const timer = timerOf(local);
  assert.notEqual(timer, undefined, 'the pooled connection is still open (kept alive)');
  assert.ok(timer!.timer !== 2 || timer!.inS > 30, `no keep-alive probe before the server's 30 s idle close (timer ${timer!.timer}, in ${timer!.inS} s)`);
});

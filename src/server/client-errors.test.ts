import assert from 'node:assert/strict';
import net from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { openTestApp } from '../testing/test-app.ts';

// Found by the OpenAPI fuzz (issue 9): a request head Node's parser refuses (a URL or headers over
// 16 KiB) was answered with Fastify's own body `{"error":"Request Header Fields Too Large",…}`,
// not the contract's, and Fastify logged the refused bytes (the Authorization header among them)
// at trace level.

/** Writes `raw` to the server and answers what came back before it closed the connection. */
function rawExchange(url: string, raw: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.end(raw));
    let got = '';
    socket.on('data', (c) => (got += c));
    socket.on('close', () => resolve(got));
    socket.on('error', reject);
  });
}

test("a request head the HTTP parser refuses answers the contract's 400 and logs none of its bytes", async () => {
  const lines: string[] = [];
  const logger = pino({ level: 'trace' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
  const srv = await openTestApp({ listen: true, app: { logger } });
  try {
    const secret = 'SECRETTOKENxyz';
    const cases = [
      { name: 'a 40 KiB URL', raw: `GET /v1/projects/default/hosts?filter=${'x'.repeat(40_000)}${secret} HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${secret}\r\n\r\n`, reason: 'header-too-large' },
      { name: 'a 40 KiB header', raw: `GET /healthz HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${secret}\r\nX-Pad: ${'y'.repeat(40_000)}\r\n\r\n`, reason: 'header-too-large' },
      { name: 'a broken request line', raw: `GET /healthz ${secret}\r\nAuthorization: Bearer ${secret}\r\n\r\n`, reason: 'malformed' },
    ];
    for (const c of cases) {
      const answer = await rawExchange(srv.url, c.raw);
      assert.match(answer, /^HTTP\/1\.1 400 /, `${c.name}: ${answer.slice(0, 200)}`);
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
      assert.equal(body.error.code, 'invalid_argument', c.name);
      assert.equal(body.error.details.reason, c.reason, c.name);
      assert.ok(!answer.includes(secret), `${c.name}: the answer quotes nothing of the request`);
    }
    assert.deepEqual(lines.filter((l) => l.includes(secret)), [], 'no log line holds the refused request');
    assert.equal((await srv.call('GET', '/healthz')).status, 200, 'and the server goes on');
  } finally {
    await srv.close();
  }
});

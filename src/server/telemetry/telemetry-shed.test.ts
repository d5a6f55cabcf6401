import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { encodeMetrics } from '../../agent/telemetry/otlp-batch.ts';
import { openTestApp, type TestApp } from '../../testing/test-app.ts';
import { AgentAuth } from '../southbound/agent-auth.ts';

// A server bounds the agents' batches in progress (maxQueuedBatches, all hosts together, from the
// first byte to the answer): past it a batch is answered 429 with Retry-After before its body is
// read, which the agent's buffer retries, instead of an unbounded queue in memory. Here the bound
// is 1, so concurrent batches must be shed.

let srv: TestApp;
const agents: string[] = [];

before(async () => {
  srv = await openTestApp({ telemetry: { maxQueuedBatches: 1 }, southbound: {} });
  for (let i = 0; i < 3; i++) {
    const host = await srv.call('POST', '/v1/projects/default/hosts', srv.admin, { name: `edge-${i}`, spec: { serialNumber: `SN-SHED-${i}`, desiredState: 'onboarded' } });
    assert.equal(host.status, 201, JSON.stringify(host.json));
    const et = (await srv.call('POST', '/v1/projects/default/tokens', srv.admin, { role: 'enrollment' })).json.token;
    agents.push((await srv.call('POST', '/southbound/v1/enroll', et, { serialNumber: `SN-SHED-${i}`, hostname: `edge-${i}` })).json.token);
  }
});
after(() => srv.close());

const push = (agent: string, seq: number) =>
  srv.app.inject({
    method: 'POST',
    url: '/southbound/v1/otlp/v1/metrics',
    headers: { authorization: `Bearer ${agent}`, 'content-type': 'application/json', 'x-eim-batch': `shed.${seq}` },
    payload: Buffer.from(encodeMetrics([{ name: 'system.cpu.load_average.1m', attrs: {}, type: 'gauge', unit: '{thread}', value: seq, t: Date.now() - seq * 1000 }], {})),
  });

test('past maxQueuedBatches in progress, a batch is answered 429 with Retry-After; later ones are taken again', async () => {
  const answers = await Promise.all(Array.from({ length: 30 }, (_, k) => push(agents[k % 3], k + 1)));
  const shed = answers.filter((r) => r.statusCode === 429);
  const taken = answers.filter((r) => r.statusCode === 200);
  assert.equal(shed.length + taken.length, 30, answers.map((r) => `${r.statusCode} ${r.body}`).join('\n'));
  assert.ok(taken.length >= 1, 'the first batch is taken');
  assert.ok(shed.length >= 1, `batches past the bound are shed (${taken.length} taken)`);
  for (const r of shed) {
    assert.equal(r.headers['retry-after'], '1');
    assert.equal(JSON.parse(r.body).error.code, 'rate_limited');
  }
  // One at a time nothing waits: taken.
  assert.equal((await push(agents[0], 100)).statusCode, 200);
  const text = (await srv.app.inject({ method: 'GET', url: '/metrics' })).body;
  assert.equal(Number(/^eim_telemetry_shed_batches_total (\S+)$/m.exec(text)?.[1]), shed.length, 'counted in /metrics');
});

test('past maxQueuedBytes of bodies in progress, a batch is answered 429 as well; one batch alone always gets in', async () => {
  const body = (seq: number, series = 1) =>
    Buffer.from(encodeMetrics(Array.from({ length: series }, (_, i) => ({ name: `bytes.test.${i}`, attrs: {}, type: 'gauge' as const, unit: '1', value: seq, t: Date.now() - seq * 1000 })), {}));
  const size = body(1).length;
  // Room for one batch and a half: two at once do not fit, whatever the count bound says.
  const app = await openTestApp({ telemetry: { maxQueuedBatches: 2048, maxQueuedBytes: Math.floor(size * 1.5) }, southbound: {} });
  try {
    const host = await app.call('POST', '/v1/projects/default/hosts', app.admin, { name: 'edge-b', spec: { serialNumber: 'SN-BYTES', desiredState: 'onboarded' } });
    assert.equal(host.status, 201);
    const et = (await app.call('POST', '/v1/projects/default/tokens', app.admin, { role: 'enrollment' })).json.token;
    const agent = (await app.call('POST', '/southbound/v1/enroll', et, { serialNumber: 'SN-BYTES', hostname: 'edge-b' })).json.token;
    const send = (seq: number, payload: Buffer) =>
      app.app.inject({ method: 'POST', url: '/southbound/v1/otlp/v1/metrics', headers: { authorization: `Bearer ${agent}`, 'content-type': 'application/json', 'x-eim-batch': `bytes.${seq}` }, payload });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, k) => send(k + 1, body(k + 1))));
    const shed = answers.filter((r) => r.statusCode === 429);
    assert.equal(shed.length + answers.filter((r) => r.statusCode === 200).length, 20, answers.map((r) => `${r.statusCode} ${r.body}`).join('\n'));
    assert.ok(shed.length >= 1, 'batches past the byte bound are shed');
    for (const r of shed) {
      assert.equal(r.headers['retry-after'], '1');
      assert.match(JSON.parse(r.body).error.message, /bytes of telemetry batches in progress/);
    }
    // A batch larger than the whole budget, alone: taken (the body limit bounds it).
    const big = body(100, 20);
    assert.ok(big.length > size * 1.5);
    const alone = await send(100, big);
    assert.equal(alone.statusCode, 200, alone.body);
  } finally {
    await app.close();
  }
});

/** Opens a connection and sends a batch's head, with the body still to come (held as long as the test likes). */
function heldBatch(url: string, headers: Record<string, string>): Promise<{ socket: import('node:net').Socket; answer: Promise<string> }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname, () => {
      const head = Object.entries({ host: u.host, 'content-type': 'application/json', 'content-length': String(1024 * 1024), ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      socket.write(`POST /southbound/v1/otlp/v1/metrics HTTP/1.1\r\n${head}\r\n`);
      let got = '';
      const answer = new Promise<string>((done) => {
        socket.on('data', (d) => (got += d.toString()));
        socket.on('close', () => done(got));
        setTimeout(() => done(got), 1500);
      });
      resolve({ socket, answer });
    });
    socket.on('error', reject);
  });
}

test('the budgets count only agents\' batches, and at most 4 of one host: held bodies without a token, or from one agent, leave the others room', async () => {
  const app = await openTestApp({ telemetry: { maxQueuedBatches: 2048, maxQueuedBytes: 8 * 1024 * 1024 }, southbound: {}, listen: true });
  const sockets: import('node:net').Socket[] = [];
  try {
    const agentsOf: string[] = [];
    for (let i = 0; i < 2; i++) {
      assert.equal((await app.call('POST', '/v1/projects/default/hosts', app.admin, { name: `edge-h${i}`, spec: { serialNumber: `SN-HELD-${i}`, desiredState: 'onboarded' } })).status, 201);
      const et = (await app.call('POST', '/v1/projects/default/tokens', app.admin, { role: 'enrollment' })).json.token;
      agentsOf.push((await app.call('POST', '/southbound/v1/enroll', et, { serialNumber: `SN-HELD-${i}`, hostname: `edge-h${i}` })).json.token);
    }
    // Twenty bodies of 1 MiB announced without a token (the budget holds 8): each refused at once.
    const outsiders = await Promise.all(Array.from({ length: 20 }, () => heldBatch(app.url, {})));
    sockets.push(...outsiders.map((o) => o.socket));
    for (const o of outsiders) assert.match(await o.answer, /^HTTP\/1\.1 401/);
    // One agent holds 4 batches open; its fifth is refused, and another agent still gets in.
    const held = await Promise.all(Array.from({ length: 4 }, () => heldBatch(app.url, { authorization: `Bearer ${agentsOf[0]}` })));
    sockets.push(...held.map((h) => h.socket));
    await new Promise((r) => setTimeout(r, 200));
    const body = Buffer.from(encodeMetrics([{ name: 'held.test', attrs: {}, type: 'gauge', unit: '1', value: 1, t: Date.now() }], {}));
    const post = (agent: string, seq: number) =>
      fetch(`${app.url}/southbound/v1/otlp/v1/metrics`, { method: 'POST', headers: { authorization: `Bearer ${agent}`, 'content-type': 'application/json', 'x-eim-batch': `held.${seq}` }, body });
    const fifth = await post(agentsOf[0], 1);
    assert.equal(fifth.status, 429);
    assert.match(((await fifth.json()) as { error: { message: string } }).error.message, /4 telemetry batches in progress/);
    assert.equal(fifth.headers.get('retry-after'), '1');
    assert.equal((await post(agentsOf[1], 2)).status, 200, 'another host is not held up');
    // Its held batches gone, the first agent gets in again.
    for (const h of held) h.socket.destroy();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await post(agentsOf[0], 3)).status, 200);
  } finally {
    for (const s of sockets) s.destroy();
    await app.close();
  }
});

test('a batch whose agent goes away while it is authenticated holds nothing afterwards', async () => {
  const app = await openTestApp({ telemetry: {}, southbound: {}, listen: true });
  // Admission authenticates with identify (the rate token is taken later, by the handler).
  const slow = AgentAuth.prototype.identify;
  try {
    assert.equal((await app.call('POST', '/v1/projects/default/hosts', app.admin, { name: 'edge-gone', spec: { serialNumber: 'SN-GONE', desiredState: 'onboarded' } })).status, 201);
    const et = (await app.call('POST', '/v1/projects/default/tokens', app.admin, { role: 'enrollment' })).json.token;
    const token = (await app.call('POST', '/southbound/v1/enroll', et, { serialNumber: 'SN-GONE', hostname: 'edge-gone' })).json.token;
    // Authentication that waits (a cold cache: a signature check, a store read for mutual TLS).
    AgentAuth.prototype.identify = async function (this: AgentAuth, ...args: Parameters<AgentAuth['identify']>) {
      await new Promise((r) => setTimeout(r, 100));
      return slow.apply(this, args);
    };
    const u = new URL(app.url);
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => {
        const s = connect(Number(u.port), u.hostname, () => {
          s.write(`POST /southbound/v1/otlp/v1/metrics HTTP/1.1\r\nhost: ${u.host}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\nauthorization: Bearer ${token}\r\n\r\n{`);
          setTimeout(() => {
            s.destroy(); // the agent gives up while it is being authenticated
            resolve();
          }, 20);
        });
        s.on('error', () => {});
      });
    }
    await new Promise((r) => setTimeout(r, 300));
    AgentAuth.prototype.identify = slow;
    const body = Buffer.from(encodeMetrics([{ name: 'gone.test', attrs: {}, type: 'gauge', unit: '1', value: 1, t: Date.now() }], {}));
    const r = await fetch(`${app.url}/southbound/v1/otlp/v1/metrics`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
    assert.equal(r.status, 200, await r.text());
  } finally {
    AgentAuth.prototype.identify = slow;
    await app.close();
  }
});

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encodeMetrics } from '../../agent/telemetry/otlp-batch.ts';
import { openTestApp, type TestApp } from '../../testing/test-app.ts';

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

import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { Agent } from './agent.ts';
import { MemoryLog } from './agent-log.ts';
import { SimDiscovery } from './discovery/sim-discovery.ts';
import { SimExecutor } from './executor/sim-executor.ts';
import { SouthboundClient } from './southbound-client.ts';
import { FakeSouthbound } from './testing/fake-southbound.ts';

// Several servers without a load balancer: an agent given several --server URLs uses one, and when
// it cannot be reached (dead, restarting) moves its calls and its command stream to the next.

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
const start = async () => {
  const sb = await FakeSouthbound.start();
  cleanups.push(() => sb.close());
  return sb;
};
const until = async (what: string, ok: () => boolean, ms = 5000) => {
  const t0 = Date.now();
  while (!ok()) {
    assert.ok(Date.now() - t0 < ms, `${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('a southbound call that cannot reach its server goes to the next one, and later calls stay there', async () => {
  const b = await start();
  const dead = 'http://127.0.0.1:1'; // nothing listens on port 1
  const client = new SouthboundClient([dead, b.url], 'agent-token-1');
  cleanups.push(() => client.close());
  await client.sendHeartbeat({ seq: 1, intervalSeconds: 1 });
  assert.equal(client.server, b.url);
  await client.sendHeartbeat({ seq: 2, intervalSeconds: 1 });
  assert.deepEqual(b.heartbeats, [1, 2]);
  // An answer of the server (an error it gave) is not a reason to move.
  b.revokeAgentToken();
  await assert.rejects(client.sendHeartbeat({ seq: 3, intervalSeconds: 1 }), { code: 'unauthenticated' });
  assert.equal(client.server, b.url);
  // One server: the error comes back as it was.
  const single = new SouthboundClient(dead, 'agent-token-1');
  cleanups.push(() => single.close());
  await assert.rejects(single.sendHeartbeat({ seq: 1 }), { code: 'unavailable' });
});

test('every southbound call of the client moves to the next server when its own cannot be reached, node-config reports too', async () => {
  const b = await start();
  const dead = 'http://127.0.0.1:1'; // nothing listens on port 1
  const client = new SouthboundClient([dead, b.url], 'agent-token-1');
  cleanups.push(() => client.close());
  await client.reportNodeConfig({ version: 'v1', items: [] });
  assert.equal(client.server, b.url);
  assert.deepEqual(b.nodeConfigReports, [{ version: 'v1', items: [] }]);
});

test('an agent whose server dies moves its heartbeats and command stream to the next server and runs commands sent there', async () => {
  const a = await start();
  const b = await start();
  const log = new MemoryLog();
  const agent = new Agent({
    server: [a.url, b.url],
    enrollmentToken: 'enroll-secret',
    discovery: new SimDiscovery({ seed: 'failover' }),
    executor: new SimExecutor({ durationMs: 10 }),
    heartbeatMs: 50,
    rescanMs: 1000,
    backoffMinMs: 20,
    backoffMaxMs: 100,
    bootId: 'boot-1',
    log,
  });
  cleanups.unshift(() => agent.stop());
  const run = agent.run();
  await until('heartbeats and a stream on the first server', () => a.heartbeats.length > 2 && a.streams.length > 0);
  const aUrl = a.url;
  await a.close();
  await until('heartbeats and a stream on the second server', () => b.heartbeats.length > 2 && b.streams.length > 0);
  b.streams[b.streams.length - 1].send('command', { id: 'cmd-0000000f', type: 'apply-config', params: { version: 'v1', config: {} }, issuedAt: new Date().toISOString() }, '7');
  await until('the command result posted to the second server', () => b.results.some((r) => r.id === 'cmd-0000000f' && r.body.state === 'succeeded'));
  assert.ok(log.lines.some((l) => l.includes(`cannot reach ${aUrl}: using ${b.url}`)), log.lines.join('\n'));
  await agent.stop();
  await run;
});

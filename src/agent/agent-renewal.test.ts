import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { openTestApp } from '../testing/test-app.ts';
import { until } from '../testing/until.ts';
import { Agent } from './agent.ts';
import { MemoryLog } from './agent-log.ts';
import { SimDiscovery } from './discovery/sim-discovery.ts';
import { SimExecutor } from './executor/sim-executor.ts';

// Issue 9 item 16, the agent's side: it renews its token before it expires, saves it in agent.json,
// and keeps its stream; a token that expired anyway means enrolling again.

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'eim-agent-renew-'));
const MANAGER = { subject: 'm', grants: [{ project: '*', role: 'manager' as const }] };

test('the agent renews its 3-second token before it expires, saves it atomically, and its stream keeps delivering', async () => {
  const srv = await openTestApp({ southbound: { leaseCheckMs: 100, limits: { agentTokenTtlSeconds: 3 } }, listen: true });
  const dir = tmp();
  const log = new MemoryLog();
  const discovery = new SimDiscovery({ seed: 'renew', hostname: 'renew-1' });
  const et = (await srv.call('POST', '/v1/projects/default/tokens', srv.admin, { role: 'enrollment', autoRegister: true })).json.token;
  const agent = new Agent({ server: srv.url, enrollmentToken: et, dataDir: dir, discovery, executor: new SimExecutor({ durationMs: 10 }), heartbeatMs: 200, rescanMs: 60_000, log });
  const run = agent.run();
  try {
    await until(() => agent.hostId, 'enrolled');
    const first = JSON.parse(readFileSync(path.join(dir, 'agent.json'), 'utf8')).token;
    await until(() => agent.stats.renewals >= 2, 'two renewals', { timeoutMs: 10_000 });
    // Past the first token's lifetime: it has expired, the agent works on.
    await until(async () => (await srv.call('POST', '/southbound/v1/heartbeat', first, {})).status === 401, 'the first token expired', { timeoutMs: 5000, intervalMs: 100 });
    const saved = JSON.parse(readFileSync(path.join(dir, 'agent.json'), 'utf8'));
    assert.notEqual(saved.token, first);
    assert.equal((await srv.call('POST', '/southbound/v1/heartbeat', saved.token, {})).status, 204, 'the saved token is valid');
    const mgr = srv.inventory.as(MANAGER);
    const cmd = await mgr.create('default', 'Command', { name: 'cfg', spec: { hostId: agent.hostId!, type: 'apply-config', params: { version: 'v1', config: {} }, ownerId: agent.hostId! }, status: { state: 'pending' } });
    await until(async () => (await mgr.get('default', 'Command', cmd.id)).status.state === 'succeeded', 'a command after the renewals is delivered and answered');
    assert.equal((await mgr.get('default', 'Host', agent.hostId!)).status.hostStatus?.message, 'running');
    assert.ok(agent.stats.streamConnections >= 3, `the stream moved to each renewed token (${agent.stats.streamConnections} connections)`);
    assert.deepEqual(log.lines.filter((l) => /revoked|expired/.test(l)), [], 'never revoked, never expired');
  } finally {
    agent.stop();
    assert.deepEqual(await run, { reason: 'stopped' });
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an agent whose token expired while it was off exits "expired", forgets the token, and enrols again as the same host', async () => {
  const srv = await openTestApp({ southbound: { leaseCheckMs: 1000, limits: { agentTokenTtlSeconds: 1 } }, listen: true });
  const dir = tmp();
  try {
    const discovery = new SimDiscovery({ seed: 'expire', hostname: 'expire-1' });
    const et = (await srv.call('POST', '/v1/projects/default/tokens', srv.admin, { role: 'enrollment', autoRegister: true })).json.token;
    const make = (enrollmentToken?: string) =>
      new Agent({ server: srv.url, ...(enrollmentToken ? { enrollmentToken } : {}), dataDir: dir, discovery, executor: new SimExecutor({ durationMs: 10 }), heartbeatMs: 5000, rescanMs: 60_000, log: new MemoryLog() });
    const a = make(et);
    const runA = a.run();
    await until(() => a.hostId, 'enrolled');
    const hostId = a.hostId;
    a.stop();
    await runA;
    await new Promise((r) => setTimeout(r, 1500)); // off for longer than the token lives
    const b = make(); // no enrollment token: it cannot enrol again by itself
    const exit = await b.run();
    // 'expired' when b is the first to find the token stale; on a slow machine a may already have
    // (its run outlived the 1 s token) and saved that, and b then refuses to start without an
    // enrollment token, saying why. Either way the token is gone and the reason is its expiry.
    assert.ok(exit.reason === 'expired' || exit.reason === 'refused', JSON.stringify(exit));
    assert.match(exit.message, /expired/);
    const state = JSON.parse(readFileSync(path.join(dir, 'agent.json'), 'utf8'));
    assert.equal(state.token, undefined);
    assert.ok(state.expiredAt);
    const c = make(et); // the same enrollment token is fine: nothing was revoked
    const runC = c.run();
    await until(() => c.hostId, 'enrolled again');
    assert.equal(c.hostId, hostId, 'the same host');
    c.stop();
    assert.deepEqual(await runC, { reason: 'stopped' });
  } finally {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

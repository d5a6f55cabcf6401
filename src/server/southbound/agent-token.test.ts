import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeJwt } from 'jose';
import { openTestApp, type TestApp } from '../../testing/test-app.ts';
import { until } from '../../testing/until.ts';
import { buildApp } from '../app.ts';
import { startSouthbound } from './southbound.ts';

// Issue 9 item 16: agent tokens have a lifetime, are renewed over the southbound, and go with their host.

async function enrol(srv: TestApp, serial: string) {
  const host = (await srv.call('POST', '/v1/projects/default/hosts', srv.admin, { name: serial.toLowerCase(), spec: { serialNumber: serial, desiredState: 'onboarded' } })).json;
  const et = (await srv.call('POST', '/v1/projects/default/tokens', srv.admin, { role: 'enrollment' })).json.token;
  const r = await srv.call('POST', '/southbound/v1/enroll', et, { serialNumber: serial, hostname: serial.toLowerCase() });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return { host, ...(r.json as { hostId: string; token: string; expiresAt: string }) };
}

const beat = async (srv: TestApp, token: string) => (await srv.call('POST', '/southbound/v1/heartbeat', token, {})).status;

test('an agent token lives agentTokenTtlSeconds; renewal gives a fresh one and keeps the old valid until it expires', async () => {
  const srv = await openTestApp({ southbound: { leaseCheckMs: 1000, limits: { agentTokenTtlSeconds: 3600 } } });
  try {
    const t0 = Date.now();
    const a = await enrol(srv, 'SN-TTL');
    const exp = decodeJwt(a.token).exp! * 1000;
    assert.ok(Math.abs(exp - (t0 + 3600_000)) < 5000, 'the token expires after the configured lifetime');
    assert.equal(Date.parse(a.expiresAt), exp, 'and says when');
    const r = await srv.call('POST', '/southbound/v1/renew', a.token);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.notEqual(r.json.token, a.token);
    assert.equal(decodeJwt(r.json.token).host, a.hostId, 'bound to the same host');
    assert.ok(Date.parse(r.json.expiresAt) >= Date.parse(a.expiresAt));
    assert.deepEqual([await beat(srv, a.token), await beat(srv, r.json.token)], [204, 204], 'a lost answer costs nothing: both work');
    // Renewals are rate-limited per host (each mints a token): burst 5, then one a minute.
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await srv.call('POST', '/southbound/v1/renew', r.json.token)).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
    // Only agent tokens renew.
    assert.equal((await srv.call('POST', '/southbound/v1/renew', srv.admin)).status, 403);
  } finally {
    await srv.close();
  }
});

test('an expired agent token is refused with details.reason "expired", and cannot be renewed', async () => {
  const srv = await openTestApp({ southbound: { leaseCheckMs: 1000, limits: { agentTokenTtlSeconds: 2 } } });
  try {
    const a = await enrol(srv, 'SN-SHORT');
    assert.equal(await beat(srv, a.token), 204);
    await until(async () => (await beat(srv, a.token)) === 401, 'expired', { timeoutMs: 5000, intervalMs: 100 });
    const r = await srv.call('POST', '/southbound/v1/renew', a.token);
    assert.equal(r.status, 401);
    assert.equal(r.json.error.details?.reason, 'expired');
  } finally {
    await srv.close();
  }
});

test('invalidating or deleting the host revokes every agent token it has, renewed ones included; renewal is refused', async () => {
  const srv = await openTestApp({ southbound: { leaseCheckMs: 1000 } });
  try {
    const a = await enrol(srv, 'SN-GONE');
    const renewed = (await srv.call('POST', '/southbound/v1/renew', a.token)).json.token;
    assert.equal((await srv.call('PATCH', `/v1/projects/default/hosts/${a.hostId}`, srv.admin, { spec: { desiredState: 'untrusted' } })).status, 200);
    await until(async () => (await beat(srv, a.token)) === 401 && (await beat(srv, renewed)) === 401, 'both revoked');
    assert.equal((await srv.call('POST', '/southbound/v1/renew', renewed)).status, 401);

    const b = await enrol(srv, 'SN-DEL');
    const renewedB = (await srv.call('POST', '/southbound/v1/renew', b.token)).json.token;
    assert.equal((await srv.call('DELETE', `/v1/projects/default/hosts/${b.hostId}?force=true`, srv.admin)).status, 200);
    await until(async () => (await beat(srv, b.token)) === 401 && (await beat(srv, renewedB)) === 401, 'both revoked with the host');
  } finally {
    await srv.close();
  }
});

test('a host invalidated while no server listened (a crash before the revocation) loses its agent tokens when a server starts', async () => {
  const srv = await openTestApp(); // no southbound layer yet: nobody hears the host events
  const sb: { stop?: () => Promise<void> } = {};
  try {
    const host = (await srv.call('POST', '/v1/projects/default/hosts', srv.admin, { name: 'h', spec: { serialNumber: 'SN-CRASH', desiredState: 'onboarded' } })).json;
    const token = (await srv.tokens.issue({ subject: `agent/${host.id}`, grants: [{ project: 'default', role: 'agent' }], hostId: host.id })).token;
    assert.equal((await srv.call('PATCH', `/v1/projects/default/hosts/${host.id}`, srv.admin, { spec: { desiredState: 'untrusted' } })).status, 200);
    // The server that starts now (on the same store).
    const app = await buildApp({ inventory: srv.inventory, tokens: srv.tokens });
    const started = await startSouthbound(app, { service: srv.inventory, tokens: srv.tokens, leaseCheckMs: 1000 });
    sb.stop = async () => {
      await started.stop();
      await app.close();
    };
    const r = await app.inject({ method: 'POST', url: '/southbound/v1/heartbeat', headers: { authorization: `Bearer ${token}` }, payload: {} });
    assert.equal(r.statusCode, 401);
  } finally {
    await sb.stop?.();
    await srv.close();
  }
});

test('a host force-deleted while no server listened (a crash before the revocation) loses its agent tokens when a server starts', async () => {
  const srv = await openTestApp(); // no southbound layer yet: nobody hears the host events
  const sb: { stop?: () => Promise<void> } = {};
  try {
    const host = (await srv.call('POST', '/v1/projects/default/hosts', srv.admin, { name: 'h', spec: { serialNumber: 'SN-CRASH-DEL', desiredState: 'onboarded' } })).json;
    const kept = (await srv.call('POST', '/v1/projects/default/hosts', srv.admin, { name: 'k', spec: { serialNumber: 'SN-KEPT', desiredState: 'onboarded' } })).json;
    const token = (await srv.tokens.issue({ subject: `agent/${host.id}`, grants: [{ project: 'default', role: 'agent' }], hostId: host.id })).token;
    const keptToken = (await srv.tokens.issue({ subject: `agent/${kept.id}`, grants: [{ project: 'default', role: 'agent' }], hostId: kept.id })).token;
    assert.equal((await srv.call('DELETE', `/v1/projects/default/hosts/${host.id}?force=true`, srv.admin)).status, 200);
    // The server that starts now (on the same store).
    const app = await buildApp({ inventory: srv.inventory, tokens: srv.tokens });
    const started = await startSouthbound(app, { service: srv.inventory, tokens: srv.tokens, leaseCheckMs: 1000 });
    sb.stop = async () => {
      await started.stop();
      await app.close();
    };
    const beatWith = async (t: string) => (await app.inject({ method: 'POST', url: '/southbound/v1/heartbeat', headers: { authorization: `Bearer ${t}` }, payload: {} })).statusCode;
    assert.equal(await beatWith(token), 401, 'the gone host\'s token is refused');
    assert.equal(await beatWith(keptToken), 204, 'an existing host\'s token still works');
  } finally {
    await sb.stop?.();
    await srv.close();
  }
});

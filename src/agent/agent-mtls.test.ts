import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { httpsCall } from '../testing/https-call.ts';
import { type MtlsTestApp, openMtlsTestApp } from '../testing/mtls-test-app.ts';
import { until } from '../testing/until.ts';
import { openTestApp } from '../testing/test-app.ts';
import { readTlsFiles } from '../server/tls-material.ts';
import { Agent } from './agent.ts';
import { agentCertificate, createCertificateRequest, MemoryCertificateStore } from './agent-certificate.ts';
import { MemoryLog } from './agent-log.ts';
import { MemoryStateStore } from './agent-state.ts';
import { SimDiscovery } from './discovery/sim-discovery.ts';
import { SimExecutor } from './executor/sim-executor.ts';

// Mutual TLS for agents, the agent's side: it makes its key and CSR, keeps key and certificate in
// <data-dir>/agent-tls.pem (0600), presents the certificate on every call and its stream, renews
// it before it expires, and enrols again when the server refuses it.

const MANAGER = { subject: 'm', grants: [{ project: '*', role: 'manager' as const }] };
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'eim-agent-mtls-'));

/** The certificate and key in agent-tls.pem. */
function savedCertificate(dir: string): { cert: string; key: string; mode: number } {
  const file = path.join(dir, 'agent-tls.pem');
  const text = readFileSync(file, 'utf8');
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)![0];
  const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(text)![0];
  return { cert, key, mode: statSync(file).mode & 0o777 };
}

describe('the agent with mutual TLS', () => {
  let srv: MtlsTestApp;
  let et: string;
  before(async () => {
    // Certificates live 4 s: the agent renews each at 30-50 % of that left.
    srv = await openMtlsTestApp({ certificateTtlSeconds: 4 });
    et = (await srv.call('POST', '/v1/projects/default/tokens', srv.admin, { role: 'enrollment', autoRegister: true })).json.token;
  });
  after(() => srv?.close());

  const agentIn = (dir: string, seed: string, enrollmentToken?: string) =>
    new Agent({
      server: srv.url,
      ca: srv.serverCa.cert,
      ...(enrollmentToken ? { enrollmentToken } : {}),
      dataDir: dir,
      discovery: new SimDiscovery({ seed, hostname: seed }),
      executor: new SimExecutor({ durationMs: 10 }),
      heartbeatMs: 200,
      rescanMs: 60_000,
      log: new MemoryLog(),
    });

  test('it enrols with a CSR, keeps key and certificate in agent-tls.pem (0600), renews the certificate, and its calls and stream work throughout', async () => {
    const dir = tmp();
    const agent = agentIn(dir, 'mtls-1', et);
    const run = agent.run();
    try {
      await until(() => agent.hostId, 'enrolled');
      const first = savedCertificate(dir);
      assert.equal(first.mode, 0o600);
      const x = new X509Certificate(first.cert);
      assert.equal(x.subjectAltName, `URI:urn:eim:host:${agent.hostId}, URI:urn:eim:project:default`);
      assert.ok(x.checkPrivateKey(createPrivateKey(first.key)), 'the key it made is the certificate\'s');
      const state = JSON.parse(readFileSync(path.join(dir, 'agent.json'), 'utf8'));
      assert.doesNotMatch(JSON.stringify(state), /PRIVATE KEY/, 'the key is not in agent.json');

      await until(() => agent.stats.certificateRenewals >= 2, 'two certificate renewals', { timeoutMs: 15_000, intervalMs: 50 });
      const now = savedCertificate(dir);
      assert.notEqual(now.cert, first.cert);
      assert.notEqual(createPublicKey(now.key).export({ format: 'pem', type: 'spki' }), createPublicKey(first.key).export({ format: 'pem', type: 'spki' }), 'a new key each time');
      // The first certificate has expired by now; the agent works on with its renewed one.
      const token = JSON.parse(readFileSync(path.join(dir, 'agent.json'), 'utf8')).token;
      await until(
        async () => (await httpsCall(`${srv.url}/southbound/v1/heartbeat`, { method: 'POST', ca: srv.serverCa.cert, token, cert: first.cert, key: first.key, body: {} })).status === 401,
        'the first certificate expired',
        { timeoutMs: 10_000, intervalMs: 200 },
      );
      const mgr = srv.inventory.as(MANAGER);
      const cmd = await mgr.create('default', 'Command', { name: 'cfg', spec: { hostId: agent.hostId!, type: 'apply-config', params: { version: 'v1', config: {} }, ownerId: agent.hostId! }, status: { state: 'pending' } });
      await until(async () => (await mgr.get('default', 'Command', cmd.id)).status.state === 'succeeded', 'a command on the stream after the renewals, answered');
      assert.equal((await mgr.get('default', 'Host', agent.hostId!)).status.hostStatus?.message, 'running');
      assert.ok(agent.stats.streamConnections >= 2, `the stream moved onto the renewed certificate (${agent.stats.streamConnections} connections)`);
      assert.deepEqual((agent.options.log as MemoryLog).lines.filter((l) => /revoked|expired|refused|failed/.test(l)), []);
    } finally {
      agent.stop();
      assert.deepEqual(await run, { reason: 'stopped' });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an agent without its certificate (enrolled before mutual TLS, or the file lost) exits to enrol again, and enrols again as the same host', async () => {
    const dir = tmp();
    try {
      const a = agentIn(dir, 'mtls-2', et);
      const runA = a.run();
      await until(() => a.hostId, 'enrolled');
      const hostId = a.hostId;
      a.stop();
      await runA;
      rmSync(path.join(dir, 'agent-tls.pem'));
      const b = agentIn(dir, 'mtls-2'); // agent.json holds a token; no certificate
      const exit = await b.run();
      assert.equal(exit.reason, 'expired', JSON.stringify(exit));
      assert.match((exit as { message: string }).message, /refused the client certificate.*enrol again/);
      assert.equal(JSON.parse(readFileSync(path.join(dir, 'agent.json'), 'utf8')).token, undefined, 'the token is forgotten');
      const c = agentIn(dir, 'mtls-2', et);
      const runC = c.run();
      await until(() => c.hostId, 'enrolled again');
      assert.equal(c.hostId, hostId);
      assert.ok(savedCertificate(dir).cert);
      await until(() => c.stats.heartbeats > 0, 'heartbeats with the new certificate');
      c.stop();
      assert.deepEqual(await runC, { reason: 'stopped' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an invalidated host: the agent stops as revoked, and its certificate gets nothing more', async () => {
    const dir = tmp();
    try {
      const a = agentIn(dir, 'mtls-3', et);
      const run = a.run();
      await until(() => a.stats.heartbeats > 0, 'running');
      const saved = savedCertificate(dir);
      const token = JSON.parse(readFileSync(path.join(dir, 'agent.json'), 'utf8')).token;
      assert.equal((await srv.call('PATCH', `/v1/projects/default/hosts/${a.hostId}`, srv.admin, { spec: { desiredState: 'untrusted' } })).status, 200);
      const exit = await run;
      assert.equal(exit.reason, 'revoked');
      const r = await httpsCall(`${srv.url}/southbound/v1/heartbeat`, { method: 'POST', ca: srv.serverCa.cert, token, cert: saved.cert, key: saved.key, body: {} });
      assert.equal(r.status, 401);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('against a server that no longer signs agent certificates (mutual TLS turned off), the agent drops its certificate and works on', async () => {
    const plain = await openTestApp({ app: { listener: { tls: readTlsFiles({ certFile: srv.files['tls.crt'], keyFile: srv.files['tls.key'] }) } }, southbound: { leaseCheckMs: 100 }, listen: true });
    try {
      const etPlain = (await plain.call('POST', '/v1/projects/default/tokens', plain.admin, { role: 'enrollment', autoRegister: true })).json.token;
      const enrolled = await httpsCall(`${plain.url}/southbound/v1/enroll`, { method: 'POST', ca: srv.serverCa.cert, token: etPlain, body: { hostname: 'was-mtls' } });
      assert.equal(enrolled.status, 200, enrolled.text);
      assert.equal(enrolled.json.certificate, undefined, 'no certificate from a server without an agent CA');
      // A certificate from when the server had mutual TLS on (4 s: its renewal is due at once).
      const req = await createCertificateRequest('was-mtls');
      const issued = await srv.agentCa.issue(await srv.agentCa.checkCsr(req.csr), enrolled.json.hostId, 'default');
      const certificates = new MemoryCertificateStore();
      certificates.save(agentCertificate(req.key, issued.certificate));
      const log = new MemoryLog();
      const agent = new Agent({
        server: plain.url,
        ca: srv.serverCa.cert,
        stateStore: new MemoryStateStore({ server: plain.url, hostId: enrolled.json.hostId, project: 'default', token: enrolled.json.token, enrolledAt: new Date().toISOString() }),
        certificateStore: certificates,
        discovery: new SimDiscovery({ seed: 'was-mtls', hostname: 'was-mtls' }),
        executor: new SimExecutor({ durationMs: 10 }),
        heartbeatMs: 200,
        rescanMs: 60_000,
        log,
      });
      const run = agent.run();
      await until(() => certificates.load() === undefined, 'the certificate is dropped', { timeoutMs: 10_000, intervalMs: 50 });
      const beats = agent.stats.heartbeats;
      await until(() => agent.stats.heartbeats > beats + 1, 'heartbeats go on');
      assert.ok(log.lines.some((l) => /no longer signs agent certificates/.test(l)), log.lines.join('\n'));
      agent.stop();
      assert.deepEqual(await run, { reason: 'stopped' });
    } finally {
      await plain.close();
    }
  });
});

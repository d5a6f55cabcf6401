import assert from 'node:assert/strict';
import { X509Certificate, webcrypto } from 'node:crypto';
import https from 'node:https';
import { after, before, describe, test } from 'node:test';
import * as x509 from '@peculiar/x509';
import { createCertificateRequest } from '../../agent/agent-certificate.ts';
import { headOnly } from '../../testing/head-only.ts';
import { httpsCall } from '../../testing/https-call.ts';
import { type MtlsTestApp, openMtlsTestApp } from '../../testing/mtls-test-app.ts';
import { makeTestCa, type TestCa, writeCerts } from '../../testing/test-certs.ts';
import { tempDir } from '../../testing/test-stores.ts';
import { until } from '../../testing/until.ts';
import { AgentCa } from './agent-ca.ts';

// Mutual TLS for agents (issue 9, "Encrypt every link"): enrolment signs the agent's CSR into a
// client certificate bound to its host; every other southbound call needs that certificate, of
// this server's agent CA, valid now, for the token's own host, whose host is still admitted.
// Certificates are made in the test (selfsigned, @peculiar/x509), never with openssl.

interface Enrolled {
  hostId: string;
  project: string;
  token: string;
  cert: string;
  key: string;
}

describe('mutual TLS for agents (in-process HTTPS server)', () => {
  const tmp = tempDir();
  let serverCa: TestCa;
  let agentCa: AgentCa;
  let otherCa: AgentCa;
  let srv: MtlsTestApp;
  let enrollmentToken: string;
  const sb = (path: string) => `${srv.url}/southbound/v1/${path}`;

  before(async () => {
    srv = await openMtlsTestApp({ certificateTtlSeconds: 3600 });
    ({ serverCa, agentCa } = srv);
    const others = await makeTestCa('eim agents'); // the same name as ours: only the key tells them apart
    const f = writeCerts(tmp.dir, { 'other.crt': others.cert, 'other.key': others.key });
    otherCa = await AgentCa.read({ certFile: f['other.crt'], keyFile: f['other.key'] });
    enrollmentToken = (await srv.call('POST', '/v1/projects/default/tokens', srv.admin, { role: 'enrollment', autoRegister: true })).json.token;
  });
  after(async () => {
    await srv?.close();
    tmp.remove();
  });

  const enrol = async (hostname: string): Promise<Enrolled> => {
    const req = await createCertificateRequest(hostname);
    const r = await httpsCall(sb('enroll'), { method: 'POST', ca: serverCa.cert, token: enrollmentToken, body: { hostname, csr: req.csr } });
    assert.equal(r.status, 200, r.text);
    return { hostId: r.json.hostId, project: r.json.project, token: r.json.token, cert: r.json.certificate, key: req.key };
  };
  const heartbeat = (a: { token: string; cert?: string; key?: string }) => httpsCall(sb('heartbeat'), { method: 'POST', ca: serverCa.cert, token: a.token, cert: a.cert, key: a.key, body: { seq: 1 } });
  const hostCount = async () => (await srv.call('GET', '/v1/projects/default/hosts', srv.admin)).json.items.length as number;

  test('enrolment signs the CSR into a short-lived client certificate bound to the host; calls with it and the token work', async () => {
    assert.match(srv.url, /^https:/);
    const a = await enrol('edge-1');
    const x = new X509Certificate(a.cert);
    assert.equal(x.subject, `CN=${a.hostId}\nO=default`);
    assert.equal(x.subjectAltName, `URI:urn:eim:host:${a.hostId}, URI:urn:eim:project:default`);
    assert.ok(x.checkIssued(agentCa.cert) && x.verify(agentCa.cert.publicKey), 'signed by the agent CA');
    assert.equal(x.ca, false);
    assert.ok(x.keyUsage?.includes('1.3.6.1.5.5.7.3.2'), `client authentication only (${x.keyUsage})`);
    const life = Date.parse(x.validTo) - Date.now();
    assert.ok(life > 3500_000 && life <= 3600_000, `valid the configured hour (${life} ms left)`);
    assert.equal((await heartbeat(a)).status, 204);
    const stream = await httpsCall(sb('stream'), { ca: serverCa.cert, token: a.token, cert: a.cert, key: a.key, stream: true });
    assert.equal(stream.status, 200);
    assert.match(stream.text, /: connected/);
  });

  test('/v1 users need no client certificate', async () => {
    const r = await httpsCall(`${srv.url}/v1/projects/default/hosts`, { ca: serverCa.cert, token: srv.admin });
    assert.equal(r.status, 200);
  });

  test('the southbound refuses an agent token without a certificate, with another CA\'s certificate for its host, or with an expired one', async () => {
    const a = await enrol('edge-2');
    const none = await heartbeat({ token: a.token });
    assert.equal(none.status, 401, none.text);
    assert.equal(none.json.error.details.reason, 'client-certificate');
    assert.equal(none.json.error.details.problem, 'missing');
    const noStream = await httpsCall(sb('stream'), { ca: serverCa.cert, token: a.token, stream: true });
    assert.equal(noStream.status, 401, 'nor the stream');
    const noRenewal = await httpsCall(sb('renew'), { method: 'POST', ca: serverCa.cert, token: a.token });
    assert.equal(noRenewal.status, 401, 'nor a token renewal');
    for (const signal of ['metrics', 'logs']) {
      const noTelemetry = await httpsCall(sb(`otlp/v1/${signal}`), { method: 'POST', ca: serverCa.cert, token: a.token, body: {} });
      assert.equal(noTelemetry.status, 401, `nor telemetry (${signal}): ${noTelemetry.text}`);
      assert.equal(noTelemetry.json.error.details.reason, 'client-certificate');
      const withIt = await httpsCall(sb(`otlp/v1/${signal}`), { method: 'POST', ca: serverCa.cert, token: a.token, cert: a.cert, key: a.key, body: {} });
      assert.equal(withIt.status, 200, `telemetry with the certificate (${signal}): ${withIt.text}`);
    }

    // The same names, signed by another CA (same subject name, even).
    const req = await createCertificateRequest('forged');
    const forged = await otherCa.issue(await otherCa.checkCsr(req.csr), a.hostId, 'default');
    const other = await heartbeat({ token: a.token, cert: forged.certificate, key: req.key });
    assert.equal(other.status, 401, other.text);
    assert.equal(other.json.error.details.problem, 'untrusted');

    // Our CA, but expired: signed "9 days ago" for 1 day.
    const old = await AgentCa.read({ certFile: srv.files['agent-ca.crt'], keyFile: srv.files['agent-ca.key'], certificateTtlSeconds: 86_400, now: () => Date.now() - 9 * 86_400_000 });
    const req2 = await createCertificateRequest('old');
    const expired = await old.issue(await old.checkCsr(req2.csr), a.hostId, 'default');
    const late = await heartbeat({ token: a.token, cert: expired.certificate, key: req2.key });
    assert.equal(late.status, 401, late.text);
    assert.equal(late.json.error.details.problem, 'expired');
    // Our CA, but from a clock an hour ahead (past the 5 minutes certificates are backdated): the
    // message names the clocks, not a foreign CA.
    const ahead = await AgentCa.read({ certFile: srv.files['agent-ca.crt'], keyFile: srv.files['agent-ca.key'], now: () => Date.now() + 3_600_000 });
    const req3 = await createCertificateRequest('ahead');
    const early = await ahead.issue(await ahead.checkCsr(req3.csr), a.hostId, 'default');
    const soon = await heartbeat({ token: a.token, cert: early.certificate, key: req3.key });
    assert.equal(soon.status, 401, soon.text);
    assert.equal(soon.json.error.details.problem, 'untrusted');
    assert.match(soon.json.error.message, /not valid yet .*clock/);
    assert.equal((await heartbeat(a)).status, 204, 'its own certificate still works');
  });

  test("a valid certificate of host A with host B's token is refused, and the other way round", async () => {
    const a = await enrol('edge-a');
    const b = await enrol('edge-b');
    const crossed = await heartbeat({ token: b.token, cert: a.cert, key: a.key });
    assert.equal(crossed.status, 403, crossed.text);
    assert.match(crossed.json.error.message, new RegExp(`certificate is for host ${a.hostId}.*token for host ${b.hostId}`));
    assert.equal((await heartbeat({ token: a.token, cert: b.cert, key: b.key })).status, 403);
    const stream = await httpsCall(sb('stream'), { ca: serverCa.cert, token: b.token, cert: a.cert, key: a.key, stream: true });
    assert.equal(stream.status, 403, 'nor its stream');
    const cmdResult = await httpsCall(sb('commands/cmd-00000000/result'), { method: 'POST', ca: serverCa.cert, token: b.token, cert: a.cert, key: a.key, body: { state: 'succeeded' } });
    assert.equal(cmdResult.status, 403, 'nor a command result');
  });

  test('enrolment needs a usable CSR (Ed25519 or P-256, signed by its key); a refused one enrols nothing', async () => {
    const before = await hostCount();
    const call = (body: object) => httpsCall(sb('enroll'), { method: 'POST', ca: serverCa.cert, token: enrollmentToken, body: { hostname: 'csr-test', ...body } });
    const missing = await call({});
    assert.equal(missing.status, 400);
    assert.match(missing.json.error.message, /requires mutual TLS.*csr/);
    assert.equal((await call({ csr: 'not a csr' })).status, 400);
    assert.equal((await call({ csr: 'x'.repeat(5000) })).status, 400, 'bounded by length');
    // An RSA key is refused (only Ed25519 and P-256).
    const rsaAlg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
    const rsa = (await webcrypto.subtle.generateKey(rsaAlg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const rsaCsr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=rsa', keys: rsa, signingAlgorithm: rsaAlg });
    const r = await call({ csr: rsaCsr.toString('pem') });
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /Ed25519 or ECDSA P-256/);
    // A CSR whose signature is not its key's: another key's request with this public key swapped in.
    const mine = await createCertificateRequest('mine');
    const theirs = await createCertificateRequest('theirs');
    const swapped = swapPublicKey(mine.csr, theirs.csr);
    const bad = await call({ csr: swapped });
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.json.error.message, /signature/);
    assert.equal(await hostCount(), before, 'no host was registered by a refused enrolment');
    // Ed25519 is fine.
    const ed = (await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const edCsr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=ed', keys: ed, signingAlgorithm: { name: 'Ed25519' } });
    const ok = await call({ csr: edCsr.toString('pem') });
    assert.equal(ok.status, 200, ok.text);
    assert.ok(ok.json.certificate && ok.json.certificateExpiresAt);
  });

  test('renewal: a new CSR over the southbound gets a new certificate; both work until the old one expires', async () => {
    const a = await enrol('edge-renew');
    const next = await createCertificateRequest('edge-renew');
    const r = await httpsCall(sb('certificate'), { method: 'POST', ca: serverCa.cert, token: a.token, cert: a.cert, key: a.key, body: { csr: next.csr } });
    assert.equal(r.status, 200, r.text);
    const x = new X509Certificate(r.json.certificate);
    assert.equal(x.subjectAltName, `URI:urn:eim:host:${a.hostId}, URI:urn:eim:project:default`);
    assert.notEqual(x.serialNumber, new X509Certificate(a.cert).serialNumber);
    assert.ok(Date.parse(r.json.expiresAt) > Date.now() + 3500_000);
    assert.equal((await heartbeat({ token: a.token, cert: r.json.certificate, key: next.key })).status, 204, 'the new certificate');
    assert.equal((await heartbeat(a)).status, 204, 'the old one, until it expires');
    const noCert = await httpsCall(sb('certificate'), { method: 'POST', ca: serverCa.cert, token: a.token, body: { csr: next.csr } });
    assert.equal(noCert.status, 401, 'a token alone gets no certificate');
    const badCsr = await httpsCall(sb('certificate'), { method: 'POST', ca: serverCa.cert, token: a.token, cert: a.cert, key: a.key, body: { csr: 'nope' } });
    assert.equal(badCsr.status, 400);
    const b = await enrol('edge-renew-other');
    const crossed = await httpsCall(sb('certificate'), { method: 'POST', ca: serverCa.cert, token: b.token, cert: a.cert, key: a.key, body: { csr: next.csr } });
    assert.equal(crossed.status, 403, "host A's certificate cannot renew for host B");
  });

  test('a call whose certificate is missing or another host\'s is refused from its head, before its body is read', async () => {
    // As a call without a valid token (token-first.test.ts): with mutual TLS, an agent token
    // without its host's certificate is no credential, and must not make the server wait for and
    // parse a body (up to 1 MiB each, for 30 s) before it says so.
    const a = await enrol('edge-head');
    const b = await enrol('edge-head-other');
    const routes = [
      ['POST', 'certificate'],
      ['POST', 'renew'],
      ['POST', 'heartbeat'],
      ['POST', 'hardware'],
      ['POST', 'status'],
      ['POST', 'node-config'],
      ['POST', 'commands/cmd-00000000/result'],
      ['GET', 'stream'],
      ['POST', 'otlp/v1/metrics'],
    ] as const;
    for (const [method, path] of routes) {
      const none = await headOnlyOverTls(srv.url, serverCa.cert, method, `/southbound/v1/${path}`, { token: a.token }, 400_000, 3000);
      assert.match(none, /^HTTP\/1\.1 401 /, `${method} ${path} without a certificate`);
      const crossed = await headOnlyOverTls(srv.url, serverCa.cert, method, `/southbound/v1/${path}`, { token: b.token, cert: a.cert, key: a.key }, 400_000, 3000);
      assert.match(crossed, /^HTTP\/1\.1 403 /, `${method} ${path} with another host's certificate`);
    }
    // A malformed body without the certificate: 401, not a 400 about the body.
    const bad = await httpsCallRaw(sb('heartbeat'), serverCa.cert, a.token, '{not json');
    assert.equal(bad.status, 401, bad.text);
    // With its own certificate, the body is waited for (never sent here), read and answered.
    assert.equal(await headOnlyOverTls(srv.url, serverCa.cert, 'POST', '/southbound/v1/heartbeat', { token: a.token, cert: a.cert, key: a.key }, 1000, 500), 'no answer');
  });

  test("an invalidated or deleted host's certificate is refused, even with a valid agent token for it", async () => {
    const a = await enrol('edge-untrusted');
    const b = await enrol('edge-deleted');
    assert.equal((await heartbeat(a)).status, 204);
    assert.equal((await heartbeat(b)).status, 204);
    assert.equal((await srv.call('PATCH', `/v1/projects/default/hosts/${a.hostId}`, srv.admin, { spec: { desiredState: 'untrusted' } })).status, 200);
    assert.equal((await srv.call('DELETE', `/v1/projects/default/hosts/${b.hostId}?force=true`, srv.admin)).status < 300, true);
    // A token minted after the revocation (as an admin may, or one not yet known as revoked) does not help.
    for (const h of [a, b]) {
      await until(async () => (await heartbeat(h)).status === 401, `the certificate of ${h.hostId} is refused`, { timeoutMs: 5000, intervalMs: 50 });
      const fresh = (await srv.tokens.issue({ subject: `agent/${h.hostId}`, grants: [{ project: 'default', role: 'agent' }], hostId: h.hostId, ttlSeconds: 600 })).token;
      const r = await heartbeat({ ...h, token: fresh });
      assert.equal(r.status, 401, r.text);
      assert.match(r.json.error.message, /untrusted, being deleted or gone: its agent certificates are refused/);
      assert.equal(r.json.error.details?.reason, undefined, 'a revocation, not a certificate to renew: the agent stops');
      const renew = await httpsCall(sb('certificate'), { method: 'POST', ca: serverCa.cert, token: fresh, cert: h.cert, key: h.key, body: { csr: (await createCertificateRequest('x')).csr } });
      assert.equal(renew.status, 401, 'and it gets no new certificate');
    }
  });
});

/** headOnly over TLS to the test server, with the agent's token and, when given, its certificate. */
function headOnlyOverTls(url: string, ca: string, method: string, path: string, o: { token: string; cert?: string; key?: string }, length: number, ms: number): Promise<string> {
  return headOnly(url, method, path, { authorization: `Bearer ${o.token}` }, length, ms, { ca, servername: 'localhost', ...(o.cert ? { cert: o.cert, key: o.key } : {}) });
}

/** A POST of `body` as it is (no JSON encoding), without a client certificate. */
function httpsCallRaw(url: string, ca: string, token: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'POST', agent: false, ca, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The CSR `pem` with the subject public key of `other`: its signature no longer matches its key. */
function swapPublicKey(pem: string, other: string): string {
  const a = Buffer.from(new x509.Pkcs10CertificateRequest(pem).rawData);
  const keyA = Buffer.from(new x509.Pkcs10CertificateRequest(pem).publicKey.rawData);
  const keyB = Buffer.from(new x509.Pkcs10CertificateRequest(other).publicKey.rawData);
  const i = a.indexOf(keyA);
  assert.ok(i > 0 && keyA.length === keyB.length);
  const out = Buffer.concat([a.subarray(0, i), keyB, a.subarray(i + keyA.length)]);
  return `-----BEGIN CERTIFICATE REQUEST-----\n${out.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE REQUEST-----\n`;
}

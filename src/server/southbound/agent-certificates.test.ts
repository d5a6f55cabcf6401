import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createCertificateRequest } from '../../agent/agent-certificate.ts';
import type { Resource } from '../../api/index.ts';
import { makeTestCa, writeCerts } from '../../testing/test-certs.ts';
import { tempDir } from '../../testing/test-stores.ts';
import { AgentCa } from './agent-ca.ts';
import { AgentCertificates } from './agent-certificates.ts';

// The admission rules of AgentCertificates on sockets that say what TLS verified, with a host
// lookup that counts its reads: the certificate is read once per connection, the host once per
// host (then the watch's revocations), and the clock decides expiry on every call.

const HOST = 'host-0000000a';

describe('AgentCertificates', () => {
  const tmp = tempDir();
  let ca: AgentCa;
  let clock = Date.now();
  let files: Record<string, string>;
  before(async () => {
    const pair = await makeTestCa('agents');
    files = writeCerts(tmp.dir, { 'ca.crt': pair.cert, 'ca.key': pair.key });
    ca = await AgentCa.read({ certFile: files['ca.crt'], keyFile: files['ca.key'], certificateTtlSeconds: 600, now: () => clock });
  });
  after(() => tmp.remove());

  /** A socket whose TLS layer verified (or not) this certificate. */
  const socket = (pem: string | undefined, authorized = true, authorizationError?: string) => {
    let reads = 0;
    const s = {
      authorized,
      authorizationError,
      getPeerCertificate: () => {
        reads++;
        return pem ? { raw: new X509Certificate(pem).raw } : {};
      },
      get reads() {
        return reads;
      },
    };
    return s as unknown as Socket & { reads: number };
  };
  const hosts = (found: Record<string, Partial<Resource>>) => {
    const calls: string[] = [];
    return { calls, host: async (id: string) => (calls.push(id), found[id] as Resource | undefined) };
  };
  const certFor = async (hostId: string, project = 'default') => (await ca.issue(await ca.checkCsr((await createCertificateRequest('t')).csr), hostId, project)).certificate;

  test('the certificate is read once per connection and the host once per host; a revocation from the watch is refused from then on', async () => {
    const h = hosts({ [HOST]: { id: HOST, project: 'default', spec: { desiredState: 'onboarded' } } });
    const certs = new AgentCertificates({ ca, host: h.host });
    const s = socket(await certFor(HOST));
    for (let i = 0; i < 5; i++) await certs.admit(s, { project: 'default', hostId: HOST });
    assert.equal(s.reads, 1, 'one parse per connection');
    assert.deepEqual(h.calls, [HOST], 'one store read per host');
    certs.hostRevoked(HOST);
    await assert.rejects(certs.admit(s, { project: 'default', hostId: HOST }), /untrusted, being deleted or gone/);
  });

  test('a host that is untrusted, being deleted, gone, or of another project in the store is refused', async () => {
    const h = hosts({
      'host-00000001': { id: 'host-00000001', project: 'default', spec: { desiredState: 'untrusted' } },
      'host-00000002': { id: 'host-00000002', project: 'default', spec: { desiredState: 'deleted' } },
      'host-00000004': { id: 'host-00000004', project: 'other', spec: { desiredState: 'onboarded' } },
    });
    const certs = new AgentCertificates({ ca, host: h.host });
    for (const id of ['host-00000001', 'host-00000002', 'host-00000003', 'host-00000004']) {
      await assert.rejects(certs.admit(socket(await certFor(id)), { project: 'default', hostId: id }), /untrusted, being deleted or gone/, id);
    }
    assert.equal(h.calls.length, 4);
    await assert.rejects(certs.admit(socket(await certFor('host-00000001')), { project: 'default', hostId: 'host-00000001' }), /gone/);
    assert.equal(h.calls.length, 4, 'a refused host is remembered, not read again');
  });

  test('expiry is judged on every call, not only at the handshake', async () => {
    const h = hosts({ [HOST]: { id: HOST, project: 'default', spec: { desiredState: 'onboarded' } } });
    const certs = new AgentCertificates({ ca, host: h.host });
    const s = socket(await certFor(HOST));
    const notAfter = await certs.admit(s, { project: 'default', hostId: HOST });
    assert.ok(Math.abs(notAfter - (clock + 600_000)) < 1000, 'valid the configured 10 minutes');
    const was = clock;
    clock = notAfter + 1;
    try {
      await assert.rejects(certs.admit(s, { project: 'default', hostId: HOST }), (e: { details?: { problem?: string } }) => e.details?.problem === 'expired');
    } finally {
      clock = was;
    }
  });

  test("what the TLS layer refused, and a certificate that is not an agent's, are refused with the reason", async () => {
    const certs = new AgentCertificates({ ca, host: async () => undefined });
    const problem = async (s: Socket) => {
      try {
        await certs.admit(s, { project: 'default', hostId: HOST });
      } catch (e) {
        return (e as { code: string; details?: { problem?: string } }).details?.problem ?? (e as { code: string }).code;
      }
      return 'admitted';
    };
    assert.equal(await problem(socket(undefined)), 'missing');
    assert.equal(await problem(socket(await certFor(HOST), false, 'CERT_HAS_EXPIRED')), 'expired');
    assert.equal(await problem(socket(await certFor(HOST), false, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')), 'untrusted');
    assert.equal(await problem({} as Socket), 'missing', 'not TLS at all');
    // The CA's own certificate, as if TLS had accepted it: no host name, not an agent certificate.
    assert.equal(await problem(socket(ca.certPem)), 'untrusted');
    // Another project's certificate for the same host id.
    assert.equal(await problem(socket(await certFor(HOST, 'other'))), 'permission_denied');
  });
});

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, test } from 'node:test';
import selfsigned from 'selfsigned';
import { createCertificateRequest } from '../../agent/agent-certificate.ts';
import { makeTestCa, writeCerts } from '../../testing/test-certs.ts';
import { tempDir } from '../../testing/test-stores.ts';
import { AgentCa } from './agent-ca.ts';

// The agent CA's files are checked at start; what it signs never outlives it.

const tmp = tempDir();
after(() => tmp.remove());

test('an intermediate CA (not self-signed) is refused: the agent CA is a root of its own', async () => {
  const root = await makeTestCa('root');
  const now = Date.now();
  const mid = await selfsigned.generate([{ name: 'commonName', value: 'intermediate' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 3600_000),
    notAfterDate: new Date(now + 86_400_000),
    ca: { cert: root.cert, key: root.key },
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, critical: true },
    ],
  });
  const f = writeCerts(tmp.dir, { 'mid.crt': mid.cert, 'mid.key': mid.private });
  await assert.rejects(AgentCa.read({ certFile: f['mid.crt'], keyFile: f['mid.key'] }), /not self-signed/);
});

test('an expired CA is refused; a lifetime out of range is refused; certificates end with the CA at the latest', async () => {
  const pair = await makeTestCa('agents'); // valid one more day
  const f = writeCerts(tmp.dir, { 'ca.crt': pair.cert, 'ca.key': pair.key });
  await assert.rejects(AgentCa.read({ certFile: f['ca.crt'], keyFile: f['ca.key'], now: () => Date.now() + 2 * 86_400_000 }), /CA certificate expired/);
  await assert.rejects(AgentCa.read({ certFile: f['ca.crt'], keyFile: f['ca.key'], certificateTtlSeconds: 0 }), /between 1 second and 366 days/);
  await assert.rejects(AgentCa.read({ certFile: f['ca.crt'], keyFile: 'no-such-file' }), /cannot read the agent CA/);
  const ca = await AgentCa.read({ certFile: f['ca.crt'], keyFile: f['ca.key'] }); // 7 days by default
  assert.match(ca.summary, /each valid 7 day\(s\)/);
  const issued = await ca.issue(await ca.checkCsr((await createCertificateRequest('x')).csr), 'host-0000000b', 'default');
  const x = new X509Certificate(issued.certificate);
  assert.equal(x.validTo, ca.cert.validTo, 'clipped to the CA');
  assert.equal(issued.expiresAt, new Date(ca.cert.validTo).toISOString());
});

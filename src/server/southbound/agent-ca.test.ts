import assert from 'node:assert/strict';
import { webcrypto, X509Certificate } from 'node:crypto';
import { after, test } from 'node:test';
import * as x509 from '@peculiar/x509';
import selfsigned from 'selfsigned';
import { createCertificateRequest } from '../../agent/agent-certificate.ts';
import { AGENT_CSR_MAX_LENGTH, isEimError } from '../../api/index.ts';
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

test('a certificate request longer than 4,096 characters is refused before it is parsed and its signature checked', async () => {
  // The enrolment route asks the CA before it validates the body: the bound must hold here, or an
  // enrollment token's holder has every 1 MiB request parsed and verified (about 60 ms of CPU each).
  const pair = await makeTestCa('agents');
  const f = writeCerts(tmp.dir, { 'long.crt': pair.cert, 'long.key': pair.key });
  const ca = await AgentCa.read({ certFile: f['long.crt'], keyFile: f['long.key'] });
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const padding = new x509.Extension('1.3.6.1.4.1.99999.1', false, new Uint8Array(8000).fill(0x41).buffer);
  const long = (await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=long', keys, signingAlgorithm: alg, extensions: [padding] })).toString('pem');
  assert.ok(long.length > AGENT_CSR_MAX_LENGTH);
  await assert.rejects(ca.checkCsr(long), (e: unknown) => isEimError(e) && e.code === 'invalid_argument' && /at most 4096 characters/.test(e.message));
  const short = (await createCertificateRequest('short')).csr;
  assert.ok((await ca.checkCsr(short)).publicKey, 'a usual request is taken');
});

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import tls from 'node:tls';
import { makeTestCa } from '../testing/test-certs.ts';
import { tempDir } from '../testing/test-stores.ts';
import { SouthboundClient } from '../agent/southbound-client.ts';
import { secureContextFor, trustedCertificates } from './tls-trust.ts';

// What a client trusts, and that the TLS context for it is built once: an explicit `ca` on every
// connection would parse some 300 certificates per connection (tens of ms each, per simulated agent).

test('the trusted list holds Node roots, the system bundle, NODE_EXTRA_CA_CERTS and --ca-file, and is the same array each time', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.remove());
  const ca = await makeTestCa('extra from env');
  const file = join(tmp.dir, 'extra.pem');
  writeFileSync(file, ca.cert);
  const saved = { extra: process.env.NODE_EXTRA_CA_CERTS, bundle: process.env.SSL_CERT_FILE };
  t.after(() => {
    for (const [k, v] of [['NODE_EXTRA_CA_CERTS', saved.extra], ['SSL_CERT_FILE', saved.bundle]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  process.env.NODE_EXTRA_CA_CERTS = file;
  const mine = (await makeTestCa('mine')).cert;
  const list = trustedCertificates(mine)!;
  assert.ok(list.includes(ca.cert), 'NODE_EXTRA_CA_CERTS is kept (Node drops it when a ca is given)');
  assert.ok(list.includes(mine), '--ca-file');
  assert.ok(tls.rootCertificates.every((r) => list.includes(r)), "Node's roots");
  assert.equal(trustedCertificates(mine), list, 'the same array for the same inputs');
  assert.ok(trustedCertificates()!.includes(ca.cert), 'without --ca-file too');

  const context = secureContextFor(list);
  assert.ok(context);
  assert.equal(secureContextFor(list), context, 'one context per list');
  assert.equal(secureContextFor(undefined), undefined, "Node's default");

  // With a client certificate the owner keeps the context: an agent's stream builds it once per certificate.
  const client = await ca.issue({ cn: 'agent' });
  const agent = new SouthboundClient('https://eim.example:8443', 'agent-token', undefined, mine);
  agent.useCertificate({ cert: client.cert, key: client.key });
  const first = agent.streamRequest().secureContext;
  assert.ok(first);
  assert.notEqual(first, context, 'a client certificate is another context');
  assert.equal(agent.streamRequest('7').secureContext, first, 'built once, used by every reconnect');
  const renewed = await ca.issue({ cn: 'agent' });
  agent.useCertificate({ cert: renewed.cert, key: renewed.key });
  assert.notEqual(agent.streamRequest().secureContext, first, 'a renewed certificate is a new context');
  agent.close();
});

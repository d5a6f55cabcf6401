import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { openTestStore, type TestStore } from '../../testing/test-stores.ts';
import { grantsFromRoles } from './oidc-verifier.ts';
import { TokenService } from './token-service.ts';

describe('tokens', () => {
  let ts: TestStore;
  let svc: TokenService;
  before(async () => {
    ts = await openTestStore('sqlite');
    svc = await TokenService.open({ auth: ts.store.auth });
  });
  after(async () => {
    svc.stop();
    await ts.cleanup();
  });

  test('a token verifies to its grants; expired, revoked, tampered and foreign tokens are unauthenticated', async () => {
    const t = await svc.issue({ subject: 'ci', grants: [{ project: 'acme', role: 'viewer' }], ttlSeconds: 60 });
    const c = await svc.verify(t.token);
    assert.deepEqual(c.grants, [{ project: 'acme', role: 'viewer' }]);
    assert.equal(c.subject, 'ci');
    const expired = await svc.issue({ subject: 'old', grants: [{ project: 'acme', role: 'viewer' }], ttlSeconds: -1 });
    await assert.rejects(svc.verify(expired.token), { code: 'unauthenticated', message: /expired/ });
    const [h, p, s] = t.token.split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), grants: ['*:admin'] })).toString('base64url');
    await assert.rejects(svc.verify(`${h}.${forgedPayload}.${s}`), { code: 'unauthenticated' });
    await assert.rejects(svc.verify('garbage'), { code: 'unauthenticated' });
    const other = await openTestStore('sqlite');
    const foreign = await TokenService.open({ auth: other.store.auth });
    await assert.rejects(svc.verify((await foreign.issue({ subject: 'x', grants: [{ project: '*', role: 'admin' }] })).token), { code: 'unauthenticated' });
    foreign.stop();
    await other.cleanup();
    await svc.revoke({ id: t.id });
    await assert.rejects(svc.verify(t.token), { code: 'unauthenticated', message: /revoked/ }, 'revoked at once, though it was cached');
  });

  test('a token this process signed needs no signature check here, and stands for what a check elsewhere finds', async () => {
    const peer = await TokenService.open({ auth: ts.store.auth }); // another server on the same store
    try {
      const before = svc.signatureChecks;
      const agent = await svc.issue({ subject: 'agent/host-0000d00d', grants: [{ project: 'acme', role: 'agent' }], hostId: 'host-0000d00d', ttlSeconds: 600 });
      const enrol = await svc.issue({ subject: 'line-1', grants: [{ project: 'acme', role: 'enrollment' }], autoRegister: true });
      const here = [await svc.verify(agent.token), await svc.verify(enrol.token)];
      assert.equal(svc.signatureChecks - before, 0, 'answered from what signing it knew');
      const peerBefore = peer.signatureChecks;
      const there = [await peer.verify(agent.token), await peer.verify(enrol.token)];
      assert.equal(peer.signatureChecks - peerBefore, 2, 'the peer checked both signatures');
      assert.deepEqual(here, there);
      assert.equal(here[0].hostId, 'host-0000d00d');
      assert.equal(here[1].autoRegister, true);
      await svc.revoke({ id: agent.id });
      await assert.rejects(svc.verify(agent.token), { code: 'unauthenticated', message: /revoked/ }, 'revoked at once, though it was remembered');
      const stale = await svc.issue({ subject: 'old', grants: [{ project: 'acme', role: 'viewer' }], ttlSeconds: -1 });
      await assert.rejects(svc.verify(stale.token), { code: 'unauthenticated', message: /expired/ }, 'remembered with its expiry');
    } finally {
      peer.stop();
    }
  });

  test('requests carrying one token at the same time share one signature check; a refused token is checked again next time', async (ctx) => {
    // Signed by another server on the same store: this one has not seen it.
    const peer = await TokenService.open({ auth: ts.store.auth });
    ctx.after(() => peer.stop());
    const t = await peer.issue({ subject: 'agent/host-0000beef', grants: [{ project: 'acme', role: 'agent' }], hostId: 'host-0000beef' });
    const before = svc.signatureChecks;
    const callers = await Promise.all(Array.from({ length: 20 }, () => svc.verify(t.token)));
    assert.equal(svc.signatureChecks - before, 1, 'one check for 20 requests at once');
    for (const c of callers) assert.equal(c.hostId, 'host-0000beef');
    await svc.verify(t.token);
    assert.equal(svc.signatureChecks - before, 1, 'then the cache answers');
    const [h, p, sig] = t.token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), host: 'host-0000ffff' })).toString('base64url')}.${sig}`;
    const refused = await Promise.allSettled(Array.from({ length: 10 }, () => svc.verify(forged)));
    assert.ok(refused.every((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'unauthenticated'), 'every request with the forged token is refused');
    assert.equal(svc.signatureChecks - before, 2, 'one check for the 10 forged ones');
    await assert.rejects(svc.verify(forged), { code: 'unauthenticated' });
    assert.equal(svc.signatureChecks - before, 3, 'a refusal is not remembered as a pass, nor kept in flight');
    // Revoked while requests wait on its check: each of them is refused.
    const t2 = await peer.issue({ subject: 'agent/host-0000cafe', grants: [{ project: 'acme', role: 'agent' }], hostId: 'host-0000cafe' });
    const waiting = Promise.allSettled([svc.verify(t2.token), svc.verify(t2.token)]);
    await svc.revoke({ id: t2.id });
    const outcomes = await waiting;
    await assert.rejects(svc.verify(t2.token), { code: 'unauthenticated', message: /revoked/ });
    assert.ok(outcomes.every((o) => o.status === 'fulfilled' || (o.reason as { code?: string }).code === 'unauthenticated'));
  });

  test("a token's watch (guard) hears its own revocation only, and nothing once stopped", async () => {
    const a = await svc.issue({ subject: 'agent/host-0000aaaa', grants: [{ project: 'acme', role: 'agent' }], hostId: 'host-0000aaaa' });
    const b = await svc.issue({ subject: 'agent/host-0000bbbb', grants: [{ project: 'acme', role: 'agent' }], hostId: 'host-0000bbbb' });
    const heard: string[] = [];
    await svc.guard(a.token, (e) => heard.push(`a ${e.message}`));
    const a2 = await svc.guard(a.token, (e) => heard.push(`a2 ${e.message}`));
    await svc.guard(b.token, (e) => heard.push(`b ${e.message}`));
    a2(); // this stream ended
    await svc.revoke({ id: a.id });
    assert.deepEqual(heard, ['a the token has been revoked; get a new one']);
    await svc.revoke({ id: b.id });
    assert.deepEqual(heard.slice(1), ['b the token has been revoked; get a new one']);
    await assert.rejects(svc.guard(a.token, () => heard.push('late')), { code: 'unauthenticated', message: /revoked/ });
  });

  test("a guarded token stays remembered as verified (the cache keeps the stream's copy of it as its key)", async () => {
    const a = await svc.issue({ subject: 'agent/host-0000cccc', grants: [{ project: 'acme', role: 'agent' }], hostId: 'host-0000cccc' });
    const streamCopy = ` ${a.token}`.slice(1); // another string with the same text, as a request's header gives
    const before = svc.signatureChecks;
    const stop = await svc.guard(streamCopy, () => {});
    assert.equal((await svc.verify(a.token)).hostId, 'host-0000cccc');
    assert.equal((await svc.verify(streamCopy)).hostId, 'host-0000cccc');
    assert.equal(svc.signatureChecks - before, 0, 'no signature check: still cached');
    stop();
    await svc.revoke({ id: a.id });
    await assert.rejects(svc.verify(a.token), { code: 'unauthenticated', message: /revoked/ });
  });

  test('revocation by host revokes every agent token of that host, and reaches another process', async () => {
    const a1 = await svc.issue({ subject: 'agent', grants: [{ project: 'acme', role: 'agent' }], hostId: 'host-0000abcd' });
    const a2 = await svc.issue({ subject: 'agent', grants: [{ project: 'acme', role: 'agent' }], hostId: 'host-0000abcd' });
    const keep = await svc.issue({ subject: 'agent', grants: [{ project: 'acme', role: 'agent' }], hostId: 'host-0000ffff' });
    const peer = await TokenService.open({ auth: (await ts.reopen()).auth, revocationRefreshMs: 50 });
    await peer.verify(a1.token); // cached in the peer
    assert.equal((await svc.revoke({ hostId: 'host-0000abcd' })).length, 2);
    await assert.rejects(svc.verify(a2.token), { code: 'unauthenticated' });
    await new Promise((r) => setTimeout(r, 200));
    await assert.rejects(peer.verify(a1.token), { code: 'unauthenticated' }, 'the other process learns of it');
    assert.equal((await peer.verify(keep.token)).hostId, 'host-0000ffff');
    peer.stop();
  });

  test('assertNotRevoked reads the store: a revocation another process made counts before this one has heard of it', async (t) => {
    const peer = await TokenService.open({ auth: (await ts.reopen()).auth, revocationRefreshMs: 3_600_000 });
    t.after(() => peer.stop());
    const admin = await peer.issue({ subject: 'tenant-admin', grants: [{ project: 'acme', role: 'admin' }] });
    const keep = await peer.issue({ subject: 'kept', grants: [{ project: 'acme', role: 'admin' }] });
    const caller = await peer.verify(admin.token);
    await svc.revoke({ id: admin.id });
    assert.equal((await peer.verify(admin.token)).subject, 'tenant-admin', 'the peer has not heard of it yet (its refresh is an hour away)');
    await assert.rejects(peer.assertNotRevoked(caller), { code: 'unauthenticated', message: /revoked/ });
    await assert.rejects(peer.verify(admin.token), { code: 'unauthenticated' }, 'and from then on the peer refuses the token');
    await peer.assertNotRevoked(await peer.verify(keep.token));
  });

  test('assertNotRevoked of a sole writer (SQLite: one server per file) answers from memory, which holds every revocation it made', async (t) => {
    const auth = (await ts.reopen()).auth;
    let reads = 0;
    const counted = Object.assign(Object.create(Object.getPrototypeOf(auth)) as typeof auth, auth, {
      getToken: (id: string) => {
        reads++;
        return auth.getToken(id);
      },
    });
    const sole = await TokenService.open({ auth: counted, revocationRefreshMs: 3_600_000, soleWriter: true });
    t.after(() => sole.stop());
    const admin = await sole.issue({ subject: 'sole-admin', grants: [{ project: 'acme', role: 'admin' }] });
    const caller = await sole.verify(admin.token);
    await sole.assertNotRevoked(caller);
    await sole.revoke({ id: admin.id });
    await assert.rejects(sole.assertNotRevoked(caller), { code: 'unauthenticated', message: /revoked/ });
    assert.equal(reads, 0, 'no token record was read');
  });

  test('revocations are held in memory only while their tokens have not expired: minting and revoking short-lived tokens does not grow a server for good', async (t) => {
    let clock = Date.parse('2030-01-01T00:00:00Z');
    const local = await TokenService.open({ auth: (await ts.reopen()).auth, revocationRefreshMs: 3_600_000, now: () => new Date(clock) });
    t.after(() => local.stop());
    const before = local.revokedCount;
    const short: string[] = [];
    for (let i = 0; i < 50; i++) {
      const issued = await local.issue({ subject: `churn-${i}`, grants: [{ project: 'acme', role: 'viewer' }], ttlSeconds: 2 });
      await local.revoke({ id: issued.id });
      short.push(issued.token);
    }
    const long = await local.issue({ subject: 'long', grants: [{ project: 'acme', role: 'viewer' }], ttlSeconds: 3600 });
    await local.revoke({ id: long.id });
    assert.equal(local.revokedCount, before + 51);
    clock += 3000;
    await local.revoke({ hostId: 'host-00000000' }); // revokes nothing: reads the revocation list now
    assert.equal(local.revokedCount, before + 1, 'the expired tokens are forgotten, the live revoked one kept');
    await assert.rejects(local.verify(long.token), { code: 'unauthenticated', message: /revoked/ });
    for (const token of short.slice(0, 3)) await assert.rejects(local.verify(token), { code: 'unauthenticated', message: /expired/ });
  });

  test('key rotation: new tokens use the new key, old tokens stay valid, and another process picks the key up', async () => {
    const before = await svc.issue({ subject: 'a', grants: [{ project: 'acme', role: 'viewer' }] });
    const kid = await svc.rotate();
    const afterRotation = await svc.issue({ subject: 'b', grants: [{ project: 'acme', role: 'viewer' }] });
    assert.equal(JSON.parse(Buffer.from(afterRotation.token.split('.')[0], 'base64url').toString()).kid, kid);
    assert.equal((await svc.verify(before.token)).subject, 'a');
    const peer = await TokenService.open({ auth: (await ts.reopen()).auth });
    assert.equal((await peer.verify(afterRotation.token)).subject, 'b');
    peer.stop();
  });
});

describe('external OIDC issuer', () => {
  let jwks: http.Server;
  let jwksUrl = '';
  let sign: (claims: Record<string, unknown>, issuer?: string) => Promise<string>;
  let ts: TestStore;
  let svc: TokenService;
  const ISSUER = 'http://keycloak.test/realms/edge';

  before(async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/certs`;
    sign = (claims, issuer = ISSUER) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(issuer).setAudience('eim').setSubject('u-1').setIssuedAt().setExpirationTime('5m').sign(privateKey);
    ts = await openTestStore('sqlite');
    svc = await TokenService.open({ auth: ts.store.auth, oidc: { issuer: ISSUER, jwksUrl, audience: 'eim' } });
  });
  after(async () => {
    svc.stop();
    await ts.cleanup();
    jwks.close();
  });

  test('Keycloak realm roles become project grants', async () => {
    const token = await sign({ preferred_username: 'alice', realm_access: { roles: ['acme_im-rw', 'globex_im-r', 'offline_access'] } });
    const c = await svc.verify(token);
    assert.equal(c.subject, 'alice');
    assert.deepEqual(c.grants, [
      { project: 'acme', role: 'editor' },
      { project: 'globex', role: 'viewer' },
    ]);
  });

  test('tokens of another issuer, or signed by another key, are refused', async () => {
    await assert.rejects(svc.verify(await sign({ realm_access: { roles: ['acme_im-rw'] } }, 'http://evil.test')), { code: 'unauthenticated' });
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ realm_access: { roles: ['*_im-admin'] } }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(ISSUER).setAudience('eim').setSubject('m').setExpirationTime('5m').sign(privateKey);
    await assert.rejects(svc.verify(forged), { code: 'unauthenticated' });
  });

  test('role names map as documented and ignore the rest', () => {
    assert.deepEqual(grantsFromRoles(['p1_im-admin', '*_im-manager', 'im-rw', 'P2_im-rw', 'p3_im-x']), [
      { project: 'p1', role: 'admin' },
      { project: '*', role: 'manager' },
    ]);
  });
});

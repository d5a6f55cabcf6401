import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import { openSse, type SseFrame } from '../../testing/http-client.ts';
import { EIM_BIN } from '../../testing/server-process.ts';
import { openTestApp, type TestApp } from '../../testing/test-app.ts';
import { openTestStore, tempDir, type TestStore } from '../../testing/test-stores.ts';
import { TokenService } from './token-service.ts';

// External OIDC tokens (issue 9, item 18), issued by a real OpenID provider (oidc-provider) running
// in this process: client credentials with resource indicators give JWT access tokens whose `aud`
// is the resource asked for. eim accepts only tokens meant for it (audience, or authorized party)
// and only tokens that expire.

const EIM_AUDIENCE = 'https://eim.test';
const SECRET = 'test-secret-0123456789';
/** Clients: `eim-cli` and `other-app` are ordinary; `no-exp` gets tokens without `exp`; `short` gets 2 s tokens. */
const CLIENTS = ['eim-cli', 'other-app', 'no-exp', 'short'];

interface Issuer {
  url: string;
  jwksUrl: string;
  /** An access token of `client` for `resource`, with these realm roles. */
  token(client: string, resource: string, roles?: string[]): Promise<string>;
  close(): Promise<void>;
}

async function startProvider(): Promise<Issuer> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let roles: string[] = [];
  const provider = new Provider(url, {
    jwks: { keys: [jwk] },
    cookies: { keys: ['test-cookie-key'] },
    clients: CLIENTS.map((id) => ({ client_id: id, client_secret: SECRET, grant_types: ['client_credentials'], redirect_uris: [], response_types: [] })),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => EIM_AUDIENCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource, client) => ({
          scope: 'api',
          audience: resource,
          accessTokenFormat: 'jwt',
          accessTokenTTL: client.clientId === 'short' ? 2 : 300,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    ttl: { ClientCredentials: (_ctx, _token, client) => (client.clientId === 'short' ? 2 : 300) },
    formats: {
      customizers: {
        jwt(_ctx, token, jwt) {
          if ((token as { clientId?: string }).clientId === 'no-exp') delete jwt.payload.exp;
          return jwt;
        },
      },
    },
    extraTokenClaims: () => ({ realm_access: { roles } }),
  });
  server.on('request', provider.callback());
  return {
    url,
    jwksUrl: `${url}/jwks`,
    async token(client, resource, r = []) {
      roles = r;
      const res = await fetch(`${url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client}:${SECRET}`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'api', resource }).toString(),
      });
      const body = (await res.json()) as { access_token?: string; error_description?: string };
      if (!body.access_token) throw new Error(`the provider gave no token: ${res.status} ${body.error_description}`);
      return body.access_token;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()) as Record<string, unknown>;

describe('OIDC tokens from a real provider', () => {
  let issuer: Issuer;
  let ts: TestStore;
  /** How far the service's clock runs ahead of the real one. */
  let ahead = 0;
  let svc: TokenService;

  before(async () => {
    issuer = await startProvider();
    ts = await openTestStore('sqlite');
    svc = await TokenService.open({ auth: ts.store.auth, oidc: { issuer: issuer.url, jwksUrl: issuer.jwksUrl, audience: EIM_AUDIENCE }, now: () => new Date(Date.now() + ahead) });
  });
  after(async () => {
    svc.stop();
    await ts.cleanup();
    await issuer.close();
  });

  test('a token for eim works, with its roles claim as grants', async () => {
    const token = await issuer.token('eim-cli', EIM_AUDIENCE, ['acme_im-rw', 'offline_access']);
    assert.equal(claims(token).aud, EIM_AUDIENCE);
    const caller = await svc.verify(token);
    assert.equal(caller.subject, 'eim-cli');
    assert.deepEqual(caller.grants, [{ project: 'acme', role: 'editor' }]);
  });

  test('a token the same issuer signed for another audience is refused', async () => {
    const token = await issuer.token('other-app', 'https://other.test', ['*_im-admin']);
    assert.equal(claims(token).aud, 'https://other.test');
    await assert.rejects(svc.verify(token), { code: 'unauthenticated', message: /audience|meant for/ });
  });

  test('a token without exp is refused', async () => {
    const token = await issuer.token('no-exp', EIM_AUDIENCE, ['acme_im-rw']);
    assert.equal(claims(token).exp, undefined, 'the provider left exp out');
    await assert.rejects(svc.verify(token), { code: 'unauthenticated', message: /exp/ });
  });

  test('an expired token is refused (also after it was cached)', async () => {
    const token = await issuer.token('eim-cli', EIM_AUDIENCE, ['acme_im-r']);
    assert.equal((await svc.verify(token)).grants[0].role, 'viewer');
    // Just past the token's own exp, however long the provider and the suite took to get here.
    ahead = (claims(token).exp as number) * 1000 - Date.now() + 1000;
    try {
      await assert.rejects(svc.verify(token), { code: 'unauthenticated', message: /expired/ });
    } finally {
      ahead = 0;
    }
  });

  test('an authorized party instead of an audience: only that client’s tokens are accepted', async () => {
    const azp = await TokenService.open({ auth: ts.store.auth, oidc: { issuer: issuer.url, jwksUrl: issuer.jwksUrl, authorizedParties: ['eim-cli'] } });
    try {
      assert.equal((await azp.verify(await issuer.token('eim-cli', 'https://any.test', ['acme_im-r']))).subject, 'eim-cli');
      await assert.rejects(azp.verify(await issuer.token('other-app', 'https://any.test', ['acme_im-r'])), { code: 'unauthenticated' });
    } finally {
      azp.stop();
    }
  });

  test('an issuer without an audience or authorized party is refused at configuration', async () => {
    await assert.rejects(TokenService.open({ auth: ts.store.auth, oidc: { issuer: issuer.url, jwksUrl: issuer.jwksUrl } }), /--oidc-audience/);
  });
});

describe('OIDC tokens over HTTP', () => {
  let issuer: Issuer;
  let srv: TestApp;

  before(async () => {
    issuer = await startProvider();
    srv = await openTestApp({ listen: true, projects: ['default'], tokens: { oidc: { issuer: issuer.url, jwksUrl: issuer.jwksUrl, audience: EIM_AUDIENCE } } });
  });
  after(async () => {
    await srv.close();
    await issuer.close();
  });

  test('good → 200 with the roles claim; another audience, no exp → 401', async () => {
    const editor = await issuer.token('eim-cli', EIM_AUDIENCE, ['default_im-rw']);
    assert.equal((await srv.call('POST', '/v1/projects/default/regions', editor, { name: 'by-oidc', spec: {} })).status, 201);
    const viewer = await issuer.token('eim-cli', EIM_AUDIENCE, ['default_im-r']);
    assert.equal((await srv.call('GET', '/v1/projects/default/regions', viewer)).status, 200);
    assert.equal((await srv.call('POST', '/v1/projects/default/regions', viewer, { name: 'nope', spec: {} })).status, 403);
    const foreign = await issuer.token('other-app', 'https://other.test', ['default_im-rw']);
    const r = await srv.call('GET', '/v1/projects/default/regions', foreign);
    assert.equal(r.status, 401);
    assert.equal(r.json.error.code, 'unauthenticated');
    assert.equal((await srv.call('GET', '/v1/projects/default/regions', await issuer.token('no-exp', EIM_AUDIENCE, ['default_im-rw']))).status, 401);
  });

  test('a watch with an OIDC token ends at the token’s exp', async (t) => {
    const token = await issuer.token('short', EIM_AUDIENCE, ['default_im-r']);
    const exp = claims(token).exp as number;
    assert.equal(exp - (claims(token).iat as number), 2, 'the provider issued a 2 s token');
    const frames: SseFrame[] = [];
    const s = await openSse(`${srv.url}/v1/projects/default/watch`, { token }, (f) => frames.push(f));
    t.after(() => s.close());
    await Promise.race([s.ended, new Promise((_, reject) => setTimeout(() => reject(new Error('the stream outlived its token')), 5000).unref())]);
    const late = Date.now() - exp * 1000;
    assert.ok(late >= -50 && late < 1500, `ended ${late} ms after exp`);
    const last = frames.at(-1)!;
    assert.equal(last.event, 'ERROR');
    assert.equal(JSON.parse(last.data).error.code, 'unauthenticated');
  });
});

test('eim server refuses to start with an OIDC issuer and no audience, before it opens anything', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.remove());
  const dataDir = join(tmp.dir, 'data');
  const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, [EIM_BIN, 'server', '--data-dir', dataDir, '--oidc-issuer', 'https://kc.example/realms/edge', '--oidc-jwks-url', 'https://kc.example/certs'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (b: Buffer) => (stderr += b));
    p.on('close', (code) => resolve({ code, stderr }));
  });
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /--oidc-audience/);
  assert.match(run.stderr, /--oidc-authorized-party/);
  assert.equal(existsSync(dataDir), false, 'no data dir was made');
});

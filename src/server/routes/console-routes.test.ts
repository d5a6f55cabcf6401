import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { openTestApp, type TestApp } from '../../testing/test-app.ts';
import { tempDir } from '../../testing/test-stores.ts';
import { buildApp } from '../app.ts';

// The console's static files (in-process, app.inject): caching headers, the content security
// policy, and that the API around them answers as before.

const INDEX = '<!doctype html><script type="module" src="/assets/index-AbC123.js"></script>';
const JS = 'console.log("eim")';

describe('console routes', () => {
  let srv: TestApp;
  let app: FastifyInstance;
  let bare: FastifyInstance;
  const built = tempDir();
  const empty = tempDir();

  before(async () => {
    mkdirSync(join(built.dir, 'assets'));
    writeFileSync(join(built.dir, 'index.html'), INDEX);
    writeFileSync(join(built.dir, 'assets', 'index-AbC123.js'), JS);
    writeFileSync(join(built.dir, 'BUILT'), 'secret-looking file outside assets/');
    srv = await openTestApp({ app: { consoleDir: built.dir } });
    app = srv.app;
    // A second app on the same inventory, without a console build.
    bare = await buildApp({ inventory: srv.inventory, tokens: srv.tokens, consoleDir: empty.dir });
  });
  after(async () => {
    await bare.close();
    await srv.close();
    built.remove();
    empty.remove();
  });

  test('/ is index.html, revalidated on every load, with a same-origin content security policy', async () => {
    const r = await app.inject({ url: '/' });
    assert.equal(r.statusCode, 200);
    assert.equal(r.body, INDEX);
    assert.match(String(r.headers['content-type']), /^text\/html/);
    assert.equal(r.headers['cache-control'], 'no-cache');
    assert.match(String(r.headers['content-security-policy']), /default-src 'self'/);
    assert.match(String(r.headers['content-security-policy']), /connect-src 'self'/);
    const again = await app.inject({ url: '/', headers: { 'if-none-match': String(r.headers.etag) } });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
  });

  test('hashed assets are cached for good', async () => {
    const r = await app.inject({ url: '/assets/index-AbC123.js' });
    assert.equal(r.statusCode, 200);
    assert.equal(r.body, JS);
    assert.match(String(r.headers['content-type']), /^text\/javascript/);
    assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable');
  });

  test('an unknown asset or a path out of assets/ is a contract 404', async () => {
    for (const url of ['/assets/index-old.js', '/assets/..%2FBUILT', '/assets/%2e%2e%2fBUILT']) {
      const r = await app.inject({ url });
      assert.equal(r.statusCode, 404, url);
      assert.equal(r.json().error.code, 'not_found', url);
      assert.ok(!r.body.includes('secret-looking'), url);
    }
  });

  test('the API, health, metrics and OpenAPI answer as before', async () => {
    assert.equal((await app.inject({ url: '/healthz' })).json().status, 'ok');
    assert.equal((await app.inject({ url: '/readyz' })).statusCode, 200);
    assert.equal((await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${srv.admin}` } })).statusCode, 200);
    const doc = (await app.inject({ url: '/openapi.json' })).json();
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(!Object.keys(doc.paths).some((p) => p === '/' || p.startsWith('/assets')), 'the console is not part of the API document');
    const v1 = await app.inject({ url: '/v1/projects/default/hosts' });
    assert.equal(v1.statusCode, 401, 'the API still wants a token');
    assert.equal(v1.json().error.code, 'unauthenticated');
  });

  test('without a build, / says how to build the console (503), and the API still works', async () => {
    const r = await bare.inject({ url: '/' });
    assert.equal(r.statusCode, 503);
    assert.equal(r.json().error.code, 'unavailable');
    assert.match(r.json().error.message, /npm run build/);
    assert.equal((await bare.inject({ url: '/healthz' })).statusCode, 200);
  });
});

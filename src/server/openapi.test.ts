import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { KINDS } from '../api/index.ts';
import { openTestApp, type TestApp } from '../testing/test-app.ts';
import { kindOperationIds } from './openapi.ts';

const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;

describe('the OpenAPI document (for client generators)', () => {
  let srv: TestApp;
  let source = '';
  let doc: any;
  const operations = () =>
    Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
      METHODS.filter((m) => item[m]).map((method) => ({ path, method, op: item[method] })),
    );

  before(async () => {
    // With the southbound layer: its routes are in the document too.
    srv = await openTestApp({ southbound: {} });
    const r = await srv.inject('GET', '/openapi.json');
    assert.equal(r.statusCode, 200);
    source = r.body;
    doc = JSON.parse(source);
  });
  after(() => srv.close());

  test("Redocly's recommended rules find no error and no warning in the served document", async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source, absoluteRef: 'openapi.json', config });
    const said = problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`);
    assert.deepEqual(said, []);
  });

  test('every operation has a unique, meaningful operationId; the generic routes follow the kind', () => {
    const ops = operations();
    assert.ok(ops.length > 100, `${ops.length} operations`);
    const ids = ops.map(({ op }) => op.operationId);
    assert.deepEqual(ops.filter(({ op }) => typeof op.operationId !== 'string').map(({ method, path }) => `${method} ${path}`), []);
    assert.equal(new Set(ids).size, ids.length, 'unique');
    for (const id of ids) assert.match(id, /^[a-z]+[A-Z][A-Za-z]*$/, 'a verb then a noun, camelCase');
    const at = (method: string, path: string) => doc.paths[path]?.[method]?.operationId;
    assert.equal(at('get', '/v1/projects/{project}/hosts'), 'listHosts');
    assert.equal(at('post', '/v1/projects/{project}/hosts'), 'createHost');
    assert.equal(at('get', '/v1/projects/{project}/hosts/{id}'), 'getHost');
    assert.equal(at('patch', '/v1/projects/{project}/hosts/{id}'), 'patchHost');
    assert.equal(at('patch', '/v1/projects/{project}/hosts/{id}/status'), 'patchHostStatus');
    assert.equal(at('delete', '/v1/projects/{project}/hosts/{id}'), 'deleteHost');
    assert.equal(at('get', '/v1/hosts'), 'listHostsAllProjects');
    assert.equal(at('get', '/v1/projects/{project}/os-update-policies'), 'listOsUpdatePolicies');
    assert.equal(at('get', '/v1/projects/{project}/watch'), 'watchProject');
    assert.equal(at('get', '/v1/watch'), 'watchAll');
    assert.equal(at('get', '/v1/projects/{project}/events'), 'listProjectEvents');
    assert.equal(at('post', '/southbound/v1/enroll'), 'enrollAgent');
    // Every kind of the registry, by its name.
    for (const def of KINDS) {
      const want = kindOperationIds(def);
      assert.equal(at('get', `/v1/projects/{project}/${def.path}`), want.list, def.kind);
      assert.equal(at('get', `/v1/projects/{project}/${def.path}/{id}`), want.get, def.kind);
    }
  });

  test('every operation documents a 4xx answer with the contract error body, and a 2xx one', () => {
    for (const { path, method, op } of operations()) {
      const codes = Object.keys(op.responses ?? {});
      assert.ok(codes.some((c) => /^4\d\d$/.test(c)), `${method} ${path}: ${codes}`);
      assert.ok(codes.some((c) => /^2\d\d$/.test(c)), `${method} ${path}: ${codes}`);
      const unauthenticated = op.responses['401']?.content?.['application/json']?.schema;
      assert.deepEqual(unauthenticated, { $ref: '#/components/schemas/Error' }, `${method} ${path}`);
    }
    assert.deepEqual(doc.components.schemas.Error.properties.error.required, ['code', 'message']);
    assert.ok(doc.components.schemas.Error.properties.error.properties.code.enum.includes('revision_compacted'));
  });

  test('a license (the package’s), a server, and the bearer scheme', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    assert.equal(doc.info.license.identifier, pkg.license);
    assert.equal(doc.info.version, pkg.version);
    assert.ok(doc.servers.length >= 1);
    assert.deepEqual(doc.security, [{ bearer: [] }]);
    // The watch streams say what they answer.
    assert.ok(doc.paths['/v1/projects/{project}/watch'].get.responses['200'].content['text/event-stream']);
  });
});

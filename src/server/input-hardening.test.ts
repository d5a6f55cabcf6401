import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { importJWK, type JWK, SignJWT } from 'jose';
import pino from 'pino';
import { encodePageToken, queryHash } from '../inventory/page-token.ts';
import { openTestApp, type TestApp } from '../testing/test-app.ts';
import { DIALECTS, PG_URL, pgReachable } from '../testing/test-stores.ts';

// Issue 9, items 10–16 (the inventory, store and HTTP input part): hostile input answers a 4xx
// with the contract's body before anything is written, the same on SQLite and PostgreSQL, and
// what is logged holds no request data.

const UUID = '11111111-2222-3333-4444-555555555555';
const SECRET = 'SECRETSECRET';

/** A pino logger into memory: the lines the server logged, parsed. */
function memoryLogger() {
  const lines: { level: number; [k: string]: unknown }[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) {
        raw.push(l);
        lines.push(JSON.parse(l));
      }
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines, raw };
}

/** `{"a":{"a":…1…}}` nested `depth` levels, as text (JSON.stringify itself overflows on this). */
const nested = (depth: number, inner = '1') => `${'{"a":'.repeat(depth)}${inner}${'}'.repeat(depth)}`;

for (const dialect of DIALECTS) {
  describe(`hostile input on ${dialect}`, () => {
    let srv: TestApp;
    let log: ReturnType<typeof memoryLogger>;
    let skip = false;
    let manager = '';
    let editor = '';
    let hostId = '';
    let regionId = '';
    const P = '/v1/projects/default';

    before(async () => {
      if (dialect === 'postgres' && !(await pgReachable())) {
        skip = true;
        return;
      }
      log = memoryLogger();
      srv = await openTestApp({ dialect, southbound: { leaseCheckMs: 60_000 }, app: { logger: log.logger, adminTokenPath: '/var/lib/very-secret-dir/admin.token' } });
      manager = (await srv.tokens.issue({ subject: 'mgr', grants: [{ project: '*', role: 'manager' }] })).token;
      editor = (await srv.tokens.issue({ subject: 'ed', grants: [{ project: 'default', role: 'editor' }] })).token;
      hostId = (await srv.call('POST', `${P}/hosts`, srv.admin, { name: 'edge-1', spec: { uuid: UUID } })).json.id;
      regionId = (await srv.call('POST', `${P}/regions`, srv.admin, { name: 'eu', spec: {} })).json.id;
    });
    after(() => srv?.close());

    const raw = (method: string, url: string, token: string | undefined, payload: string) =>
      srv.app.inject({ method: method as 'POST', url, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' }, payload });
    const revision = () => srv.store.store.currentRevision();
    const noErrorLogged = () => {
      const errors = log.lines.filter((l) => l.level >= 50);
      assert.deepEqual(errors, [], 'nothing was logged at error level');
    };

    test('NUL and unpaired surrogates anywhere are 400 invalid_argument, and nothing is written', async (t) => {
      if (skip) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
      const rev = await revision();
      const tokensBefore = (await srv.store.store.auth.listTokens('default')).items.length;
      const enrollment = (await srv.call('POST', `${P}/tokens`, srv.admin, { role: 'enrollment' })).json.token;
      const tries: [string, string, string | undefined, string][] = [
        ['POST', `${P}/regions`, editor, '{"name":"r","labels":{"a":"x\\u0000y"},"spec":{}}'],
        ['POST', `${P}/custom-configs`, editor, '{"name":"c","spec":{"config":"x\\ud800y"}}'],
        ['POST', `${P}/local-accounts`, editor, `{"name":"l","spec":{"username":"ops","sshKey":"ssh-ed25519 ${SECRET}\\u0000"}}`],
        ['PATCH', `${P}/hosts/${hostId}`, editor, '{"labels":{"k":"\\udc00"}}'],
        ['PATCH', `${P}/hosts/${hostId}/status`, manager, '{"hostStatus":{"message":"\\u0000","indicator":"idle","timestamp":"2026-01-01T00:00:00.000Z"}}'],
        ['POST', `${P}/commands`, manager, `{"name":"c1","spec":{"hostId":"${hostId}","type":"power","params":{"\\u0000":1}}}`],
        ['POST', `${P}/tokens`, srv.admin, '{"role":"viewer","subject":"a\\u0000"}'],
        ['POST', '/southbound/v1/enroll', enrollment, `{"uuid":"${UUID}","hostname":"edge\\u0000"}`],
        ['POST', '/southbound/v1/enroll', enrollment, `{"uuid":"${UUID}","hostname":"edge","macs":["\\ud800"]}`],
      ];
      for (const [method, url, token, payload] of tries) {
        const r = await raw(method, url, token, payload);
        assert.equal(r.statusCode, 400, `${method} ${url} ${payload}: ${r.body}`);
        assert.equal(r.json().error.code, 'invalid_argument');
        assert.match(r.json().error.message, /NUL character|unpaired UTF-16 surrogate/);
      }
      const gets = [
        `${P}/hosts?filter=${encodeURIComponent('name = "a\u0000"')}`,
        `${P}/hosts?orderBy=%00`,
        `${P}/hosts/host-0000000%00`,
        `${P}/tokens/0000%00`,
        `${P}/events?id=%00`,
      ];
      for (const url of gets) {
        const r = await srv.inject(url.includes('/tokens/') ? 'DELETE' : 'GET', url, srv.admin);
        assert.equal(r.statusCode, 400, `${url}: ${r.body}`);
        assert.equal(r.json().error.code, 'invalid_argument');
      }
      assert.equal(await revision(), rev + 0, 'no write took a revision');
      assert.equal((await srv.store.store.auth.listTokens('default')).items.length, tokensBefore + 1, 'enrolment stored no agent token');
      noErrorLogged();
      assert.ok(!log.raw.some((l) => l.includes(SECRET)), 'no log line holds request data');
    });

    test('a forged page token or a malformed token id answers 400 or 404, never 500', async (t) => {
      if (skip) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
      const hash = queryHash(['Host', 'default', '', '']);
      for (const after of [['a\u0000', 'host-00000000'], ['edge-1', 'x\u0000'], ['\ud800', 'host-00000000'], ['a'.repeat(300), 'host-00000000']] as [string, string][]) {
        const r = await srv.inject('GET', `${P}/hosts?pageToken=${encodePageToken({ offset: 1, after, total: 5 }, hash)}`, srv.admin);
        assert.equal(r.statusCode, 400, r.body);
        assert.equal(r.json().error.code, 'invalid_argument');
      }
      const fine = await srv.inject('GET', `${P}/hosts?pageToken=${encodePageToken({ offset: 0, after: ['a', 'host-00000000'] }, hash)}`, srv.admin);
      assert.equal(fine.statusCode, 200, 'a well-formed forged position is only a position');
      for (const id of ['not-a-uuid', 'x'.repeat(90), "1' OR '1'='1"]) {
        const r = await srv.inject('DELETE', `${P}/tokens/${encodeURIComponent(id)}`, srv.admin);
        assert.equal(r.statusCode, 404, r.body);
        assert.equal(r.json().error.code, 'not_found');
      }
      noErrorLogged();
    });

    test('a body that does not parse says why: where the JSON breaks, or the prototype keys it holds; nothing is written', async (t) => {
      if (skip) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
      const rev = await revision();
      for (const payload of ['{"name":"p","spec":{},"__proto__":{"admin":true}}', '{"name":"p","spec":{"constructor":{"prototype":{"x":1}}}}']) {
        const r = await raw('POST', `${P}/regions`, editor, payload);
        assert.equal(r.statusCode, 400, r.body);
        assert.equal(r.json().error.code, 'invalid_argument');
        assert.match(r.json().error.message, /holds a "__proto__" key, or a "constructor" object with a "prototype" key/);
      }
      const broken = await raw('POST', `${P}/regions`, editor, '{"name": "x", "spec": {');
      assert.equal(broken.statusCode, 400);
      assert.match(broken.json().error.message, /^the body is not valid JSON: .*(end|position|column)/i, 'the parser says where it breaks');
      const empty = await raw('POST', `${P}/regions`, editor, '');
      assert.equal(empty.json().error.message, 'the body is empty; send a JSON object');
      // A "constructor" key alone is an ordinary key (a label, a free-form spec field).
      const fine = await raw('POST', `${P}/regions`, editor, '{"name":"ctor","spec":{},"labels":{"constructor":"x"}}');
      assert.equal(fine.statusCode, 201, fine.body);
      assert.equal(await revision(), rev + 1);
    });

    test('deep JSON: a 10,000-level body is 400 before anything parses it; free-form objects nest at most 32 levels', async (t) => {
      if (skip) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
      const rev = await revision();
      for (const [method, url, token, payload] of [
        ['PATCH', `${P}/regions/${regionId}`, editor, `{"labels":${nested(10_000)}}`],
        ['PATCH', `${P}/regions/${regionId}`, editor, `{"spec":${nested(10_000)}}`],
        ['PATCH', `${P}/hosts/${hostId}/status`, manager, nested(10_000)],
        ['POST', `${P}/regions`, editor, `{"name":"deep","spec":${nested(150_000)}}`],
        ['POST', '/southbound/v1/enroll', editor, nested(100_000)],
      ] as const) {
        const r = await raw(method, url, token, payload);
        assert.equal(r.statusCode, 400, `${method} ${url}: ${r.body.slice(0, 300)}`);
        assert.equal(r.json().error.code, 'invalid_argument');
        assert.match(r.json().error.message, /nests deeper than 64 levels/);
      }
      // Within the body limit but beyond a resource's: spec.params 33 levels deep.
      const cmd = (name: string, depth: number) => raw('POST', `${P}/commands`, manager, `{"name":"${name}","spec":{"hostId":"${hostId}","type":"power","params":${nested(depth - 1, '{}')}}}`);
      const tooDeep = await cmd('deep-params', 32);
      assert.equal(tooDeep.statusCode, 400, tooDeep.body);
      assert.match(tooDeep.json().error.message, /^spec nests deeper than 32 levels/);
      assert.equal(await revision(), rev);
      const ok = await cmd('ok-params', 31);
      assert.equal(ok.statusCode, 201, ok.body);

      // Item 11: an agent's command result with deeply nested details is refused; lists on status.* keep working.
      const enrollment = (await srv.call('POST', `${P}/tokens`, srv.admin, { role: 'enrollment' })).json.token;
      const agent = (await srv.call('POST', '/southbound/v1/enroll', enrollment, { uuid: UUID, hostname: 'edge-1' })).json.token;
      const commandId = ok.json().id;
      const result = (depth: number) => raw('POST', `/southbound/v1/commands/${commandId}/result`, agent, `{"state":"running","details":${nested(depth - 1, '{}')}}`);
      const deep = await result(60);
      assert.equal(deep.statusCode, 400, deep.body);
      assert.match(deep.json().error.message, /status nests deeper than 32 levels/);
      assert.equal((await result(1500)).statusCode, 400);
      assert.equal((await result(20)).statusCode, 204);
      for (const q of ['filter=status.state%20%3D%20%22running%22', 'orderBy=status.state', 'filter=status.details.a.a%20%3D%201']) {
        const r = await srv.inject('GET', `${P}/commands?${q}`, manager);
        assert.equal(r.statusCode, 200, `${q}: ${r.body}`);
      }
      noErrorLogged();
    });

    test('a filter value with "*" over 256 characters is 400 invalid_argument on lists and the fleet summary, never 500; 256 is fine', async (t) => {
      if (skip) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
      const viewer = (await srv.tokens.issue({ subject: 'viewer', grants: [{ project: 'default', role: 'viewer' }] })).token;
      const filter = (value: string) => encodeURIComponent(`spec.kernelCommand = "${value}" OR name = "*${value.slice(0, 10)}*"`);
      for (const url of [`${P}/operating-systems?filter=${filter(`*${'a'.repeat(4000)}b*`)}`, `${P}/hosts?filter=${filter(`*${'a'.repeat(255)}*`)}`.replace('kernelCommand', 'serialNumber'), `${P}/hosts:summary?filter=${filter(`x*${'a'.repeat(300)}`).replace('kernelCommand', 'uuid')}`]) {
        const r = await srv.inject('GET', url, viewer);
        assert.equal(r.statusCode, 400, `${url.slice(0, 80)}: ${r.body}`);
        assert.equal(r.json().error.code, 'invalid_argument');
        assert.match(r.json().error.message, /^filter: the value compared with spec\.\w+ has "\*" and \d+ characters .*at most 256 characters/);
        assert.ok(!r.body.includes('a'.repeat(30)), 'the answer does not echo the whole value');
      }
      const fine = await srv.inject('GET', `${P}/hosts?filter=${encodeURIComponent(`spec.serialNumber = "*${'a'.repeat(254)}*"`)}`, viewer);
      assert.equal(fine.statusCode, 200, fine.body);
      assert.equal(fine.json().totalSize, 0);
      noErrorLogged();
    });

    test('an OS profile\'s strings have limits (kernelCommand 4 KiB, profileName and profileVersion 128, architecture 64); one stored longer before is still read, listed and filtered, and a change must shorten it', async (t) => {
      if (skip) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
      const spec = { imageUrl: 'https://images.example.com/os.img', sha256: 'ab'.repeat(32), profileName: 'os', profileVersion: '1', osType: 'mutable', architecture: 'x86_64' };
      for (const [field, max] of [['kernelCommand', 4096], ['profileName', 128], ['profileVersion', 128], ['architecture', 64]] as const) {
        const over = await srv.call('POST', `${P}/operating-systems`, editor, { name: `over-${field.toLowerCase()}`, spec: { ...spec, [field]: 'x'.repeat(max + 1) } });
        assert.equal(over.status, 400, JSON.stringify(over.json));
        assert.equal(over.json.error.code, 'invalid_argument');
        assert.match(over.json.error.message, new RegExp(`spec\\.${field} must not have more than ${max} characters`));
        const at = await srv.call('POST', `${P}/operating-systems`, editor, { name: `at-${field.toLowerCase()}`, spec: { ...spec, [field]: 'x'.repeat(max) } });
        assert.equal(at.status, 201, JSON.stringify(at.json));
      }

      // Stored before the limits (written below the Inventory, as an older server did).
      const id = 'os-0000abcd';
      const kernelCommand = `console=ttyS0 ${'k'.repeat(10_000)}`;
      await srv.store.store.write(async (tx) => (await tx.insertIfFree({ kind: 'OperatingSystem', id, project: 'default', name: 'older', labels: {}, generation: 1, spec: { ...spec, kernelCommand }, status: {} }, 'test')).resource!);
      const got = await srv.call('GET', `${P}/operating-systems/${id}`, editor);
      assert.equal(got.status, 200);
      assert.equal(got.json.spec.kernelCommand, kernelCommand);
      const listed = await srv.call('GET', `${P}/operating-systems?filter=${encodeURIComponent('spec.kernelCommand = "*ttyS0 kk*"')}`, editor);
      assert.equal(listed.status, 200, JSON.stringify(listed.json));
      assert.deepEqual(listed.json.items.map((r: { id: string }) => r.id), [id]);
      assert.equal(listed.json.items[0].spec.kernelCommand, kernelCommand);
      const relabel = await srv.call('PATCH', `${P}/operating-systems/${id}`, editor, { labels: { tier: 'edge' } });
      assert.equal(relabel.status, 400, 'a change validates the whole spec');
      assert.match(relabel.json.error.message, /spec\.kernelCommand must not have more than 4096 characters/);
      const shortened = await srv.call('PATCH', `${P}/operating-systems/${id}`, editor, { labels: { tier: 'edge' }, spec: { kernelCommand: 'console=ttyS0' } });
      assert.equal(shortened.status, 200, JSON.stringify(shortened.json));
      noErrorLogged();
    });

    test('a path parameter over 100 characters is 400 with the contract body, and the path is not logged at error level', async (t) => {
      if (skip) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
      const long = 'a'.repeat(3000);
      for (const url of [`${P}/schedules/${long}`, `/v1/projects/${long}/hosts`, `/southbound/v1/commands/${long}/result`]) {
        const r = await srv.inject(url.includes('southbound') ? 'POST' : 'GET', url, srv.admin, url.includes('southbound') ? { state: 'running' } : undefined);
        assert.equal(r.statusCode, 400, `${url.slice(0, 60)}: ${r.body}`);
        assert.equal(r.json().error.code, 'invalid_argument');
        assert.match(r.json().error.message, /longer than 100 characters/);
        assert.ok(!r.body.includes('aaaaaaaaaa'), 'the answer does not echo the path');
      }
      noErrorLogged();
      assert.ok(!log.raw.some((l) => l.includes('aaaaaaaaaa')), 'no log line holds the path');
    });

    test('"*" is never a project: its resource, watch, events and project routes are 404 even for a cluster admin; its tokens are admin or manager only', async (t) => {
      if (skip) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
      const rev = await revision();
      for (const [method, url, body] of [
        ['POST', '/v1/projects/*/regions', { name: 'star', spec: {} }],
        ['POST', '/v1/projects/%2A/regions', { name: 'star', spec: {} }],
        ['GET', '/v1/projects/*/hosts', undefined],
        ['GET', `/v1/projects/*/hosts/${hostId}`, undefined],
        ['PATCH', `/v1/projects/*/regions/${regionId}`, { labels: { a: 'b' } }],
        ['DELETE', `/v1/projects/*/regions/${regionId}`, undefined],
        ['GET', '/v1/projects/*/events', undefined],
        ['GET', '/v1/projects/*/watch', undefined],
        ['DELETE', '/v1/projects/*', undefined],
      ] as const) {
        for (const token of [srv.admin, manager]) {
          const r = await srv.inject(method, url, token, body);
          assert.equal(r.statusCode, 404, `${method} ${url}: ${r.body}`);
          assert.equal(r.json().error.code, 'not_found');
        }
      }
      await assert.rejects(srv.inventory.as({ subject: 'root', grants: [{ project: '*', role: 'admin' }] }).create('*', 'Region', { name: 'star', spec: {} }), { code: 'not_found' });
      assert.equal(await revision(), rev);
      for (const role of ['viewer', 'editor', 'enrollment', 'agent']) {
        const r = await srv.call('POST', '/v1/projects/*/tokens', srv.admin, { role, ...(role === 'agent' ? { hostId } : {}) });
        assert.equal(r.status, 400, `${role}: ${JSON.stringify(r.json)}`);
        assert.match(r.json.error.message, /"\*" is not a project/);
        await assert.rejects(srv.tokens.issue({ subject: 'x', grants: [{ project: '*', role: role as 'viewer' }] }), { code: 'invalid_argument' });
      }
      for (const role of ['admin', 'manager']) assert.equal((await srv.call('POST', '/v1/projects/*/tokens', srv.admin, { role })).status, 201);
      assert.equal((await srv.call('GET', '/v1/hosts', manager)).status, 200, 'the cross-project routes stay');

      // Tokens for "*" minted before this rule (signed with the server's own key) are refused everywhere.
      const key = (await srv.store.store.auth.signingKeys()).at(-1)!;
      const sign = async (role: string) =>
        new SignJWT({ grants: [`*:${role}`], ...(role === 'enrollment' ? { ar: true } : {}) })
          .setProtectedHeader({ alg: 'EdDSA', kid: key.kid }).setIssuer('eim').setSubject(`${role}-token`).setJti(crypto.randomUUID()).setIssuedAt()
          .sign(await importJWK(JSON.parse(key.privateJwk) as JWK, 'EdDSA'));
      const oldEnrollment = await sign('enrollment');
      const enrol = await srv.call('POST', '/southbound/v1/enroll', oldEnrollment, { uuid: UUID, hostname: 'edge-1' });
      assert.equal(enrol.status, 401, JSON.stringify(enrol.json));
      assert.match(enrol.json.error.message, /not a project/);
      assert.equal((await srv.call('GET', `${P}/hosts`, await sign('viewer'))).status, 401);
      assert.equal(await revision(), rev);
    });

    test('a token with trailing junk is not the same token, even once the real one is cached; the 401 names no absolute path', async (t) => {
      if (skip) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
      assert.equal((await srv.call('GET', `${P}/hosts`, editor)).status, 200); // cached now
      for (const forged of [`${editor}==`, `${editor}=`, `${editor}.`, `${editor}.x`, `=${editor}`, editor.replace('.', '..'), `${editor.slice(0, -1)}%`]) {
        const r = await srv.call('GET', `${P}/hosts`, forged);
        assert.equal(r.status, 401, forged.slice(-12));
        assert.equal(r.json.error.code, 'unauthenticated');
      }
      const missing = await srv.call('GET', `${P}/hosts`);
      assert.equal(missing.status, 401);
      assert.ok(!missing.json.error.message.includes('/var/lib'), missing.json.error.message);
      assert.match(missing.json.error.message, /admin token file in the server's data directory \(admin\.token\)/);
    });

    test('an internal error logs its code, the route pattern and the method; never the URL or a database error\'s data', async (t) => {
      if (skip) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
      const store = srv.store.store;
      const get = store.get.bind(store);
      // What pg raises when a jsonb value cannot be stored: `where` quotes the JSON being written.
      store.get = async () => {
        throw Object.assign(new Error('unsupported Unicode escape sequence'), {
          name: 'error', code: '22P05', severity: 'ERROR', detail: `\\u0000 cannot be converted to text ${SECRET}`,
          where: `JSON data, line 1: {"sshKey":"ssh-ed25519 ${SECRET}...`, routine: 'json_lex_string',
        });
      };
      try {
        const r = await srv.call('GET', `${P}/hosts/${hostId}?q=${SECRET}`, srv.admin);
        assert.equal(r.status, 500);
        assert.deepEqual(r.json, { error: { code: 'internal', message: 'an internal error occurred; it has been logged' } });
      } finally {
        store.get = get;
      }
      const line = log.lines.filter((l) => l.level >= 50).at(-1)!;
      log.lines.length = 0;
      assert.ok(line, 'the error was logged');
      assert.equal(line.route, '/v1/projects/:project/hosts/:id');
      assert.equal(line.method, 'GET');
      assert.equal((line.err as { code: string }).code, '22P05');
      assert.equal((line.err as { routine: string }).routine, 'json_lex_string');
      const text = JSON.stringify(line);
      assert.ok(!text.includes(SECRET), `the log line holds request data: ${text}`);
      assert.ok(!text.includes(hostId), 'the log line holds the URL');
    });
  });
}

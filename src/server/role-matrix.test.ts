import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KINDS, type Role } from '../api/index.ts';
import { openTestApp, type TestApp } from '../testing/test-app.ts';

// Every role × every verb on several kinds, plus watch and events, through HTTP. `stranger` holds
// an editor role in another project: everything of this one must look absent to it (404).

type Who = Role | 'stranger';
type Verb = 'list' | 'get' | 'create' | 'patch' | 'status' | 'delete' | 'force' | 'watch' | 'events';
const WHO: Who[] = ['viewer', 'editor', 'admin', 'manager', 'agent', 'enrollment', 'stranger'];

/** Expected HTTP status per verb for a user-created kind (Region, Host) and for a discovered one (HostNic). */
const USER_KIND: Record<Verb, Record<Who, number>> = {
  list: { viewer: 200, editor: 200, admin: 200, manager: 200, agent: 403, enrollment: 403, stranger: 404 },
  get: { viewer: 200, editor: 200, admin: 200, manager: 200, agent: 403, enrollment: 403, stranger: 404 },
  create: { viewer: 403, editor: 201, admin: 201, manager: 201, agent: 403, enrollment: 403, stranger: 404 },
  patch: { viewer: 403, editor: 200, admin: 200, manager: 403, agent: 403, enrollment: 403, stranger: 404 },
  status: { viewer: 403, editor: 403, admin: 403, manager: 200, agent: 403, enrollment: 403, stranger: 404 },
  delete: { viewer: 403, editor: 200, admin: 200, manager: 200, agent: 403, enrollment: 403, stranger: 404 },
  force: { viewer: 403, editor: 403, admin: 200, manager: 200, agent: 403, enrollment: 403, stranger: 404 },
  watch: { viewer: 200, editor: 200, admin: 200, manager: 200, agent: 403, enrollment: 403, stranger: 404 },
  events: { viewer: 200, editor: 200, admin: 200, manager: 200, agent: 403, enrollment: 403, stranger: 404 },
};
const DISCOVERED_KIND: Record<Verb, Record<Who, number>> = {
  ...USER_KIND,
  create: { viewer: 403, editor: 403, admin: 403, manager: 201, agent: 403, enrollment: 403, stranger: 404 },
  patch: { viewer: 403, editor: 403, admin: 403, manager: 200, agent: 403, enrollment: 403, stranger: 404 },
  delete: { viewer: 403, editor: 403, admin: 403, manager: 200, agent: 403, enrollment: 403, stranger: 404 },
};

describe('role matrix', () => {
  let srv: TestApp;
  const tok = {} as Record<Who, string>;
  let hostId = '';

  before(async () => {
    srv = await openTestApp({ projects: ['acme', 'globex'] });
    const host = await srv.inventory.as({ subject: 'setup', grants: [{ project: '*', role: 'admin' }] }).create('acme', 'Host', { name: 'anchor', spec: { desiredState: 'registered' } });
    hostId = host.id;
    for (const who of WHO) {
      const grants = who === 'stranger' ? [{ project: 'globex', role: 'editor' as const }] : [{ project: 'acme', role: who }];
      tok[who] = (await srv.tokens.issue({ subject: who, grants, ...(who === 'agent' ? { hostId } : {}) })).token;
    }
  });
  after(() => srv.close());

  const inject: TestApp['inject'] = (...args) => srv.inject(...args);
  const admin = () => tok.admin;

  /** A fresh resource for each attempt, so one verb's success never changes another's answer. */
  async function fixture(kind: 'Region' | 'Host' | 'HostNic'): Promise<string> {
    const m = srv.inventory.as({ subject: 'fixture', grants: [{ project: '*', role: 'manager' }] });
    const n = `f-${Math.random().toString(16).slice(2, 10)}`;
    if (kind === 'Region') return (await m.create('acme', 'Region', { name: n, spec: {} })).id;
    if (kind === 'Host') return (await m.create('acme', 'Host', { name: n, spec: { desiredState: 'registered' } })).id;
    return (await m.create('acme', 'HostNic', { name: n, status: { hostId, deviceName: n } })).id;
  }

  const body: Record<string, () => unknown> = {
    Region: () => ({ name: `r-${Math.random().toString(16).slice(2, 10)}`, spec: {} }),
    Host: () => ({ name: `h-${Math.random().toString(16).slice(2, 10)}`, spec: { desiredState: 'registered' } }),
    HostNic: () => ({ name: `n-${Math.random().toString(16).slice(2, 10)}`, status: { hostId, deviceName: 'eth9' } }),
  };
  const patchBody: Record<string, unknown> = { Region: { labels: { a: 'b' } }, Host: { spec: { desiredState: 'onboarded' } }, HostNic: { labels: { a: 'b' } } };
  const statusBody: Record<string, unknown> = { Region: {}, Host: { hostStatus: { indicator: 'idle', message: 'ok', timestamp: new Date().toISOString() } }, HostNic: { mtu: 9000 } };

  for (const [kind, path, table] of [
    ['Region', 'regions', USER_KIND],
    ['Host', 'hosts', USER_KIND],
    ['HostNic', 'host-nics', DISCOVERED_KIND],
  ] as const) {
    test(`${kind}: every role × every verb`, async () => {
      const problems: string[] = [];
      for (const who of WHO) {
        for (const verb of Object.keys(table) as Verb[]) {
          if (verb === 'status' && kind === 'Region') continue; // declarative: no status route
          const id = await fixture(kind);
          const base = `/v1/projects/acme/${path}`;
          let status: number;
          if (verb === 'list') status = (await inject('GET', base, tok[who])).statusCode;
          else if (verb === 'get') status = (await inject('GET', `${base}/${id}`, tok[who])).statusCode;
          else if (verb === 'create') status = (await inject('POST', base, tok[who], body[kind]())).statusCode;
          else if (verb === 'patch') status = (await inject('PATCH', `${base}/${id}`, tok[who], patchBody[kind])).statusCode;
          else if (verb === 'status') status = (await inject('PATCH', `${base}/${id}/status`, tok[who], statusBody[kind])).statusCode;
          else if (verb === 'delete') {
            status = (await inject('DELETE', `${base}/${id}`, tok[who])).statusCode;
            if (status === 202) status = 200; // a host's two-phase delete was accepted
          } else if (verb === 'force') status = (await inject('DELETE', `${base}/${id}?force=true`, tok[who])).statusCode;
          else if (verb === 'events') status = (await inject('GET', `/v1/projects/acme/events?kinds=${path}`, tok[who])).statusCode;
          else {
            // A watch that is allowed streams forever; ask for one from a revision that is gone instead:
            // refusals come first (403/404), an allowed caller then gets past auth to 200/410.
            const r = await inject('GET', `/v1/projects/acme/events?kinds=${path}&since=0&limit=1`, tok[who]);
            status = r.statusCode;
          }
          if (status !== table[verb][who]) problems.push(`${who} ${verb}: got ${status}, want ${table[verb][who]}`);
        }
      }
      assert.deepEqual(problems, []);
    });
  }

  test('cross-project calls are for managers and cluster admins only', async () => {
    for (const who of WHO) {
      const r = await inject('GET', '/v1/hosts', tok[who]);
      // Nobody with grants on one project may list every project, a manager of one project included.
      assert.equal(r.statusCode, 403, `${who}: /v1/hosts`);
    }
    const cluster = (await srv.tokens.issue({ subject: 'root', grants: [{ project: '*', role: 'manager' }] })).token;
    assert.equal((await inject('GET', '/v1/hosts', cluster)).statusCode, 200);
    assert.equal((await inject('GET', '/v1/events', cluster)).statusCode, 200);
  });

  test('a stranger sees nothing of the project: not by list, get, guessed id, filter, watch or events', async () => {
    const s = tok.stranger;
    assert.equal((await inject('GET', `/v1/projects/acme/hosts/${hostId}`, s)).statusCode, 404);
    assert.equal((await inject('GET', `/v1/projects/globex/hosts/${hostId}`, s)).statusCode, 404, 'the id through its own project');
    const own = await inject('GET', `/v1/projects/globex/hosts?filter=${encodeURIComponent(`id = ${hostId}`)}`, s);
    assert.equal(own.statusCode, 200);
    assert.equal(own.json().totalSize, 0);
    assert.equal((await inject('GET', '/v1/projects/acme/watch', s)).statusCode, 404);
    const ev = await inject('GET', '/v1/projects/globex/events?since=0', s);
    assert.equal(ev.statusCode, 200);
    assert.ok(!ev.body.includes(hostId), 'no event of acme in globex');
    const projects = await inject('GET', '/v1/projects', s);
    assert.deepEqual(projects.json().items.map((p: { name: string }) => p.name), ['globex']);
  });

  test('field policy for every kind: users cannot write status, managers cannot write desired fields', async () => {
    for (const def of KINDS) {
      const base = `/v1/projects/acme/${def.path}`;
      const fake = `${def.idPrefix}-0000abcd`;
      // A user's patch may not carry status (it is read-only to users) …
      const withStatus = await inject('PATCH', `${base}/${fake}`, def.origin === 'manager' ? tok.manager : admin(), { status: {} });
      assert.equal(withStatus.statusCode, 400, `${def.kind}: status in a user patch`);
      if (def.status) {
        const r = await inject('PATCH', `${base}/${fake}/status`, tok.editor, {});
        assert.equal(r.statusCode, 403, `${def.kind}: an editor writing status`);
      }
      if (def.origin === 'user' && def.spec) {
        const r = await inject('PATCH', `${base}/${fake}`, tok.manager, { spec: {} });
        assert.equal(r.statusCode, 403, `${def.kind}: a manager writing spec`);
      }
      if (def.origin === 'manager') {
        const r = await inject('POST', base, tok.editor, { name: 'x', status: {} });
        assert.equal(r.statusCode, 403, `${def.kind}: a user creating a discovered kind`);
      }
    }
  });
});

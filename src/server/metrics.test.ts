import assert from 'node:assert/strict';
import { after, describe, test, type TestContext } from 'node:test';
import { type Caller, HOST_CATEGORIES, hostCategory, type Inventory, listAll } from '../api/index.ts';
import { call } from '../testing/http-client.ts';
import { spawnServer } from '../testing/server-process.ts';
import { openTestApp, type TestApp } from '../testing/test-app.ts';
import { createTestDatabase, DIALECTS, type Dialect, PG_URL, pgReachable, tempDir } from '../testing/test-stores.ts';

const MANAGER: Caller = { subject: 'test-manager', grants: [{ project: '*', role: 'manager' }] };
const ADMIN: Caller = { subject: 'admin', grants: [{ project: '*', role: 'admin' }] };
const AT = '2026-11-26T10:00:00.000Z';
const t3 = (indicator: string, message = '') => ({ indicator, message, timestamp: AT });
const RUNNING = { hostStatus: t3('idle', 'running'), observedGeneration: 1 };
const OS = { imageUrl: 'https://images.example/u.img', sha256: 'a'.repeat(64), profileName: 'ubuntu', profileVersion: '22.04', osType: 'mutable', architecture: 'x86_64' };
const ROLLOUT = { updateKey: 'k', total: 4, upToDate: 0, pending: 0, running: 0, succeeded: 0, failed: 0, peakRunning: 0, halted: false };

/** The samples of a Prometheus text exposition: `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** The samples of one metric, keyed by their labels rendered `a=x,b=y` (in the exposition's order). */
function metric(all: Map<string, number>, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, v] of all) {
    const m = /^([a-z_]+)(?:\{(.*)\})?$/.exec(key);
    if (m?.[1] !== name) continue;
    out.set((m[2] ?? '').replace(/"/g, ''), v);
  }
  return out;
}

/**
 * A small fleet in two projects, a host in every category: in `default`, sites s1 and s2 and hosts
 * with no site; in `other`, one running host. Written as the managers and agents would (status).
 */
async function seed(admin: Inventory, mgr: Inventory) {
  const region = await admin.create('default', 'Region', { name: 'r', spec: {} });
  const s1 = await admin.create('default', 'Site', { name: 's1', spec: { regionId: region.id } });
  const s2 = await admin.create('default', 'Site', { name: 'two', spec: { regionId: region.id } });
  const host = async (project: string, name: string, siteId: string | undefined, status: Record<string, unknown>) => {
    const h = await admin.create(project, 'Host', { name, spec: { desiredState: 'onboarded', ...(siteId ? { siteId } : {}) } });
    if (Object.keys(status).length) await mgr.updateStatus(project, 'Host', h.id, status);
    return h;
  };
  await host('default', 'run-1', s1.id, RUNNING);
  const run2 = await host('default', 'run-2', s1.id, RUNNING);
  await host('default', 'lost', s2.id, { hostStatus: t3('error', 'no connection'), observedGeneration: 1 });
  await host('default', 'err', s2.id, { ...RUNNING, onboardingStatus: t3('error', 'boot failed') });
  await host('default', 'busy', undefined, { ...RUNNING, powerStatus: t3('in_progress', 'power off') });
  await host('default', 'maint', s1.id, { ...RUNNING, maintenance: { inWindow: true, purposes: ['maintenance'], scheduleIds: [] } });
  await host('default', 'new', undefined, {});
  const behind = await host('default', 'behind', s1.id, RUNNING);
  await admin.update('default', 'Host', behind.id, { spec: { desiredPowerState: 'off' } }); // generation 2, observed 1
  const otherRegion = await admin.create('other', 'Region', { name: 'r', spec: {} });
  const otherSite = await admin.create('other', 'Site', { name: 's1', spec: { regionId: otherRegion.id } });
  await host('other', 'o-1', otherSite.id, RUNNING);

  const os = await admin.create('default', 'OperatingSystem', { name: 'ubuntu', spec: OS });
  const inst = async (hostId: string, status: Record<string, unknown>) => {
    const i = await admin.create('default', 'Instance', { name: `i-${hostId}`, spec: { hostId, osId: os.id, desiredState: 'running' } });
    if (Object.keys(status).length) await mgr.updateStatus('default', 'Instance', i.id, status);
  };
  await inst(run2.id, { currentState: 'running' });
  await inst(behind.id, {});
  const policy = async (name: string, rollout?: Record<string, unknown>) => {
    const p = await admin.create('default', 'OsUpdatePolicy', { name, spec: { policy: 'latest', rollout: { maxConcurrent: 1, maxFailures: 1 } } });
    if (rollout) await mgr.updateStatus('default', 'OsUpdatePolicy', p.id, { rollout: { ...ROLLOUT, ...rollout } });
  };
  await policy('updating', { running: 1, pending: 2 });
  await policy('waiting', { pending: 4 });
  await policy('stopped', { failed: 2, pending: 2, halted: true });
  await policy('finished', { upToDate: 4 });
  await policy('unused');
  return { s1, s2 };
}

describe('/metrics: fleet gauges counted in the store', () => {
  for (const dialect of DIALECTS) {
    test(`${dialect}: hosts by status (the console's categories) and by site, connected agents, instances, rollouts`, async (t: TestContext) => {
      if (dialect === 'postgres' && !(await pgReachable())) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
      const srv = await openTestApp({ dialect: dialect as Dialect, projects: ['default', 'other', 'empty'] });
      try {
        const { s1, s2 } = await seed(srv.inventory.as(ADMIN), srv.inventory.as(MANAGER));
        const r = await srv.inject('GET', '/metrics', srv.admin);
        assert.equal(r.statusCode, 200);
        const all = samples(r.body);
        assert.equal(all.get('eim_fleet_gauges_up'), 1);

        const hosts = metric(all, 'eim_hosts');
        const want = { running: 2, 'no-connection': 1, error: 1, 'in-progress': 2, maintenance: 1, 'not-seen': 1 };
        for (const [status, n] of Object.entries(want)) assert.equal(hosts.get(`project=default,status=${status}`), n, status);
        // The same function the console uses, over the hosts as listed.
        const listed = (await listAll(srv.inventory.as(ADMIN), 'default', 'Host')).items;
        for (const c of HOST_CATEGORIES) assert.equal(hosts.get(`project=default,status=${c}`), listed.filter((h) => hostCategory(h) === c).length, c);
        assert.equal(hosts.get('project=other,status=running'), 1);
        // A project without hosts reports zeros (an alert needs the series to exist).
        for (const c of HOST_CATEGORIES) assert.equal(hosts.get(`project=empty,status=${c}`), 0, c);

        const sites = metric(all, 'eim_site_hosts');
        assert.equal(sites.get(`project=default,site=s1,site_id=${s1.id},status=running`), 2);
        assert.equal(sites.get(`project=default,site=s1,site_id=${s1.id},status=maintenance`), 1);
        assert.equal(sites.get(`project=default,site=s1,site_id=${s1.id},status=in-progress`), 1);
        assert.equal(sites.get(`project=default,site=two,site_id=${s2.id},status=no-connection`), 1);
        assert.equal(sites.get(`project=default,site=two,site_id=${s2.id},status=error`), 1);
        assert.equal(sites.get('project=default,site=,site_id=,status=in-progress'), 1);
        assert.equal(sites.get('project=default,site=,site_id=,status=not-seen'), 1);
        assert.equal([...sites.values()].reduce((a, b) => a + b, 0), 9);
        assert.equal(all.get('eim_site_hosts_dropped_series'), 0);

        const agents = metric(all, 'eim_connected_agents');
        assert.deepEqual([agents.get('project=default'), agents.get('project=other'), agents.get('project=empty')], [6, 1, 0]);
        const instances = metric(all, 'eim_instances');
        assert.deepEqual([instances.get('project=default,state=running'), instances.get('project=default,state=unspecified')], [1, 1]);
        const rollouts = metric(all, 'eim_rollouts');
        assert.deepEqual(
          ['running', 'waiting', 'halted', 'done'].map((s) => rollouts.get(`project=default,state=${s}`)),
          [1, 1, 1, 1],
        );
        assert.equal(rollouts.get('project=other,state=running'), 0);
      } finally {
        await srv.close();
      }
    });
  }

  test('answers are cached for cacheMs (one set of queries per scrape interval), then read again', async () => {
    let now = 1_000_000;
    const srv = await openTestApp({ app: { metrics: { cacheMs: 5000, now: () => now } } });
    try {
      const admin = srv.inventory.as(ADMIN);
      const count = async () => metric(samples((await srv.inject('GET', '/metrics', srv.admin)).body), 'eim_hosts').get('project=default,status=not-seen');
      assert.equal(await count(), 0);
      await admin.create('default', 'Host', { name: 'a', spec: { desiredState: 'registered' } });
      now += 4000;
      assert.equal(await count(), 0, 'still the cached answer');
      now += 1000;
      assert.equal(await count(), 1, 'read again after cacheMs');
    } finally {
      await srv.close();
    }
  });

  test('a store that does not answer: /metrics still answers, eim_fleet_gauges_up 0 and no fleet series', async () => {
    const srv = await openTestApp({ app: { metrics: { cacheMs: 0 } } });
    try {
      const store = srv.inventory.store as { countBy: unknown };
      const real = store.countBy;
      store.countBy = () => Promise.reject(new Error('connection refused'));
      const r = await srv.inject('GET', '/metrics', srv.admin);
      assert.equal(r.statusCode, 200);
      const all = samples(r.body);
      assert.equal(all.get('eim_fleet_gauges_up'), 0);
      assert.equal(metric(all, 'eim_hosts').size, 0);
      assert.ok(all.has('eim_store_revision'), 'the process gauges are still there');
      store.countBy = real;
      assert.equal(samples((await srv.inject('GET', '/metrics', srv.admin)).body).get('eim_fleet_gauges_up'), 1, 'and back once the store answers');
    } finally {
      await srv.close();
    }
  });

  test('at most maxSiteSeries site series; the rest are counted as dropped', async () => {
    const srv = await openTestApp({ projects: ['default', 'other'], app: { metrics: { maxSiteSeries: 2 } } });
    try {
      await seed(srv.inventory.as(ADMIN), srv.inventory.as(MANAGER));
      const all = samples((await srv.inject('GET', '/metrics', srv.admin)).body);
      assert.equal(metric(all, 'eim_site_hosts').size, 2);
      assert.equal(all.get('eim_site_hosts_dropped_series'), 8 - 2); // 7 combinations in default, 1 in other
      // The largest group is kept.
      assert.ok([...metric(all, 'eim_site_hosts').values()].includes(2));
    } finally {
      await srv.close();
    }
  });
});

describe('/metrics: who may read it (issue 9)', () => {
  test("a token is needed; a project's token sees that project's fleet series only; agent and enrollment tokens none; --metrics-public opens it", async () => {
    const srv = await openTestApp({ projects: ['default', 'other'] });
    const open = await openTestApp({ projects: ['default'], app: { metricsPublic: true } });
    try {
      await seed(srv.inventory.as(ADMIN), srv.inventory.as(MANAGER));
      const none = await srv.inject('GET', '/metrics');
      assert.equal(none.statusCode, 401);
      assert.equal(none.json().error.code, 'unauthenticated');
      assert.equal((await srv.inject('GET', '/metrics?x=1')).statusCode, 401, 'a query string does not get past');
      const projectsOf = (text: string) => new Set([...samples(text).keys()].flatMap((k) => /project="([^"]*)"/.exec(k)?.[1] ?? []));
      assert.deepEqual(projectsOf((await srv.inject('GET', '/metrics', srv.admin)).body), new Set(['default', 'other']), 'a token for every project sees all');
      const viewerOther = (await srv.tokens.issue({ subject: 'v', grants: [{ project: 'other', role: 'viewer' }] })).token;
      const scoped = (await srv.inject('GET', '/metrics', viewerOther)).body;
      assert.deepEqual(projectsOf(scoped), new Set(['other']), "a viewer of other sees none of default's hosts, sites or rollouts");
      assert.match(scoped, /^eim_writes_total \d+/m, "and this server's own counters");
      const host = (await listAll(srv.inventory.as(ADMIN), 'default', 'Host')).items[0];
      for (const grant of [{ project: 'default', role: 'agent' as const }, { project: 'default', role: 'enrollment' as const }]) {
        const token = (await srv.tokens.issue({ subject: grant.role, grants: [grant], ...(grant.role === 'agent' ? { hostId: host.id } : {}) })).token;
        assert.equal((await srv.inject('GET', '/metrics', token)).statusCode, 403, grant.role);
      }
      assert.equal((await open.inject('GET', '/metrics')).statusCode, 200, 'metricsPublic: no token needed');
    } finally {
      await open.close();
      await srv.close();
    }
  });
});

describe('/metrics with two server processes on one PostgreSQL database', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
  });

  test('hosts written through A are counted the same by B (the gauges come from the store, not from memory)', async (t) => {
    if (!(await pgReachable())) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const tmp = tempDir();
    cleanups.push(() => tmp.remove());
    // No managers: nothing but this test writes status.
    const args = ['--store', db.url, '--data-dir', tmp.dir, '--managers', 'none'];
    const a = await spawnServer(args);
    cleanups.push(() => a.kill('SIGKILL'));
    const b = await spawnServer(args);
    cleanups.push(() => b.kill('SIGKILL'));
    const api = async (base: string, path: string, body?: unknown, token = a.token, method = body === undefined ? 'GET' : 'POST') => {
      const r = await call(`${base}${path}`, { method, token, body });
      assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.body}`);
      return r.json;
    };
    const manager = (await api(a.url, '/v1/projects/*/tokens', { role: 'manager' })).token;
    const scrape = async (base: string) => metric(samples((await call(`${base}/metrics`, { token: a.token })).body), 'eim_hosts');
    // B reads once before the writes, so a later answer cannot be a cache of the same read.
    assert.equal((await scrape(b.url)).get('project=default,status=running'), 0);
    for (let i = 0; i < 3; i++) {
      const h = await api(a.url, '/v1/projects/default/hosts', { name: `h-${i}`, spec: { desiredState: 'onboarded' } });
      if (i < 2) await api(a.url, `/v1/projects/default/hosts/${h.id}/status`, { hostStatus: t3('idle', 'running'), observedGeneration: 1 }, manager, 'PATCH');
    }
    const deadline = Date.now() + 15_000;
    let fromB = await scrape(b.url);
    while (fromB.get('project=default,status=running') !== 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      fromB = await scrape(b.url);
    }
    const fromA = await scrape(a.url);
    assert.equal(fromB.get('project=default,status=running'), 2);
    assert.equal(fromB.get('project=default,status=not-seen'), 1);
    assert.deepEqual([...fromB], [...fromA]);
  });
});

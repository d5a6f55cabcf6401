import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Caller, HOST_CATEGORIES, hostCategory, type HostSummary, listAll, type Resource } from '../../api/index.ts';
import { openTestApp } from '../../testing/test-app.ts';
import { DIALECTS, pgReachable } from '../../testing/test-stores.ts';

const MANAGER: Caller = { subject: 'manager', grants: [{ project: '*', role: 'manager' }] };
const ts = '2026-12-01T00:00:00.000Z';
const triple = (indicator: string, message: string) => ({ indicator, message, timestamp: ts });

/** Host statuses, one per category and some more, cycled over the hosts. */
const STATUSES: Record<string, unknown>[] = [
  { hostStatus: triple('idle', 'running'), observedGeneration: 1 },
  { hostStatus: triple('error', 'no connection') },
  { hostStatus: triple('idle', 'running'), onboardingStatus: triple('error', 'boom') },
  { hostStatus: triple('in_progress', 'booting') },
  { hostStatus: triple('idle', 'running'), maintenance: { inWindow: true, purposes: ['maintenance'], scheduleIds: [] } },
  {},
  { hostStatus: triple('idle', 'running'), observedGeneration: 0 },
];

/** The summary computed the slow way: every host listed, categorised and grouped here. */
function countOverList(hosts: Resource[], keyOf: (h: Resource) => string | null) {
  const groups = new Map<string | null, Record<string, number>>();
  for (const h of hosts) {
    const k = keyOf(h);
    const g = groups.get(k) ?? Object.fromEntries(HOST_CATEGORIES.map((c) => [c, 0]));
    g[hostCategory(h)]++;
    groups.set(k, g);
  }
  return groups;
}

for (const dialect of DIALECTS) {
  describe(`GET hosts:summary (${dialect})`, () => {
    test('equals a count over the list, per site, region, label and inherited label, with a filter; project-scoped; bad input is 400', async (t) => {
      if (dialect === 'postgres' && !(await pgReachable())) return void t.skip('PostgreSQL not reachable: this test did NOT run');
      const srv = await openTestApp({ dialect, projects: ['default', 'other'] });
      try {
        const inv = srv.inventory.as({ subject: 'admin', grants: [{ project: '*', role: 'admin' }] });
        const mgr = srv.inventory.as(MANAGER);
        const eu = await inv.create('default', 'Region', { name: 'eu', spec: {} });
        const de = await inv.create('default', 'Region', { name: 'de', spec: { parentRegionId: eu.id } });
        const us = await inv.create('default', 'Region', { name: 'us', spec: {} });
        const sites = [
          await inv.create('default', 'Site', { name: 'berlin', spec: { regionId: de.id } }),
          await inv.create('default', 'Site', { name: 'munich', spec: { regionId: de.id } }),
          await inv.create('default', 'Site', { name: 'austin', spec: { regionId: us.id } }),
        ];
        for (let i = 0; i < 40; i++) {
          const site = i % 4 === 3 ? undefined : sites[i % 3];
          const h = await inv.create('default', 'Host', {
            name: `h${i}`,
            labels: i % 5 === 0 ? { env: 'canary' } : i % 5 === 1 ? { env: 'prod' } : {},
            spec: { desiredState: 'onboarded', ...(site ? { siteId: site.id } : {}) },
          });
          await mgr.updateStatus('default', 'Host', h.id, { ...STATUSES[i % STATUSES.length], ...(i % 2 === 0 ? { inheritedLabels: { ring: i % 4 === 0 ? 'a' : 'b' } } : {}) });
        }
        await inv.create('other', 'Host', { name: 'elsewhere', spec: { desiredState: 'onboarded' } });
        const hosts = (await listAll(inv, 'default', 'Host')).items as Resource[];
        const siteRegion = new Map(sites.map((s) => [s.id, s.spec.regionId as string]));
        const summary = async (query: string, token = srv.admin) => srv.call('GET', `/v1/projects/default/hosts:summary${query}`, token);

        const all = (await summary('')).json as HostSummary;
        assert.equal(all.total, 40);
        assert.deepEqual(all.counts, countOverList(hosts, () => null).get(null));
        assert.ok(Object.values(all.counts).every((n) => n > 0), 'every category is represented');
        assert.equal(all.groups, undefined);

        const cases: [string, (h: Resource) => string | null, Resource[]][] = [
          ['site', (h) => (h.spec.siteId as string | undefined) ?? null, hosts],
          ['region', (h) => siteRegion.get(h.spec.siteId as string) ?? null, hosts],
          ['label.env', (h) => h.labels.env ?? null, hosts],
          ['inheritedLabel.ring', (h) => (h.status as { inheritedLabels?: Record<string, string> }).inheritedLabels?.ring ?? null, hosts],
        ];
        for (const [groupBy, keyOf, over] of cases) {
          const got = (await summary(`?groupBy=${encodeURIComponent(groupBy)}`)).json as HostSummary;
          const want = countOverList(over, keyOf);
          assert.equal(got.groupBy, groupBy);
          assert.deepEqual(new Map(got.groups!.map((g) => [g.key, g.counts])), want, groupBy);
          for (const g of got.groups!) assert.equal(g.total, Object.values(g.counts).reduce((a, b) => a + b, 0));
          assert.equal(got.groups!.at(-1)!.key, null, 'hosts without a key come last');
        }
        const bySite = (await summary('?groupBy=site')).json as HostSummary;
        assert.deepEqual(new Map(bySite.groups!.map((g) => [g.key, g.name])), new Map([...sites.map((s) => [s.id, s.name] as const), [null, undefined]]));
        const byRegion = (await summary('?groupBy=region')).json as HostSummary;
        assert.deepEqual(byRegion.groups!.map((g) => g.name ?? null).sort(), ['de', 'us', null].sort());

        const filtered = (await summary(`?groupBy=site&filter=${encodeURIComponent('labels.env = canary OR inheritedLabels.ring = a')}`)).json as HostSummary;
        const picked = hosts.filter((h) => h.labels.env === 'canary' || (h.status as { inheritedLabels?: { ring?: string } }).inheritedLabels?.ring === 'a');
        assert.equal(filtered.total, picked.length);
        assert.deepEqual(new Map(filtered.groups!.map((g) => [g.key, g.counts])), countOverList(picked, (h) => (h.spec.siteId as string | undefined) ?? null));

        // Scoped: a token of another project sees nothing of default; the other project counts its one host.
        const viewer = (await srv.tokens.issue({ subject: 'bob', grants: [{ project: 'other', role: 'viewer' }] })).token;
        const listStatus = (await srv.call('GET', '/v1/projects/default/hosts', viewer)).status;
        assert.equal(listStatus, 404, 'as the list answers');
        assert.equal((await summary('', viewer)).status, listStatus);
        const other = await srv.call('GET', '/v1/projects/other/hosts:summary', viewer);
        assert.equal(other.status, 200);
        assert.equal(other.json.total, 1);
        assert.equal((await srv.call('GET', '/v1/projects/nope/hosts:summary', srv.admin)).status, 404);

        for (const bad of ['?groupBy=owner', "?groupBy=label.a'%29%3B%20drop%20table%20eim_resources%3B--", '?groupBy=label.', '?filter=labels.%3D', '?filter=spec.nope%20%3D%201']) {
          const r = await summary(bad);
          assert.equal(r.status, 400, bad);
          assert.equal(r.json.error.code, 'invalid_argument');
        }
        assert.equal((await summary('')).json.total, 40, 'still there');
      } finally {
        await srv.close();
      }
    });
  });
}

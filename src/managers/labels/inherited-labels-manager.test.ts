import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Resource } from '../../api/index.ts';
import { DIALECTS } from '../../testing/test-stores.ts';
import { until } from '../../testing/until.ts';
import { inheritLabels, replacePatch } from './inherit-labels.ts';
import { type DialectHarness, openDialectHarness } from '../testing/dialect-harness.ts';

const P = 'default';

test('inheritLabels: root first, the most specific level wins, sources name the level', () => {
  const got = inheritLabels([
    { id: 'region-00000001', labels: { env: 'prod', geo: 'eu', tier: 'a' } },
    { id: 'region-00000002', labels: { geo: 'eu-west' } },
    { id: 'site-00000003', labels: { line: '3' } },
    { id: 'host-00000004', labels: { env: 'canary' } },
  ]);
  assert.deepEqual(got.labels, { env: 'canary', geo: 'eu-west', line: '3', tier: 'a' });
  assert.deepEqual(got.sources, { env: 'host-00000004', geo: 'region-00000002', line: 'site-00000003', tier: 'region-00000001' });
  assert.deepEqual(replacePatch({ a: '1', b: '2' }, { a: '1', c: '3' }), { b: null, c: '3' });
  assert.equal(replacePatch({ a: '1' }, { a: '1' }), undefined);
  assert.equal(replacePatch(undefined, {}), undefined);
});

/** inheritedLabels of every listed resource, by id. */
async function inherited(h: DialectHarness, kind: string): Promise<Map<string, Resource>> {
  const { items } = await h.user.list(P, kind, { pageSize: 1000 });
  return new Map(items.map((r) => [r.id, r]));
}

const il = (r: Resource | undefined) => (r?.status as { inheritedLabels?: Record<string, string> } | undefined)?.inheritedLabels ?? {};

for (const dialect of DIALECTS) {
  describe(`inherited labels (${dialect})`, () => {
    test('a region re-parented: every site, host and instance under it changes, and nothing else is written', async (t) => {
      const h = await openDialectHarness(dialect);
      if (!h) return void t.skip('PostgreSQL not reachable: this test did NOT run');
      try {
        const create = (kind: string, name: string, spec: Record<string, unknown>, labels: Record<string, string> = {}) => h.user.create(P, kind, { name, labels, spec });
        const eu = await create('Region', 'eu', {}, { geo: 'eu', env: 'prod' });
        const us = await create('Region', 'us', {}, { geo: 'us', owner: 'ops-us' });
        const de = await create('Region', 'de', { parentRegionId: eu.id }, { country: 'de' });
        const fr = await create('Region', 'fr', { parentRegionId: eu.id }, { country: 'fr' });
        const berlin = await create('Site', 'berlin', { regionId: de.id }, { line: '3' });
        const paris = await create('Site', 'paris', { regionId: fr.id });
        const os = await create('OperatingSystem', 'ubuntu', { imageUrl: 'https://x.example/u.img', sha256: 'a'.repeat(64), profileName: 'u', profileVersion: '1', osType: 'mutable', architecture: 'x86_64' });
        const hosts: Resource[] = [];
        for (let i = 0; i < 4; i++) hosts.push(await create('Host', `b${i}`, { siteId: berlin.id, desiredState: 'registered' }, i === 0 ? { env: 'canary' } : {}));
        for (let i = 0; i < 2; i++) hosts.push(await create('Host', `p${i}`, { siteId: paris.id, desiredState: 'registered' }));
        const loose = await create('Host', 'loose', { desiredState: 'registered' }, { own: 'x' });
        const inst = await create('Instance', 'b0-os', { hostId: hosts[0].id, osId: os.id, desiredState: 'running' }, { app: 'pos' });

        await until(async () => {
          const all = await inherited(h, 'Host');
          return il(all.get(hosts[5].id)).country === 'fr' && il(all.get(hosts[0].id)).line === '3' && il(all.get(loose.id)).own === 'x' && il(await h.user.get(P, 'Instance', inst.id)).app === 'pos';
        }, 'first inheritance', { timeoutMs: 15_000 });
        const b0 = await h.user.get(P, 'Host', hosts[0].id);
        assert.deepEqual(il(b0), { country: 'de', env: 'canary', geo: 'eu', line: '3' }, 'the host wins env; the site adds line');
        assert.deepEqual((b0.status as { inheritedLabelSources?: unknown }).inheritedLabelSources, { country: de.id, env: hosts[0].id, geo: eu.id, line: berlin.id });
        assert.deepEqual(il(await h.user.get(P, 'Instance', inst.id)), { app: 'pos', country: 'de', env: 'canary', geo: 'eu', line: '3' });
        assert.deepEqual(il(await h.user.get(P, 'Site', paris.id)), { country: 'fr', env: 'prod', geo: 'eu' });

        // Quiet now: nothing more to write.
        const settled = async () => {
          const s = h.managers.stats().labels;
          return [s.sites, s.hosts, s.instances].every((c) => c.queueLength + c.inFlight === 0);
        };
        await until(settled, 'labels manager idle');
        const before = h.managers.stats().labels.writes;
        const rev = (await h.user.list(P, 'Host', { pageSize: 1 })).revision;

        // Re-parent de under us: berlin, its 4 hosts and the instance change; paris and the rest do not.
        await h.user.update(P, 'Region', de.id, { spec: { parentRegionId: us.id } });
        await until(async () => il(await h.user.get(P, 'Instance', inst.id)).owner === 'ops-us', 'the instance under de sees us', { timeoutMs: 15_000 });
        await until(settled, 'labels manager idle again');
        const hostsNow = await inherited(h, 'Host');
        for (const b of hosts.slice(0, 4)) {
          const want = { country: 'de', geo: 'us', line: '3', owner: 'ops-us', ...(b.id === hosts[0].id ? { env: 'canary' } : {}) };
          assert.deepEqual(il(hostsNow.get(b.id)), want, `${b.name} under us now`);
        }
        for (const p of hosts.slice(4)) assert.deepEqual(il(hostsNow.get(p.id)), { country: 'fr', env: 'prod', geo: 'eu' }, `${p.name} unchanged`);
        assert.deepEqual(il(hostsNow.get(loose.id)), { own: 'x' });
        assert.equal(h.managers.stats().labels.writes - before, 1 + 4 + 1, 'berlin, its four hosts and the instance: nothing else');
        const { events } = await h.user.events({ project: P, since: rev, limit: 1000 });
        const changed = new Set(events.filter((e) => e.actor.includes('manager') && e.kind !== 'Region').map((e) => e.id));
        const outside = [paris.id, ...hosts.slice(4).map((x) => x.id), loose.id].filter((id) => changed.has(id));
        assert.deepEqual(outside, [], 'no write outside the moved region');

        // A label edited on the way (the site) and removed at the top reach the hosts.
        await h.user.update(P, 'Site', berlin.id, { labels: { line: '4' } });
        await h.user.update(P, 'Region', us.id, { labels: { owner: null } });
        await until(async () => {
          const x = il(await h.user.get(P, 'Host', hosts[1].id));
          return x.line === '4' && !('owner' in x);
        }, 'site label edit and region label removal reach the host', { timeoutMs: 15_000 });

        // Filters: inheritedLabels.<key> on the list, as the REST filter= takes it.
        await until(settled, 'idle');
        const byInherited = await h.user.list(P, 'Host', { filter: 'inheritedLabels.geo = us AND inheritedLabels.line = "4"', pageSize: 100 });
        assert.deepEqual(byInherited.items.map((x) => x.name).sort(), ['b0', 'b1', 'b2', 'b3']);
        const canary = await h.user.list(P, 'Host', { filter: 'inheritedLabels.env = canary', pageSize: 100 });
        assert.deepEqual(canary.items.map((x) => x.name), ['b0']);
        const prod = await h.user.list(P, 'Site', { filter: 'inheritedLabels.env = "prod"' });
        assert.deepEqual(prod.items.map((x) => x.name), ['paris']);
        const orderByInherited = await h.user.list(P, 'Host', { filter: 'inheritedLabels.country:*', orderBy: 'inheritedLabels.country desc, name', pageSize: 100 });
        assert.deepEqual(orderByInherited.items.map((x) => x.name), ['p0', 'p1', 'b0', 'b1', 'b2', 'b3']);
      } finally {
        await h.close();
      }
    });
  });
}

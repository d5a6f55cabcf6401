import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Resource } from '../../api/index.ts';
import { openTestApp } from '../../testing/test-app.ts';
import { DIALECTS, pgReachable } from '../../testing/test-stores.ts';
import { until } from '../../testing/until.ts';
import { openDialectHarness } from '../testing/dialect-harness.ts';

const P = 'default';
const inWindow = (h: Resource) => (h.status as { maintenance?: { inWindow?: boolean } }).maintenance?.inWindow === true;

for (const dialect of DIALECTS) {
  describe(`selector-targeted schedules (${dialect})`, () => {
    test('a window opens for exactly the matching hosts, across regions, and follows label changes; matchedHosts counts them', async (t) => {
      const h = await openDialectHarness(dialect);
      if (!h) return void t.skip('PostgreSQL not reachable: this test did NOT run');
      try {
        const create = (kind: string, name: string, spec: Record<string, unknown>, labels: Record<string, string> = {}) => h.user.create(P, kind, { name, labels, spec });
        const eu = await create('Region', 'eu', {}, { geo: 'eu' });
        const us = await create('Region', 'us', {}, { geo: 'us' });
        const berlin = await create('Site', 'berlin', { regionId: eu.id });
        const paris = await create('Site', 'paris', { regionId: eu.id }, { env: 'canary' });
        const austin = await create('Site', 'austin', { regionId: us.id });
        const host = (name: string, siteId: string, labels: Record<string, string> = {}) => create('Host', name, { siteId, desiredState: 'registered' }, labels);
        const b1 = await host('b1', berlin.id, { env: 'canary' });
        const b2 = await host('b2', berlin.id);
        const p1 = await host('p1', paris.id); // canary through its site
        const p2 = await host('p2', paris.id, { env: 'prod' }); // its own label wins over the site's
        const a1 = await host('a1', austin.id, { env: 'canary' }); // canary, but not in eu
        const sched = await create('Schedule', 'eu-canary-window', {
          purpose: 'maintenance',
          target: { selector: 'inheritedLabels.env = "canary" AND inheritedLabels.geo = "eu"' },
          single: { startAt: '2026-01-01T00:00:00Z' },
        });
        const windowed = async () => new Set((await h.user.list(P, 'Host', { pageSize: 100 })).items.filter(inWindow).map((x) => x.name));
        const matched = async () => (await h.user.get(P, 'Schedule', sched.id)).status.matchedHosts;
        await until(async () => (await windowed()).size === 2 && (await matched()) === 2, 'the window open on b1 and p1', { timeoutMs: 15_000 });
        assert.deepEqual(await windowed(), new Set(['b1', 'p1']));
        const b1now = await h.user.get(P, 'Host', b1.id);
        assert.deepEqual(b1now.status.maintenance?.scheduleIds, [sched.id]);
        assert.equal((await h.user.get(P, 'Schedule', sched.id)).status.open, true);

        // A label change: b2 becomes canary (gains), p1 is labelled prod on its own (loses), and us is
        // relabelled geo=eu, so a1 gains through its region.
        await h.user.update(P, 'Host', b2.id, { labels: { env: 'canary' } });
        await h.user.update(P, 'Host', p1.id, { labels: { env: 'prod' } });
        await h.user.update(P, 'Region', us.id, { labels: { geo: 'eu' } });
        await until(async () => {
          const w = await windowed();
          return w.size === 3 && w.has('b1') && w.has('b2') && w.has('a1') && (await matched()) === 3;
        }, 'membership followed the labels', { timeoutMs: 15_000 });
        assert.equal(inWindow(await h.user.get(P, 'Host', p2.id)), false);
        assert.equal(inWindow(await h.user.get(P, 'Host', a1.id)), true);

        // The selector itself changes: only prod hosts now.
        await h.user.update(P, 'Schedule', sched.id, { spec: { target: { selector: 'inheritedLabels.env = prod' } } });
        await until(async () => {
          const w = await windowed();
          return w.size === 2 && w.has('p1') && w.has('p2') && (await matched()) === 2;
        }, 'the new selector', { timeoutMs: 15_000 });
        // And back to one id: matchedHosts goes away.
        await h.user.update(P, 'Schedule', sched.id, { spec: { target: { selector: null, hostId: b2.id } } });
        await until(async () => {
          const w = await windowed();
          return w.size === 1 && w.has('b2') && (await matched()) === undefined;
        }, 'an id target again', { timeoutMs: 15_000 });
      } finally {
        await h.close();
      }
    });

    test('a selector that does not parse is invalid_argument (400) at write time, with the parser\'s message', async (t) => {
      if (dialect === 'postgres' && !(await pgReachable())) return void t.skip('PostgreSQL not reachable: this test did NOT run');
      const srv = await openTestApp({ dialect });
      try {
        const body = (selector: unknown) => ({ name: 'w', spec: { purpose: 'maintenance', target: { selector }, single: { startAt: '2026-01-01T00:00:00Z' } } });
        const bad = await srv.call('POST', '/v1/projects/default/schedules', srv.admin, body('inheritedLabels.env = '));
        assert.equal(bad.status, 400);
        assert.equal(bad.json.error.code, 'invalid_argument');
        assert.match(bad.json.error.message, /^spec\.target\.selector: filter: expected a value after "=" at 23 \(quote an empty string/);
        const unknownField = await srv.call('POST', '/v1/projects/default/schedules', srv.admin, body('spec.nope = 1'));
        assert.equal(unknownField.status, 400);
        assert.match(unknownField.json.error.message, /spec\.target\.selector: filter: unknown field "spec\.nope"/);
        const both = await srv.call('POST', '/v1/projects/default/schedules', srv.admin, { ...body('labels.a = b'), spec: { ...body('labels.a = b').spec, target: { selector: 'labels.a = b', hostId: 'host-0a1b2c3d' } } });
        assert.equal(both.status, 400);
        assert.match(both.json.error.message, /exactly one of regionId, siteId, hostId, selector/);
        const ok = await srv.call('POST', '/v1/projects/default/schedules', srv.admin, body('inheritedLabels.env = canary'));
        assert.equal(ok.status, 201, JSON.stringify(ok.json));
        const patch = await srv.call('PATCH', `/v1/projects/default/schedules/${ok.json.id}`, srv.admin, { spec: { target: { selector: '(labels.a = b' } } });
        assert.equal(patch.status, 400);
        assert.match(patch.json.error.message, /spec\.target\.selector: filter: expected "\)"/);
      } finally {
        await srv.close();
      }
    });
  });
}

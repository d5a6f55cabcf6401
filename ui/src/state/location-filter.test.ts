import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '../api/resource.ts';
import { locationHref, locationName, locationOf, sitesOf } from './location-filter.ts';
import { ResourceStore } from './resource-store.ts';

const r = (kind: string, id: string, name: string, spec: Record<string, unknown> = {}) =>
  ({ kind, id, project: 'default', name, labels: {}, revision: 1, generation: 1, createdAt: '', updatedAt: '', spec, status: {} }) as Resource;

test('a site or region in the route; the sites a region covers, nested regions included', () => {
  assert.deepEqual(locationOf('/?site=site-0000000a'), { site: 'site-0000000a' });
  assert.deepEqual(locationOf('/?region=region-0000000e'), { region: 'region-0000000e' });
  assert.equal(locationOf('/'), undefined);
  assert.equal(locationHref({ site: 'site-0000000a' }), '#/?site=site-0000000a');
  assert.deepEqual(locationOf(locationHref({ region: 'region-0000000e' }).slice(1)), { region: 'region-0000000e' });

  const store = new ResourceStore();
  store.replace('Region', [r('Region', 'region-e', 'emea'), r('Region', 'region-w', 'emea-west', { parentRegionId: 'region-e' }), r('Region', 'region-a', 'apac')]);
  store.replace('Site', [r('Site', 'site-1', 'plant-1', { regionId: 'region-w' }), r('Site', 'site-2', 'plant-2', { regionId: 'region-e' }), r('Site', 'site-3', 'plant-3', { regionId: 'region-a' })]);
  assert.deepEqual([...sitesOf(store, { region: 'region-e' })].sort(), ['site-1', 'site-2']);
  assert.deepEqual([...sitesOf(store, { region: 'region-w' })], ['site-1']);
  assert.deepEqual([...sitesOf(store, { site: 'site-3' })], ['site-3']);
  assert.equal(locationName(store, { site: 'site-1' }), 'site plant-1');
  assert.equal(locationName(store, { region: 'region-gone' }), 'region region-gone');
});

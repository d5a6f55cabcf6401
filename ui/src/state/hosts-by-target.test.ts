import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '../api/resource.ts';
import { hostsByTarget, targetId } from './hosts-by-target.ts';
import { ResourceStore } from './resource-store.ts';

const res = (kind: string, id: string, spec: Record<string, unknown>): Resource => ({
  kind, id, project: 'default', name: id, labels: {}, revision: 1, generation: 1, createdAt: '', updatedAt: '', spec, status: {},
});

test('a region counts the hosts of its sites and of its sub-regions; a site and a host their own', () => {
  const store = new ResourceStore();
  // emea ⊃ west ⊃ plant-1; emea ⊃ plant-2; a cycle (loop-a ⇄ loop-b) must not hang or double count.
  store.replace('Region', [res('Region', 'emea', {}), res('Region', 'west', { parentRegionId: 'emea' }), res('Region', 'loop-a', { parentRegionId: 'loop-b' }), res('Region', 'loop-b', { parentRegionId: 'loop-a' })]);
  store.replace('Site', [res('Site', 'plant-1', { regionId: 'west' }), res('Site', 'plant-2', { regionId: 'emea' }), res('Site', 'plant-3', { regionId: 'loop-a' })]);
  store.replace('Host', [
    res('Host', 'h1', { siteId: 'plant-1' }),
    res('Host', 'h2', { siteId: 'plant-1' }),
    res('Host', 'h3', { siteId: 'plant-2' }),
    res('Host', 'h4', {}),
    res('Host', 'h5', { siteId: 'plant-3' }),
  ]);
  const c = hostsByTarget(store);
  assert.deepEqual(
    ['emea', 'west', 'plant-1', 'plant-2', 'h4', 'loop-a', 'loop-b', 'plant-3'].map((id) => c.get(id)),
    [3, 2, 2, 1, 1, 1, 1, 1],
  );
  assert.equal(c.get('nowhere'), undefined);
  assert.equal(targetId(res('Schedule', 's', { target: { regionId: 'emea' } })), 'emea');
  assert.equal(targetId(res('Schedule', 's', { target: { hostId: 'h4' } })), 'h4');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openTestApp } from '../../testing/test-app.ts';
import { INHERITED_LABELS_MAX_BYTES, inheritLabels } from './inherit-labels.ts';

const many = (n: number, value = 'v') => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${String(i).padStart(5, '0')}`, value]));

test('inheritLabels: the most specific level wins a key, keys come out sorted', () => {
  const set = inheritLabels([
    { id: 'region-00000001', labels: { env: 'prod', geo: 'eu', tier: 'gold' } },
    { id: 'site-00000002', labels: { geo: 'fr' } },
    { id: 'host-00000003', labels: { env: 'canary' } },
  ]);
  assert.deepEqual(set, {
    labels: { env: 'canary', geo: 'fr', tier: 'gold' },
    sources: { env: 'host-00000003', geo: 'site-00000002', tier: 'region-00000001' },
  });
  assert.deepEqual(Object.keys(set.labels), ['env', 'geo', 'tier']);
});

test('inheritLabels: past its byte budget the nearest levels are kept whole and the farthest region loses its labels, in key order', () => {
  const root = { id: 'region-0000000a', labels: many(8000) }; // accepted on the region: ~95 kB
  const near = { id: 'region-0000000b', labels: { near: 'yes', k00003: 'from-near' } };
  const site = { id: 'site-0000000c', labels: { own: 'site' } };
  const set = inheritLabels([root, near, site]);
  const size = JSON.stringify(set.labels).length + JSON.stringify(set.sources).length;
  assert.ok(size <= INHERITED_LABELS_MAX_BYTES, `${size} bytes`);
  assert.ok(size > INHERITED_LABELS_MAX_BYTES - 200, 'the budget is used, not left mostly empty');
  assert.equal(set.labels.own, 'site');
  assert.equal(set.labels.near, 'yes');
  assert.equal(set.labels.k00003, 'from-near', 'a nearer level still wins a key');
  assert.equal(set.sources.k00003, 'region-0000000b');
  const fromRoot = Object.keys(set.sources).filter((k) => set.sources[k] === root.id);
  assert.ok(fromRoot.length > 1000 && fromRoot.length < 8000, `${fromRoot.length} of the root's labels kept`);
  assert.deepEqual(fromRoot, Object.keys(root.labels).filter((k) => k !== 'k00003').slice(0, fromRoot.length), 'the root region keeps its first keys');
  // Under the budget nothing is dropped.
  assert.equal(Object.keys(inheritLabels([{ id: 'region-0000000a', labels: many(100) }, site]).labels).length, 101);
});

test('a region with thousands of labels (accepted) leaves the sites under it an inherited-labels status the manager can store', async () => {
  const srv = await openTestApp({ projects: ['p'] });
  try {
    const ed = (await srv.tokens.issue({ subject: 'ed', grants: [{ project: 'p', role: 'editor' }] })).token;
    const labels = many(8000);
    const region = await srv.call('POST', '/v1/projects/p/regions', ed, { name: 'big', labels, spec: {} });
    assert.equal(region.status, 201);
    const site = await srv.call('POST', '/v1/projects/p/sites', ed, { name: 's', labels: { own: 'x' }, spec: { regionId: region.json.id } });
    assert.equal(site.status, 201);
    const set = inheritLabels([{ id: region.json.id, labels }, { id: site.json.id, labels: { own: 'x' } }]);
    const manager = srv.inventory.as({ subject: 'managers', grants: [{ project: '*', role: 'manager' }] });
    const written = await manager.updateStatus('p', 'Site', site.json.id, { inheritedLabels: set.labels, inheritedLabelSources: set.sources });
    assert.equal((written.status as { inheritedLabels: Record<string, string> }).inheritedLabels.own, 'x');
  } finally {
    await srv.close();
  }
});

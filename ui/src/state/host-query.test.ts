import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '../api/resource.ts';
import { compileHostQuery, type HostQuery, labelClause, runHostQuery } from './host-query.ts';

const h = (name: string, labels: Record<string, string>, status: Record<string, unknown>, siteId?: string): Resource => ({
  kind: 'Host', id: `host-${name}`, project: 'default', name, labels, revision: 1, generation: 1, createdAt: '', updatedAt: '',
  spec: { desiredState: 'onboarded', ...(siteId ? { siteId } : {}) }, status,
});
const RUNNING = { currentState: 'onboarded', hostStatus: { indicator: 'idle', message: 'running' } };
const HOSTS = [
  h('edge-b', { line: '3', 'example.com/tier': 'gold' }, RUNNING, 'site-2'),
  h('edge-a', { line: '1' }, { currentState: 'onboarded', hostStatus: { indicator: 'error', message: 'no connection' } }, 'site-1'),
  h('core-c', { line: '3' }, { currentState: 'registered', onboardingStatus: { indicator: 'error', message: 'install failed' } }),
];
const names = (q: Partial<HostQuery>, siteName?: (id?: string) => string) =>
  runHostQuery(HOSTS, compileHostQuery({ filter: '', labels: [], sort: 'name', desc: false, ...q }, siteName)).map((x) => x.name);

test('the filter box speaks the API\'s AIP-160, wildcards and nested fields included', () => {
  assert.deepEqual(names({ filter: 'name = "edge-*"' }), ['edge-a', 'edge-b']);
  assert.deepEqual(names({ filter: 'status.currentState = registered OR labels.line = 1' }), ['core-c', 'edge-a']);
  assert.deepEqual(names({ filter: 'NOT status.hostStatus.message = "no connection" AND spec.siteId:*' }), ['edge-b']);
  assert.throws(() => compileHostQuery({ filter: 'name = (', labels: [], sort: 'name', desc: false }), /filter/);
});

test('label filters combine with the box and with each other', () => {
  assert.deepEqual(names({ labels: ['line=3'] }), ['core-c', 'edge-b']);
  assert.deepEqual(names({ labels: ['line=3', 'example.com/tier=gold'] }), ['edge-b']);
  assert.deepEqual(names({ labels: ['example.com/tier'] }), ['edge-b']);
  assert.deepEqual(names({ labels: ['line=3'], filter: 'name = core-*' }), ['core-c']);
  assert.equal(labelClause('line = 3'), 'labels.line = "3"');
  assert.throws(() => labelClause('bad key=1'), /label key/);
});

test('tiles filter by category; sorting by each column, both ways', () => {
  assert.deepEqual(names({ category: 'error' }), ['core-c']);
  assert.deepEqual(names({ category: 'no-connection' }), ['edge-a']);
  assert.deepEqual(names({ category: 'unallocated' }), ['core-c']);
  assert.deepEqual(names({ sort: 'name', desc: true }), ['edge-b', 'edge-a', 'core-c']);
  assert.deepEqual(names({ sort: 'status' }), ['core-c', 'edge-a', 'edge-b']);
  assert.deepEqual(names({ sort: 'site' }, (id) => ({ 'site-1': 'zurich', 'site-2': 'athens' })[id ?? ''] ?? ''), ['core-c', 'edge-b', 'edge-a']);
});

test('a drill-down to sites keeps only the hosts in them (hosts with no site never match)', () => {
  assert.deepEqual(names({ sites: new Set(['site-1']) }), ['edge-a']);
  assert.deepEqual(names({ sites: new Set(['site-1', 'site-2']), filter: 'labels.line = 3' }), ['edge-b']);
  assert.deepEqual(names({ sites: new Set() }), []);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { InventoryEvent, Resource } from '../api/resource.ts';
import { HOST_CATEGORIES, hostCategory, isUnallocated } from './host-category.ts';
import { ResourceStore } from './resource-store.ts';

const host = (id: string, revision: number, status: Record<string, unknown> = {}, spec: Record<string, unknown> = { desiredState: 'registered' }): Resource => ({
  kind: 'Host', id, project: 'default', name: id, labels: {}, revision, generation: 1, createdAt: '', updatedAt: '', spec, status,
});
const ev = (type: InventoryEvent['type'], object: Resource, revision = object.revision): InventoryEvent => ({ type, revision, kind: object.kind, id: object.id, project: 'default', object });

const STATUSES = [
  {},
  { hostStatus: { indicator: 'idle', message: 'running' } },
  { hostStatus: { indicator: 'error', message: 'no connection' } },
  { hostStatus: { indicator: 'idle', message: 'running' }, onboardingStatus: { indicator: 'error', message: 'boom' } },
  { hostStatus: { indicator: 'in_progress', message: 'onboarding' } },
  { hostStatus: { indicator: 'idle', message: 'running' }, maintenance: { inWindow: true, purposes: ['maintenance'], scheduleIds: [] } },
];

test('counts kept event by event equal counts made from scratch, whatever the events and their order', () => {
  const change = fc.record({ id: fc.integer({ min: 0, max: 5 }), status: fc.integer({ min: 0, max: STATUSES.length - 1 }), site: fc.boolean(), del: fc.boolean() });
  fc.assert(
    fc.property(fc.array(change, { maxLength: 60 }), fc.integer({ min: 0, max: 60 }), (changes, replayFrom) => {
      const store = new ResourceStore();
      const events: InventoryEvent[] = changes.map((c, i) => {
        const h = host(`host-${c.id}`, i + 1, STATUSES[c.status], { desiredState: 'registered', ...(c.site ? { siteId: 'site-00000001' } : {}) });
        return c.del ? ev('DELETED', h) : ev('UPDATED', h);
      });
      for (const e of events) store.apply(e);
      // A resume replays what was applied already: nothing may change twice.
      for (const e of events.slice(replayFrom)) assert.equal(store.apply(e), false);
      const hosts = [...store.all('Host').values()];
      assert.equal(store.hostCounts.get('total'), hosts.length);
      assert.equal(store.hostCounts.get('unallocated'), hosts.filter(isUnallocated).length);
      for (const c of HOST_CATEGORIES) assert.equal(store.hostCounts.get(c), hosts.filter((h) => hostCategory(h) === c).length, c);
    }),
  );
});

test('an event older than what a list brought is ignored; a delete after it removes', () => {
  const store = new ResourceStore();
  store.replace('Host', [host('host-00000001', 10, STATUSES[1])]);
  assert.equal(store.apply(ev('UPDATED', host('host-00000001', 7, STATUSES[2]))), false);
  assert.equal(hostCategory(store.get('Host', 'host-00000001')!), 'running');
  assert.equal(store.apply(ev('DELETED', host('host-00000001', 10), 12)), true);
  assert.equal(store.hostCounts.get('total'), 0);
  assert.equal(store.hostCounts.get('running'), 0);
});

test('listeners hear once per batch, and event listeners hear each applied event', () => {
  const store = new ResourceStore();
  let notified = 0;
  const heard: number[] = [];
  store.subscribe(() => notified++);
  store.onEvent((e) => heard.push(e.revision));
  store.apply(ev('CREATED', host('host-00000001', 1)));
  store.apply(ev('CREATED', host('host-00000002', 2)));
  store.apply(ev('CREATED', host('host-00000002', 2)));
  store.notify();
  store.notify();
  assert.equal(notified, 1);
  assert.deepEqual(heard, [1, 2]);
});

test('a store that keeps one host\'s devices drops the others, and drops a device that moves away', () => {
  const store = new ResourceStore((r) => r.status.hostId === 'host-00000001');
  const nic = (rev: number, hostId: string): Resource => ({ ...host('hostnic-00000001', rev), kind: 'HostNic', status: { hostId, deviceName: 'eth0' } });
  store.apply(ev('CREATED', { ...nic(1, 'host-00000002'), id: 'hostnic-00000002' }));
  store.apply(ev('CREATED', nic(2, 'host-00000001')));
  assert.deepEqual([...store.all('HostNic').keys()], ['hostnic-00000001']);
  store.apply(ev('UPDATED', nic(3, 'host-00000002')));
  assert.equal(store.all('HostNic').size, 0);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALL_PROJECTS, type Inventory, type Resource } from '../../api/index.ts';
import { InventoryService } from '../../inventory/index.ts';
import { openTestStore } from '../../testing/test-stores.ts';
import { HardwareSync } from './hardware-sync.ts';

const report = (nics: string[], storages: string[] = []) => ({
  hardware: { cpuModel: 'Test CPU', memoryBytes: 1 << 30 },
  nics: nics.map((d, i) => ({ deviceName: d, macAddress: `aa:00:00:00:00:${String(i).padStart(2, '0')}` })),
  storages: storages.map((d) => ({ deviceName: d, capacityBytes: 1e9 })),
  gpus: [],
  usbs: [],
});

test("hardware reports: a host's devices are read in one query (no list per kind); a host with more than one query reads is read kind by kind, and both end the same", async () => {
  const ts = await openTestStore('sqlite');
  const service = new InventoryService(ts.store);
  await service.start();
  await service.ensureProject('default');
  try {
    const inv = service.as({ subject: 'southbound', grants: [{ project: ALL_PROJECTS, role: 'manager' }] });
    const admin = service.as({ subject: 'admin', grants: [{ project: ALL_PROJECTS, role: 'admin' }] });
    let lists = 0;
    const counting = new Proxy(inv, { get: (o, k) => (k === 'list' ? (...a: Parameters<Inventory['list']>) => (lists++, o.list(...a)) : Reflect.get(o, k)) });
    let reads = 0;
    const reader = (project: string, hostId: string, kinds: readonly string[], limit: number) => (reads++, ts.store.referringTo(project, hostId, kinds, limit));
    const devices = async (hostId: string) =>
      (await ts.store.referringTo('default', hostId, ['HostNic', 'HostStorage', 'HostGpu', 'HostUsb'], 1000)).map((r: Resource) => `${r.kind} ${(r.status as { deviceName: string }).deviceName}`).sort();

    const one = (await admin.create('default', 'Host', { name: 'one', spec: {} })).id;
    const sync = new HardwareSync(counting, reader);
    assert.equal(await sync.apply('default', one, report(['eth0', 'eth1'], ['sda'])), 4, 'hardware + 2 NICs + 1 disk');
    assert.equal(await sync.apply('default', one, report(['eth0', 'eth1'], ['sda'])), 0, 'unchanged: nothing written');
    assert.equal(await sync.apply('default', one, report(['eth0', 'wlan0'])), 3, 'eth1 and sda gone, wlan0 new');
    assert.deepEqual(await devices(one), ['HostNic eth0', 'HostNic wlan0']);
    assert.equal(reads, 3, 'one read per report');
    assert.equal(lists, 0, 'no list per kind');

    // One query reads at most 2 here: a host with 3 devices is read kind by kind, and comes out the same.
    const two = (await admin.create('default', 'Host', { name: 'two', spec: {} })).id;
    const small = new HardwareSync(counting, reader, 2);
    assert.equal(await small.apply('default', two, report(['eth0', 'eth1'], ['sda'])), 4);
    lists = 0;
    assert.equal(await small.apply('default', two, report(['eth0'], ['sda', 'sdb'])), 2, 'eth1 gone, sdb new');
    assert.equal(lists, 4, 'three devices, more than one query reads: a list per kind');
    assert.deepEqual(await devices(two), ['HostNic eth0', 'HostStorage sda', 'HostStorage sdb']);
    assert.deepEqual(await devices(one), ['HostNic eth0', 'HostNic wlan0'], "the other host's devices untouched");
  } finally {
    await service.stop();
    await ts.cleanup();
  }
});

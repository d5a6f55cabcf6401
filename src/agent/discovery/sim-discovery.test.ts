import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Value } from 'typebox/value';
import { HardwareReport } from '../../api/index.ts';
import { enrollIdentity } from './enroll-identity.ts';
import { sameHardwareReport } from './hardware-report.ts';
import { SimDiscovery, simHardware } from './sim-discovery.ts';

test('same seed, same machine; every machine passes the schema and has a unique identity', () => {
  assert.deepEqual(simHardware('node-1'), simHardware('node-1'));
  const uuids = new Set<string>();
  const serials = new Set<string>();
  const macs = new Set<string>();
  for (let i = 0; i < 500; i++) {
    const r = simHardware(i);
    assert.ok(Value.Check(HardwareReport, r), JSON.stringify([...Value.Errors(HardwareReport, r)][0]));
    const id = enrollIdentity(r);
    assert.ok(id.uuid && id.serialNumber && id.macs?.length, `seed ${i} has a full identity`);
    uuids.add(id.uuid);
    serials.add(id.serialNumber);
    for (const m of id.macs) macs.add(m);
    assert.ok(r.hardware.cpuThreads! >= r.hardware.cpuCores! && r.hardware.memoryBytes! >= 8 * 1024 ** 3);
  }
  assert.equal(uuids.size, 500);
  assert.equal(serials.size, 500);
  assert.ok(macs.size >= 500);
});

test('churn changes the machine, deterministically per seed', async () => {
  const a = new SimDiscovery({ seed: 7 });
  const b = new SimDiscovery({ seed: 7 });
  const before = await a.scan();
  a.churn();
  b.churn();
  const after = await a.scan();
  assert.ok(!sameHardwareReport(before, after));
  assert.deepEqual(after, await b.scan());
  assert.ok(Value.Check(HardwareReport, after));
});

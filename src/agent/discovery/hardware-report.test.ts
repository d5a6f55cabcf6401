import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Value } from 'typebox/value';
import { HARDWARE_REPORT_LIMITS, HardwareReport } from '../../api/index.ts';
import { enrollIdentity } from './enroll-identity.ts';
import { canonicalJson, normalizeHardwareReport, sameHardwareReport } from './hardware-report.ts';

const base = (): HardwareReport => ({
  hardware: { hostname: 'edge-01', cpuModel: 'Xeon', memoryBytes: 1024, serialNumber: 'J7X9K2', uuid: '4C4C4544-0042-3510-8052-B7C04F4B4D32' },
  nics: [
    { deviceName: 'eth1', macAddress: 'AA:BB:CC:00:00:02', ipAddresses: ['10.0.0.2/24', '10.0.0.1/24'] },
    { deviceName: 'eth0', macAddress: 'aa:bb:cc:00:00:01', speedMbps: undefined },
  ],
  storages: [],
  gpus: [],
  usbs: [],
});

test('normalizing clips a report to what the server takes (HARDWARE_REPORT_LIMITS, string lengths): the first devices by name', () => {
  const many = { ...base(), nics: Array.from({ length: 100 }, (_, i) => ({ deviceName: `eth${String(i).padStart(3, '0')}`, description: 'd'.repeat(1000) })) };
  many.hardware.cpuModel = 'x'.repeat(1000);
  const n = normalizeHardwareReport(many);
  assert.equal(n.nics.length, HARDWARE_REPORT_LIMITS.nics);
  assert.equal(n.nics[0].deviceName, 'eth000');
  assert.equal(n.hardware.cpuModel!.length, 256);
  assert.ok(Value.Check(HardwareReport, n), 'the clipped report passes the schema');
});

test('normalizing sorts devices and addresses and drops absent fields; order does not make a change', () => {
  const n = normalizeHardwareReport(base());
  assert.deepEqual(
    n.nics.map((x) => x.deviceName),
    ['eth0', 'eth1'],
  );
  assert.deepEqual(n.nics[1].ipAddresses, ['10.0.0.1/24', '10.0.0.2/24']);
  assert.ok(!('speedMbps' in n.nics[0]));
  const shuffled = base();
  shuffled.nics.reverse();
  assert.ok(sameHardwareReport(base(), shuffled));
  assert.equal(canonicalJson({ b: 1, a: { d: 1, c: 2 } }), '{"a":{"c":2,"d":1},"b":1}');
});

test('any difference is a change: a link state, a new USB device, memory', () => {
  const link = base();
  link.nics[0].linkState = 'down';
  assert.ok(!sameHardwareReport(base(), link));
  const usb = base();
  usb.usbs.push({ deviceName: 'usb-001-002', bus: 1, address: 2 });
  assert.ok(!sameHardwareReport(base(), usb));
  const mem = base();
  mem.hardware.memoryBytes = 2048;
  assert.ok(!sameHardwareReport(base(), mem));
  assert.ok(!sameHardwareReport(undefined, base()));
});

test('enroll identity: lower-case uuid, real serial, sorted MACs, hostname', () => {
  assert.deepEqual(enrollIdentity(base()), {
    uuid: '4c4c4544-0042-3510-8052-b7c04f4b4d32',
    serialNumber: 'J7X9K2',
    hostname: 'edge-01',
    macs: ['aa:bb:cc:00:00:01', 'aa:bb:cc:00:00:02'],
  });
});

test('enroll identity leaves out firmware placeholders, which would match other machines', () => {
  for (const serialNumber of ['To Be Filled By O.E.M.', 'Default string', 'System Serial Number', '0', ' ']) {
    const r = base();
    r.hardware = { ...r.hardware, serialNumber, uuid: '03000200-0400-0500-0006-000700080009' };
    const id = enrollIdentity(r);
    assert.equal(id.serialNumber, undefined, serialNumber);
    assert.equal(id.uuid, undefined);
  }
  assert.deepEqual(enrollIdentity({ hardware: {}, nics: [{ deviceName: 'x', macAddress: '00:00:00:00:00:00' }], storages: [], gpus: [], usbs: [] }, 'fallback'), { hostname: 'fallback' });
});

import assert from 'node:assert/strict';
import { readdirSync, realpathSync } from 'node:fs';
import { test } from 'node:test';
import { Value } from 'typebox/value';
import { HardwareReport } from '../../api/index.ts';
import { fixtureSystem, type FixtureSystemSpec } from './fixture-system.ts';
import { LinuxDiscovery } from './linux-discovery.ts';

// Two sockets × two cores × two threads, listed out of order like real machines do.
const cpuBlock = (processor: number, socket: number, core: number) => `processor\t: ${processor}
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Gold 6338N CPU @ 2.20GHz
physical id\t: ${socket}
siblings\t: 4
core id\t\t: ${core}
cpu cores\t: 2
flags\t\t: fpu vme
`;
const CPUINFO = [
  [0, 0, 0],
  [1, 0, 1],
  [2, 1, 0],
  [3, 1, 1],
  [4, 0, 0],
  [5, 0, 1],
  [6, 1, 0],
  [7, 1, 1],
]
  .map(([p, s, c]) => cpuBlock(p, s, c))
  .join('\n');

const PCI = '/sys/devices/pci0000:00';
const FIXTURE: FixtureSystemSpec = {
  hostname: 'edge-07',
  kernelRelease: '6.8.0-45-generic',
  arch: 'x64',
  files: {
    '/proc/cpuinfo': CPUINFO,
    '/proc/meminfo': 'MemTotal:       16318480 kB\nMemFree:         1200000 kB\n',
    '/etc/os-release': 'PRETTY_NAME="Ubuntu 24.04.1 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\n',
    '/sys/class/dmi/id/sys_vendor': 'Dell Inc.\n',
    '/sys/class/dmi/id/product_name': 'PowerEdge XR11\n',
    '/sys/class/dmi/id/product_uuid': '4c4c4544-0042-3510-8052-b7c04f4b4d32\n',
    '/sys/class/dmi/id/bios_vendor': 'Dell Inc.\n',
    '/sys/class/dmi/id/bios_version': '2.14.1\n',
    '/sys/class/dmi/id/bios_date': '03/18/2024\n',
    // product_serial is root-only: absent here, so absent from the report.
    [`${PCI}/0000:00:1f.6/net/eno1/address`]: '3c:ec:ef:12:34:56\n',
    [`${PCI}/0000:00:1f.6/net/eno1/mtu`]: '9000\n',
    [`${PCI}/0000:00:1f.6/net/eno1/operstate`]: 'up\n',
    [`${PCI}/0000:00:1f.6/net/eno1/speed`]: '1000\n',
    [`${PCI}/0000:00:1f.6/uevent`]: 'DRIVER=e1000e\n',
    '/sys/bus/pci/drivers/e1000e/bind': '',
    [`${PCI}/0000:00:03.0/virtio2/net/ens3/address`]: '52:54:00:ab:cd:ef\n',
    [`${PCI}/0000:00:03.0/virtio2/net/ens3/mtu`]: '1500\n',
    [`${PCI}/0000:00:03.0/virtio2/net/ens3/operstate`]: 'lowerlayerdown\n',
    [`${PCI}/0000:00:03.0/virtio2/uevent`]: '',
    '/sys/bus/virtio/drivers/virtio_net/bind': '',
    [`${PCI}/0000:00:14.0/usb1/1-2/1-2:1.0/net/enx001122334455/address`]: '00:11:22:33:44:55\n',
    [`${PCI}/0000:00:14.0/usb1/1-2/1-2:1.0/net/enx001122334455/mtu`]: '1500\n',
    [`${PCI}/0000:00:14.0/usb1/1-2/1-2:1.0/net/enx001122334455/operstate`]: 'dormant\n',
    [`${PCI}/0000:00:14.0/usb1/1-2/1-2:1.0/uevent`]: '',
    '/sys/bus/usb/drivers/cdc_ether/bind': '',
    '/sys/devices/virtual/net/lo/address': '00:00:00:00:00:00\n',
    '/sys/devices/virtual/net/docker0/address': '02:42:ac:11:00:01\n',
    '/sys/devices/virtual/net/docker0/mtu': '1500\n',
    '/sys/devices/virtual/net/docker0/operstate': 'down\n',
    // Disks: a SATA SSD, an NVMe drive; loop, zram and device-mapper devices are skipped.
    [`${PCI}/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/size`]: '1875385008\n',
    [`${PCI}/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/queue/rotational`]: '0\n',
    [`${PCI}/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/model`]: 'Micron_5300_MTFD\n',
    [`${PCI}/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/vendor`]: 'ATA     \n',
    [`${PCI}/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/wwid`]: 'naa.500a07512345678\n',
    [`${PCI}/0000:01:00.0/nvme/nvme0/nvme0n1/size`]: '1000215216\n',
    [`${PCI}/0000:01:00.0/nvme/nvme0/nvme0n1/queue/rotational`]: '0\n',
    [`${PCI}/0000:01:00.0/nvme/nvme0/nvme0n1/wwid`]: 'eui.0025388b11223344\n',
    [`${PCI}/0000:01:00.0/nvme/nvme0/model`]: 'SAMSUNG MZVL2512HCJQ-00B00              \n',
    [`${PCI}/0000:01:00.0/nvme/nvme0/serial`]: 'S675NX0T123456      \n',
    '/sys/devices/virtual/block/loop0/size': '0\n',
    '/sys/devices/virtual/block/zram0/size': '8388608\n',
    '/sys/devices/virtual/block/dm-0/size': '1000000\n',
  },
  links: {
    '/sys/class/net/eno1': `${PCI}/0000:00:1f.6/net/eno1`,
    [`${PCI}/0000:00:1f.6/net/eno1/device`]: '../../../0000:00:1f.6',
    [`${PCI}/0000:00:1f.6/driver`]: '../../../bus/pci/drivers/e1000e',
    '/sys/class/net/ens3': `${PCI}/0000:00:03.0/virtio2/net/ens3`,
    [`${PCI}/0000:00:03.0/virtio2/net/ens3/device`]: '../../../virtio2',
    [`${PCI}/0000:00:03.0/virtio2/driver`]: '../../../../bus/virtio/drivers/virtio_net',
    '/sys/class/net/enx001122334455': `${PCI}/0000:00:14.0/usb1/1-2/1-2:1.0/net/enx001122334455`,
    [`${PCI}/0000:00:14.0/usb1/1-2/1-2:1.0/net/enx001122334455/device`]: '../../../1-2:1.0',
    [`${PCI}/0000:00:14.0/usb1/1-2/1-2:1.0/driver`]: '/sys/bus/usb/drivers/cdc_ether',
    '/sys/class/net/lo': '../../devices/virtual/net/lo',
    '/sys/class/net/docker0': '../../devices/virtual/net/docker0',
    '/sys/block/sda': `../devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda`,
    [`${PCI}/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/device`]: '../../../0:0:0:0',
    '/sys/block/nvme0n1': `../devices/pci0000:00/0000:01:00.0/nvme/nvme0/nvme0n1`,
    [`${PCI}/0000:01:00.0/nvme/nvme0/nvme0n1/device`]: '../../nvme0',
    '/sys/block/loop0': '../devices/virtual/block/loop0',
    '/sys/block/zram0': '../devices/virtual/block/zram0',
    '/sys/block/dm-0': '../devices/virtual/block/dm-0',
  },
  commands: {
    'lspci -mm -D': [
      '0000:00:02.0 "VGA compatible controller" "Intel Corporation" "AlderLake-S GT1 [UHD Graphics 770]" -r0c "Dell" "Device 0a9f"',
      '0000:00:1f.6 "Ethernet controller" "Intel Corporation" "Ethernet Connection (17) I219-LM" -r11 "Dell" "Device 0a9f"',
      '0000:03:00.0 "3D controller" "NVIDIA Corporation" "GA107GL [A2 / A16]" -ra1 "NVIDIA Corporation" "Device 157e"',
    ].join('\n'),
    lsusb: [
      'Bus 002 Device 001: ID 1d6b:0003 Linux Foundation 3.0 root hub',
      'Bus 001 Device 003: ID 0781:5583 SanDisk Corp. Ultra Fit',
      'Bus 001 Device 002: ID 046d:c52b Logitech, Inc. Unifying Receiver',
      'Bus 001 Device 001: ID 1d6b:0002 Linux Foundation 2.0 root hub',
    ].join('\n'),
  },
  interfaces: {
    eno1: [
      { address: '10.1.2.3', netmask: '255.255.255.0', family: 'IPv4', mac: '3c:ec:ef:12:34:56', internal: false, cidr: '10.1.2.3/24' },
      { address: 'fe80::3eec:efff:fe12:3456', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '3c:ec:ef:12:34:56', internal: false, cidr: 'fe80::3eec:efff:fe12:3456/64', scopeid: 2 },
    ],
    lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }],
  },
};

const EXPECTED: HardwareReport = {
  hardware: {
    hostname: 'edge-07',
    cpuModel: 'Intel(R) Xeon(R) Gold 6338N CPU @ 2.20GHz',
    cpuArchitecture: 'x64',
    cpuSockets: 2,
    cpuCores: 4,
    cpuThreads: 8,
    memoryBytes: 16318480 * 1024,
    systemVendor: 'Dell Inc.',
    productName: 'PowerEdge XR11',
    uuid: '4c4c4544-0042-3510-8052-b7c04f4b4d32',
    biosVendor: 'Dell Inc.',
    biosVersion: '2.14.1',
    biosReleaseDate: '03/18/2024',
    osName: 'Ubuntu',
    osVersion: '24.04',
    kernelVersion: '6.8.0-45-generic',
  },
  nics: [
    {
      deviceName: 'eno1',
      macAddress: '3c:ec:ef:12:34:56',
      mtu: 9000,
      linkState: 'up',
      speedMbps: 1000,
      pciAddress: '0000:00:1f.6',
      driver: 'e1000e',
      ipAddresses: ['10.1.2.3/24', 'fe80::3eec:efff:fe12:3456/64'],
    },
    { deviceName: 'ens3', macAddress: '52:54:00:ab:cd:ef', mtu: 1500, linkState: 'down', pciAddress: '0000:00:03.0', driver: 'virtio_net' },
    { deviceName: 'enx001122334455', macAddress: '00:11:22:33:44:55', mtu: 1500, linkState: 'unknown', driver: 'cdc_ether' },
  ],
  storages: [
    { deviceName: 'nvme0n1', model: 'SAMSUNG MZVL2512HCJQ-00B00', serial: 'S675NX0T123456', wwid: 'eui.0025388b11223344', capacityBytes: 1000215216 * 512, rotational: false, transport: 'nvme' },
    { deviceName: 'sda', model: 'Micron_5300_MTFD', vendor: 'ATA', wwid: 'naa.500a07512345678', capacityBytes: 1875385008 * 512, rotational: false, transport: 'sata' },
  ],
  gpus: [
    { deviceName: '0000:00:02.0', pciAddress: '0000:00:02.0', vendor: 'Intel Corporation', product: 'AlderLake-S GT1 [UHD Graphics 770]', description: 'VGA compatible controller' },
    { deviceName: '0000:03:00.0', pciAddress: '0000:03:00.0', vendor: 'NVIDIA Corporation', product: 'GA107GL [A2 / A16]', description: '3D controller' },
  ],
  usbs: [
    { deviceName: 'usb-001-002', bus: 1, address: 2, vendorId: '046d', productId: 'c52b', description: 'Logitech, Inc. Unifying Receiver' },
    { deviceName: 'usb-001-003', bus: 1, address: 3, vendorId: '0781', productId: '5583', description: 'SanDisk Corp. Ultra Fit' },
  ],
};

test('fixture machine: every field read from /proc, /sys, os-release, lspci and lsusb, exactly', async () => {
  const report = await new LinuxDiscovery({ system: fixtureSystem(FIXTURE) }).scan();
  assert.deepEqual(report, EXPECTED);
  assert.ok(Value.Check(HardwareReport, report), JSON.stringify([...Value.Errors(HardwareReport, report)][0]));
});

test('fixture machine: virtual interfaces only when asked for; lo never', async () => {
  const report = await new LinuxDiscovery({ system: fixtureSystem(FIXTURE), includeVirtualNics: true }).scan();
  assert.deepEqual(
    report.nics.map((n) => n.deviceName),
    ['docker0', 'eno1', 'ens3', 'enx001122334455'],
  );
  assert.deepEqual(report.nics[0], { deviceName: 'docker0', macAddress: '02:42:ac:11:00:01', mtu: 1500, linkState: 'down' });
});

test('without lspci, lsusb, DMI and os-release: empty device lists and absent fields, no error', async () => {
  const files = Object.fromEntries(Object.entries(FIXTURE.files).filter(([p]) => !p.startsWith('/sys/class/dmi') && p !== '/etc/os-release'));
  const report = await new LinuxDiscovery({ system: fixtureSystem({ ...FIXTURE, files, commands: {} }) }).scan();
  assert.deepEqual(report.gpus, []);
  assert.deepEqual(report.usbs, []);
  assert.equal(report.hardware.systemVendor, undefined);
  assert.equal(report.hardware.osName, undefined);
  assert.equal(report.hardware.cpuThreads, 8);
  assert.ok(Value.Check(HardwareReport, report));
});

test('two scans of an unchanged machine are deep-equal (stable order)', async () => {
  const d = new LinuxDiscovery({ system: fixtureSystem(FIXTURE) });
  assert.deepEqual(await d.scan(), await d.scan());
});

test('this machine: real CPU, memory and NICs; the report passes the schema', async (t) => {
  const report = await new LinuxDiscovery().scan();
  assert.ok(Value.Check(HardwareReport, report), JSON.stringify([...Value.Errors(HardwareReport, report)][0]));
  assert.ok(report.hardware.cpuModel && report.hardware.cpuModel.length > 0, 'CPU model');
  assert.ok((report.hardware.memoryBytes ?? 0) > 0, 'memory');
  assert.ok((report.hardware.cpuThreads ?? 0) >= 1, 'threads');
  assert.ok(!report.nics.some((n) => n.deviceName === 'lo'), 'lo is never reported');
  const hardwareNics = readdirSync('/sys/class/net').filter((n) => n !== 'lo' && !realpathSync(`/sys/class/net/${n}`).includes('/devices/virtual/'));
  assert.deepEqual(
    report.nics.map((n) => n.deviceName),
    hardwareNics.sort(),
  );
  if (hardwareNics.length === 0) t.diagnostic('this machine has no NIC besides lo and virtual ones: none reported');
  else assert.ok(report.nics.every((n) => n.macAddress && n.mtu !== undefined && n.linkState), 'each NIC has mac, mtu and link state');
  t.diagnostic(
    `this machine: ${report.hardware.cpuModel}, ${report.hardware.cpuCores} cores / ${report.hardware.cpuThreads} threads, ${report.hardware.memoryBytes} bytes, NICs ${report.nics.map((n) => `${n.deviceName} ${n.macAddress} ${n.linkState} ${n.pciAddress ?? ''} ${n.driver ?? ''} ${(n.ipAddresses ?? []).join(' ')}`).join('; ')}, disks ${report.storages.map((s) => `${s.deviceName} ${s.capacityBytes}`).join('; ')}`,
  );
});

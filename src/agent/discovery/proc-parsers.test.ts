import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLsusb, parseLspciGpus } from './device-list-parsers.ts';
import { parseCpuInfo, parseMemTotal, parseOsRelease } from './proc-parsers.ts';

test('cpuinfo of an ARM board (no model name, no physical id): Model line, one socket, cores = threads', () => {
  const text = ['processor\t: 0\nBogoMIPS\t: 108.00\nCPU part\t: 0xd08\n', 'processor\t: 1\nBogoMIPS\t: 108.00\n', '\nHardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n'].join('\n');
  assert.deepEqual(parseCpuInfo(text), { model: 'Raspberry Pi 4 Model B Rev 1.4', sockets: 1, cores: 2, threads: 2 });
});

test('cpuinfo without core ids: cores from "cpu cores" per socket', () => {
  const block = (p: number, s: number) => `processor\t: ${p}\nmodel name\t: Xeon\nphysical id\t: ${s}\ncpu cores\t: 4\n`;
  assert.deepEqual(parseCpuInfo([block(0, 0), block(1, 1)].join('\n')), { model: 'Xeon', sockets: 2, cores: 8, threads: 2 });
});

test('empty cpuinfo gives nothing; meminfo in bytes; os-release unquoted', () => {
  assert.deepEqual(parseCpuInfo(''), {});
  assert.equal(parseMemTotal('MemTotal:        2048 kB\n'), 2 * 1024 * 1024);
  assert.equal(parseMemTotal('nothing here'), undefined);
  assert.deepEqual(parseOsRelease('NAME="Edge Microvisor Toolkit"\nVERSION_ID=3.0\n# comment\nPRETTY_NAME=\'EMT \\"3\\"\'\n'), {
    NAME: 'Edge Microvisor Toolkit',
    VERSION_ID: '3.0',
    PRETTY_NAME: 'EMT "3"',
  });
});

test('lspci: display classes only; a missing domain becomes 0000', () => {
  const out = parseLspciGpus('00:02.0 "Display controller" "Intel Corporation" "Device 4680" -r0c "" ""\n01:00.0 "Non-Volatile memory controller" "Samsung" "NVMe" "" ""\n');
  assert.deepEqual(out, [{ address: '0000:00:02.0', className: 'Display controller', vendor: 'Intel Corporation', device: 'Device 4680' }]);
});

test('lsusb: root hubs skipped, ids lower-cased, a device without a name has no description', () => {
  assert.deepEqual(parseLsusb('Bus 003 Device 004: ID 0BDA:8153 \nBus 003 Device 001: ID 1d6b:0002 Linux Foundation 2.0 root hub\ngarbage\n'), [
    { bus: 3, address: 4, vendorId: '0bda', productId: '8153' },
  ]);
});

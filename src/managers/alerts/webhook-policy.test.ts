import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { test } from 'node:test';
import { checkReceiverAddress, LocalReceiverRefused, localAddressKind } from './webhook-policy.ts';

const EXPECTED: [string, ReturnType<typeof localAddressKind>][] = [
  ['127.0.0.1', 'loopback'],
  ['127.255.3.4', 'loopback'],
  ['::1', 'loopback'],
  ['[::1]', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['::', 'unspecified'],
  ['169.254.169.254', 'link-local'],
  ['::ffff:169.254.169.254', 'link-local'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['febf::1', 'link-local'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['ff02::1', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  // Private and public: not local (on-premises receivers live in private ranges).
  ['10.0.0.5', undefined],
  ['172.16.0.1', undefined],
  ['172.31.255.254', undefined],
  ['192.168.1.10', undefined],
  ['::ffff:192.168.1.10', undefined],
  ['fc00::1', undefined],
  ['fd12:3456::1', undefined],
  ['8.8.8.8', undefined],
  ['2001:db8::1', undefined],
  ['126.255.255.255', undefined],
  ['128.0.0.1', undefined],
  ['169.253.0.1', undefined],
  ['fec0::1', undefined],
  ['255.255.255.254', undefined],
  ['::2', undefined],
  // Not an address: resolve it first.
  ['localhost', undefined],
  ['example.com', undefined],
];

test('localAddressKind: loopback, unspecified, link-local, multicast and broadcast, v4, v6 and IPv4-mapped; private and public ranges are not local', () => {
  const own = new Set(Object.values(networkInterfaces()).flatMap((a) => (a ?? []).map((x) => x.address)));
  for (const [address, kind] of EXPECTED) if (!own.has(address)) assert.equal(localAddressKind(address), kind, address);
});

test('checkReceiverAddress: a local address throws a refusal naming it and its kind, unless local receivers are allowed', () => {
  assert.throws(() => checkReceiverAddress('[::ffff:127.0.0.1]', false), (e: unknown) => {
    assert.ok(e instanceof LocalReceiverRefused);
    assert.equal(e.message, 'refused: ::ffff:127.0.0.1 is a loopback address: this server does not deliver to its own host or link (--alert-local-receivers allow on eim server or eim managers permits it)');
    return true;
  });
  assert.throws(() => checkReceiverAddress('169.254.169.254', false), /refused: 169\.254\.169\.254 is a link-local address/);
  checkReceiverAddress('127.0.0.1', true);
  checkReceiverAddress('10.1.2.3', false);
});

test("localAddressKind: this machine's own interface addresses (its LAN address, where services on every address answer) are local, also IPv4-mapped", (t) => {
  const own = Object.values(networkInterfaces())
    .flatMap((a) => a ?? [])
    .filter((a) => !a.internal && !a.address.startsWith('fe80:'));
  if (own.length === 0) return t.skip('this machine has no interface address but loopback and link-local');
  for (const a of own) {
    assert.equal(localAddressKind(a.address), 'this-machine', a.address);
    if (a.family === 'IPv4') assert.equal(localAddressKind(`::ffff:${a.address}`), 'this-machine', `::ffff:${a.address}`);
    assert.throws(() => checkReceiverAddress(a.address, false), new RegExp(`refused: ${a.address.replace(/[.:]/g, '\\$&')} is this machine's own address`));
    checkReceiverAddress(a.address, true);
  }
  // A neighbour in the same network is not this machine (on-premises receivers live there).
  const v4 = own.find((a) => a.family === 'IPv4');
  if (v4) {
    const parts = v4.address.split('.').map(Number);
    parts[3] = parts[3] === 254 ? 253 : (parts[3] + 1) % 255 || 1;
    const neighbour = parts.join('.');
    if (!own.some((a) => a.address === neighbour)) assert.equal(localAddressKind(neighbour), undefined, neighbour);
  }
});

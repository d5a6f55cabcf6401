import assert from 'node:assert/strict';
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
  for (const [address, kind] of EXPECTED) assert.equal(localAddressKind(address), kind, address);
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

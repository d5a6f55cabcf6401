import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import os from 'node:os';

/**
 * Why an address is this machine's own or its link's: what a receiver must not point at unless
 * allowed. `this-machine` is an address of one of this machine's own interfaces (its LAN address:
 * services listening on every address answer there as on loopback).
 */
export type LocalAddressKind = 'loopback' | 'unspecified' | 'link-local' | 'multicast' | 'broadcast' | 'this-machine';

const RANGES: Record<Exclude<LocalAddressKind, 'this-machine'>, [string, number, 'ipv4' | 'ipv6'][]> = {
  loopback: [['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']],
  unspecified: [['0.0.0.0', 8, 'ipv4'], ['::', 128, 'ipv6']],
  'link-local': [['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']],
  multicast: [['224.0.0.0', 4, 'ipv4'], ['ff00::', 8, 'ipv6']],
  broadcast: [['255.255.255.255', 32, 'ipv4']],
};

// node:net's BlockList matches an IPv4 rule against the IPv4-mapped IPv6 form too (::ffff:127.0.0.1, ::ffff:7f00:1).
const LISTS = Object.entries(RANGES).map(([kind, ranges]) => {
  const list = new BlockList();
  for (const [net, prefix, type] of ranges) list.addSubnet(net, prefix, type);
  return [kind as LocalAddressKind, list] as const;
});

/** How long this machine's interface addresses are trusted before they are read again (interfaces come and go). */
const OWN_ADDRESSES_MS = 10_000;
let own: { list: BlockList; at: number } | undefined;

/** Reads this machine's interface addresses again at the next check (they changed; tests). */
export function rereadOwnAddresses(): void {
  own = undefined;
}

/** The addresses of this machine's interfaces, as a BlockList (an IPv4 one matches its IPv4-mapped IPv6 form too). */
function ownAddresses(now = Date.now()): BlockList {
  if (own && now - own.at < OWN_ADDRESSES_MS) return own.list;
  const list = new BlockList();
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const a of addresses ?? []) list.addAddress(a.address.replace(/%.*$/, ''), a.family === 'IPv4' ? 'ipv4' : 'ipv6');
  }
  own = { list, at: now };
  return list;
}

/**
 * The kind of local address `address` (an IP literal, v4 or v6, brackets and zone allowed) is, or
 * undefined for any other, private ranges (10/8, 172.16/12, 192.168/16, fc00::/7) included: on-premises
 * receivers live there, except this machine's own interface addresses. A string that is no IP
 * address is undefined too (resolve it first).
 * @example localAddressKind('::ffff:127.0.0.1') // 'loopback'; localAddressKind('10.0.0.5') // undefined (unless it is this machine's)
 */
export function localAddressKind(address: string): LocalAddressKind | undefined {
  const a = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(a);
  if (family === 0) return undefined;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const [kind, list] of LISTS) if (list.check(a, type)) return kind;
  if (ownAddresses().check(a, type)) return 'this-machine';
  return undefined;
}

/** What a server or `eim managers` logs at start when local receivers are refused. */
export const LOCAL_RECEIVERS_REFUSED = "alerts: webhooks and SMTP servers on this machine's own or its link's addresses (loopback, its interfaces' addresses, link-local, …) are refused; --alert-local-receivers allow permits them";

/** Thrown (into the request) when a receiver's address is local and local receivers are not allowed; `message` is the delivery detail. */
export class LocalReceiverRefused extends Error {
  readonly code = 'ERR_EIM_LOCAL_RECEIVER';
  constructor(
    readonly address: string,
    readonly kind: LocalAddressKind,
  ) {
    super(`refused: ${address} is ${kind === 'this-machine' ? "this machine's own address" : `${kind === 'unspecified' ? 'an' : 'a'} ${kind} address`}: this server does not deliver to its own host or link (--alert-local-receivers allow on eim server or eim managers permits it)`);
    this.name = 'LocalReceiverRefused';
  }
}

/** Throws LocalReceiverRefused when `address` is local and local receivers are not allowed. */
export function checkReceiverAddress(address: string, allowLocal: boolean): void {
  if (allowLocal) return;
  const kind = localAddressKind(address);
  if (kind) throw new LocalReceiverRefused(address.replace(/^\[|\]$/g, ''), kind);
}

/**
 * A `lookup` for net.connect / http.request: resolves the name (every address), and fails the
 * connection with LocalReceiverRefused when any of them is local and local receivers are not
 * allowed. The socket connects only to what this answered, so a name that resolves elsewhere on a
 * second look (DNS rebinding) gains nothing. IP literals never reach a lookup: check them with
 * checkReceiverAddress first.
 * @example http.request(url, { lookup: checkedLookup(false) })
 */
export function checkedLookup(allowLocal: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { family: options.family, hints: options.hints, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      try {
        for (const a of addresses) checkReceiverAddress(a.address, allowLocal);
      } catch (e) {
        return callback(e as NodeJS.ErrnoException, '', 0);
      }
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

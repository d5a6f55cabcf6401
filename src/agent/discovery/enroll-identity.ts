import type { EnrollRequest, HardwareReport } from '../../api/index.ts';

// Values firmware vendors leave in DMI fields they did not fill. Two machines with the serial
// "To Be Filled By O.E.M." are not the same host: enrolling with it could match another host's
// registration, so such values are left out of the identity (the hardware report keeps them).
const PLACEHOLDERS = new Set(
  [
    'to be filled by o.e.m.',
    'to be filled by oem',
    'default string',
    'system serial number',
    'not specified',
    'not applicable',
    'none',
    'n/a',
    'na',
    '0',
    '0123456789',
    '123456789',
    'serial number',
    'chassis serial number',
    'invalid',
  ].map((s) => s.toLowerCase()),
);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NULL_UUIDS = new Set(['00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '03000200-0400-0500-0006-000700080009']);

/**
 * The identity an agent enrolls with: DMI uuid (lower-case) and serial number when they are real
 * values, the hostname, and the NICs' MAC addresses.
 * @example enrollIdentity(await discovery.scan()) // { uuid: '4c4c4544-…', serialNumber: 'J7X9K2', hostname: 'edge-01', macs: [...] }
 */
export function enrollIdentity(report: HardwareReport, fallbackHostname = 'localhost'): EnrollRequest {
  const hw = report.hardware;
  const uuid = hw.uuid?.trim().toLowerCase();
  const serial = hw.serialNumber?.trim();
  const macs = [...new Set(report.nics.map((n) => n.macAddress?.toLowerCase()).filter((m): m is string => !!m && m !== '00:00:00:00:00:00'))].sort().slice(0, 64);
  return {
    ...(uuid && UUID.test(uuid) && !NULL_UUIDS.has(uuid) ? { uuid } : {}),
    ...(serial && serial.length <= 128 && !PLACEHOLDERS.has(serial.toLowerCase()) ? { serialNumber: serial } : {}),
    hostname: (hw.hostname || fallbackHostname).slice(0, 253),
    ...(macs.length > 0 ? { macs } : {}),
  };
}

/** The identity in one line, for the agent's log. */
export function describeIdentity(i: EnrollRequest): string {
  return [`hostname ${i.hostname}`, i.uuid && `uuid ${i.uuid}`, i.serialNumber && `serial ${i.serialNumber}`, `${i.macs?.length ?? 0} MAC(s)`].filter(Boolean).join(', ');
}

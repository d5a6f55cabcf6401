import { type EnrollRequest, type HardwareReport, isPlaceholderSerial, isPlaceholderUuid, isSerialNumber, isUuid } from '../../api/index.ts';

/**
 * The identity an agent enrolls with: DMI uuid (lower-case) and serial number when they are real
 * values, the hostname, and the NICs' MAC addresses. Vendor placeholders ("To Be Filled By O.E.M.",
 * an all-zero uuid: the one list in src/api/host-identity.ts) and serials the server would refuse
 * are left out (the hardware report keeps them): two machines with the serial "Default string" are
 * not the same host.
 * @example enrollIdentity(await discovery.scan()) // { uuid: '4c4c4544-…', serialNumber: 'J7X9K2', hostname: 'edge-01', macs: [...] }
 */
export function enrollIdentity(report: HardwareReport, fallbackHostname = 'localhost'): EnrollRequest {
  const hw = report.hardware;
  const uuid = hw.uuid?.trim().toLowerCase();
  const serial = hw.serialNumber?.trim();
  const macs = [...new Set(report.nics.map((n) => n.macAddress?.toLowerCase()).filter((m): m is string => !!m && m !== '00:00:00:00:00:00'))].sort().slice(0, 64);
  return {
    ...(uuid && isUuid(uuid) && !isPlaceholderUuid(uuid) ? { uuid } : {}),
    ...(serial && isSerialNumber(serial) && !isPlaceholderSerial(serial) ? { serialNumber: serial } : {}),
    hostname: (hw.hostname || fallbackHostname).slice(0, 253),
    ...(macs.length > 0 ? { macs } : {}),
  };
}

/** The identity in one line, for the agent's log. */
export function describeIdentity(i: EnrollRequest): string {
  return [`hostname ${i.hostname}`, i.uuid && `uuid ${i.uuid}`, i.serialNumber && `serial ${i.serialNumber}`, `${i.macs?.length ?? 0} MAC(s)`].filter(Boolean).join(', ');
}

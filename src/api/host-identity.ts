// A machine's identity: the DMI uuid and serial number it reports at enrolment and a host is
// registered with. Shared by the schemas (HostSpec, EnrollRequest), the Inventory (unique per
// project), the southbound layer (matching) and the agent (what it sends).

/** A uuid: 8-4-4-4-12 hex digits, either case (stored and compared in lower case). */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

/**
 * A serial number: 1 to 128 printable ASCII characters, no leading or trailing space, and none of
 * the characters a query or a pattern could read as syntax (`*`, `?`, quotes, backslash).
 */
export const SERIAL_PATTERN = '^[!#-&(-)+->@-\\[\\]-~](?:[ !#-&(-)+->@-\\[\\]-~]{0,126}[!#-&(-)+->@-\\[\\]-~])?$';
export const SERIAL_MAX_LENGTH = 128;

const UUID = new RegExp(UUID_PATTERN);
const SERIAL = new RegExp(SERIAL_PATTERN);

/**
 * Values firmware vendors leave in DMI fields they did not fill (compared case-insensitively). Two
 * machines with the serial "To Be Filled By O.E.M." are not the same host, so such values are no
 * identity: ignored at registration (not unique) and at enrolment (not matched).
 */
export const PLACEHOLDER_SERIALS: ReadonlySet<string> = new Set([
  'to be filled by o.e.m.',
  'to be filled by oem',
  'default string',
  'system serial number',
  'chassis serial number',
  'base board serial number',
  'serial number',
  'not specified',
  'not applicable',
  'not available',
  'none',
  'null',
  'n/a',
  'na',
  'invalid',
  'unknown',
  'empty',
  'oem',
  'o.e.m.',
  'xxxxxxxx',
  '0',
  '00000000',
  '0000000000',
  '123456789',
  '0123456789',
  '1234567890',
]);

/** Uuids vendors ship in place of a real one: all zeros, all F, and the well-known SMBIOS sample. */
export const PLACEHOLDER_UUIDS: ReadonlySet<string> = new Set([
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '03000200-0400-0500-0006-000700080009',
  '12345678-1234-5678-90ab-cddeefaabbcc',
]);

/** Whether a serial number is a vendor placeholder (or only repeats one character, like "0000" or "XXXX"). */
export function isPlaceholderSerial(serial: string): boolean {
  const s = serial.trim().toLowerCase();
  return s === '' || PLACEHOLDER_SERIALS.has(s) || /^(.)\1*$/.test(s);
}

/** Whether a uuid is a vendor placeholder. */
export const isPlaceholderUuid = (uuid: string): boolean => PLACEHOLDER_UUIDS.has(uuid.trim().toLowerCase());

/** Whether a string is a uuid (either case). */
export const isUuid = (v: string): boolean => UUID.test(v);

/** Whether a string is a serial number eim accepts (see SERIAL_PATTERN). */
export const isSerialNumber = (v: string): boolean => SERIAL.test(v);

/** A machine's identity as it takes part in matching: placeholders dropped, the uuid in lower case. */
export interface UsableIdentity {
  uuid?: string;
  serialNumber?: string;
  /** What was dropped as a vendor placeholder, as "uuid …" / "serial number …". */
  ignored: string[];
}

/**
 * The identity that counts: a uuid (lower case) and a serial number, each unless it is a vendor
 * placeholder. Values are expected to have passed UUID_PATTERN / SERIAL_PATTERN.
 * @example usableIdentity({ uuid: 'AB…', serialNumber: 'Default string' }) // { uuid: 'ab…', ignored: ['serial number "Default string"'] }
 */
export function usableIdentity(id: { uuid?: string; serialNumber?: string }): UsableIdentity {
  const out: UsableIdentity = { ignored: [] };
  if (id.uuid !== undefined) {
    if (isPlaceholderUuid(id.uuid)) out.ignored.push(`uuid ${id.uuid}`);
    else out.uuid = id.uuid.toLowerCase();
  }
  if (id.serialNumber !== undefined) {
    if (isPlaceholderSerial(id.serialNumber)) out.ignored.push(`serial number "${id.serialNumber}"`);
    else out.serialNumber = id.serialNumber;
  }
  return out;
}

/** The warning a host carries when part of its identity is a placeholder, or '' when none is. */
export function placeholderWarning(ignored: readonly string[]): string {
  if (ignored.length === 0) return '';
  return `${ignored.join(' and ')} ${ignored.length > 1 ? 'are vendor placeholders' : 'is a vendor placeholder'}, ignored for matching`;
}

import type { KindDef, Resource } from '../../api/index.ts';
import { age } from './age.ts';
import type { Cell } from './table.ts';
import type { Style } from './terminal.ts';

/** One table column of one kind. `wide`: only with `-o wide`. */
export interface Column {
  header: string;
  value(r: Resource, now: number): Cell;
  wide?: boolean;
}

/** The value at a dotted path (`spec.target.siteId`), or undefined. */
export function valueAt(obj: unknown, path: string): unknown {
  let v = obj;
  for (const p of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}

const INDICATOR_STYLE: Record<string, Style> = { idle: 'green', in_progress: 'yellow', error: 'red', unspecified: 'dim' };

/** A status triple's message, coloured by its indicator. */
export function tripleCell(v: unknown): Cell {
  const t = v as { message?: string; indicator?: string } | undefined;
  if (!t || typeof t !== 'object') return '-';
  return { text: t.message || t.indicator || '-', style: INDICATOR_STYLE[t.indicator ?? ''] };
}

const show = (v: unknown): string =>
  v === undefined || v === null || v === '' ? '-' : Array.isArray(v) ? v.join(',') || '-' : typeof v === 'object' ? JSON.stringify(v) : String(v);

const field = (header: string, path: string, wide = false): Column => ({ header, wide, value: (r) => show(valueAt(r, path)) });
const triple = (header: string, path: string, wide = false): Column => ({ header, wide, value: (r) => tripleCell(valueAt(r, path)) });
const compute = (header: string, fn: (r: Resource) => unknown, wide = false): Column => ({ header, wide, value: (r) => show(fn(r)) });
/** The one key set of an "exactly one of" object: `site-0a1b2c3d`. */
const oneOf = (path: string) => (r: Resource) => Object.values((valueAt(r, path) as Record<string, unknown> | undefined) ?? {})[0];

const LABELS: Column = compute('LABELS', (r) => Object.entries(r.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(','), true);
const GENERATION: Column = compute('GEN', (r) => {
  const observed = valueAt(r, 'status.observedGeneration');
  return observed === undefined ? r.generation : `${r.generation}/${observed}`;
}, true);

const DEVICE: Column[] = [field('HOST', 'status.hostId'), field('DEVICE', 'status.deviceName')];

/** The columns between NAME/ID and AGE, per kind. */
const KIND_COLUMNS: Record<string, Column[]> = {
  Region: [field('PARENT', 'spec.parentRegionId')],
  Site: [field('REGION', 'spec.regionId'), field('ADDRESS', 'spec.address'), field('LAT', 'spec.latitude', true), field('LONG', 'spec.longitude', true)],
  Host: [
    field('DESIRED', 'spec.desiredState'),
    field('CURRENT', 'status.currentState'),
    triple('STATUS', 'status.hostStatus'),
    field('SITE', 'spec.siteId'),
    compute('WINDOW', (r) => (valueAt(r, 'status.maintenance.inWindow') ? { text: show(valueAt(r, 'status.maintenance.purposes')), style: 'yellow' } : undefined), true),
    compute('POWER', (r) => (r.spec.desiredPowerState || valueAt(r, 'status.currentPowerState') ? `${show(r.spec.desiredPowerState)}/${show(valueAt(r, 'status.currentPowerState'))}` : undefined), true),
    triple('ONBOARDING', 'status.onboardingStatus', true),
    field('SERIAL', 'spec.serialNumber', true),
    field('UUID', 'spec.uuid', true),
    compute('LAST-SEEN', (r) => (valueAt(r, 'status.lastSeenAt') ? age(valueAt(r, 'status.lastSeenAt') as string) : undefined), true),
  ],
  HostNic: [...DEVICE, field('MAC', 'status.macAddress'), field('LINK', 'status.linkState'), field('IPS', 'status.ipAddresses', true), field('SPEED', 'status.speedMbps', true)],
  HostStorage: [...DEVICE, field('MODEL', 'status.model'), compute('SIZE', (r) => bytes(valueAt(r, 'status.capacityBytes'))), field('SERIAL', 'status.serial', true)],
  HostGpu: [...DEVICE, field('VENDOR', 'status.vendor'), field('PRODUCT', 'status.product'), field('PCI', 'status.pciAddress', true)],
  HostUsb: [...DEVICE, field('VENDOR', 'status.vendorId'), field('PRODUCT', 'status.productId'), field('DESCRIPTION', 'status.description', true)],
  OperatingSystem: [field('PROFILE', 'spec.profileName'), field('VERSION', 'spec.profileVersion'), field('TYPE', 'spec.osType'), field('ARCH', 'spec.architecture'), field('IMAGE', 'spec.imageUrl', true)],
  Instance: [
    field('HOST', 'spec.hostId'), field('OS', 'spec.osId'), field('DESIRED', 'spec.desiredState'), field('CURRENT', 'status.currentState'),
    triple('STATUS', 'status.instanceStatus'), triple('PROVISIONING', 'status.provisioningStatus', true), triple('UPDATE', 'status.updateStatus', true),
  ],
  Schedule: [
    field('PURPOSE', 'spec.purpose'),
    compute('TARGET', oneOf('spec.target')),
    compute('WHEN', (r) => (valueAt(r, 'spec.repeated.cron') ? `${valueAt(r, 'spec.repeated.cron')} for ${valueAt(r, 'spec.repeated.durationSeconds')}s` : valueAt(r, 'spec.single.startAt'))),
    compute('OPEN', (r) => (valueAt(r, 'status.open') === undefined ? undefined : valueAt(r, 'status.open') ? { text: 'open', style: 'green' } : 'closed')),
    field('CLOSES', 'status.closesAt', true),
    field('NEXT', 'status.nextOpenAt', true),
    field('TZ', 'spec.repeated.timezone', true),
  ],
  OsUpdatePolicy: [field('POLICY', 'spec.policy'), field('TARGET-OS', 'spec.targetOsId'), field('MAX-CONCURRENT', 'spec.rollout.maxConcurrent'), field('MAX-FAILURES', 'spec.rollout.maxFailures', true)],
  OsUpdateRun: [field('INSTANCE', 'status.instanceId'), field('POLICY', 'status.policyId'), triple('STATUS', 'status.runStatus'), field('STARTED', 'status.startedAt', true), field('ENDED', 'status.endedAt', true)],
  TelemetryGroup: [field('TYPE', 'spec.type'), field('COLLECTOR', 'spec.collector'), field('GROUPS', 'spec.groups')],
  TelemetryProfile: [compute('TARGET', oneOf('spec.target')), field('GROUP', 'spec.groupId'), field('INTERVAL', 'spec.metricsIntervalSeconds'), field('LOG-LEVEL', 'spec.logLevel', true)],
  LocalAccount: [field('USERNAME', 'spec.username')],
  CustomConfig: [field('DESCRIPTION', 'spec.description')],
  Command: [field('HOST', 'spec.hostId'), field('TYPE', 'spec.type'), field('STATE', 'status.state'), field('PROGRESS', 'status.progress'), field('MESSAGE', 'status.message', true), field('OWNER', 'spec.ownerId', true)],
};

const MAX_DERIVED = 4;

/** Columns for a kind without a hand-made entry: its first scalar spec and status fields, from the schemas. */
function derivedColumns(def: KindDef): Column[] {
  const scalars = (part: 'spec' | 'status') =>
    Object.entries((def[part] as { properties?: Record<string, { type?: string; enum?: unknown[] }> } | undefined)?.properties ?? {})
      .filter(([, schema]) => schema.enum || ['string', 'number', 'integer', 'boolean'].includes(schema.type ?? ''))
      .map(([key]) => field(key.replace(/[A-Z]/g, (c) => `-${c}`).toUpperCase(), `${part}.${key}`));
  return [...scalars('spec'), ...scalars('status')].slice(0, MAX_DERIVED);
}

/**
 * The table columns of a kind: NAME, ID, the kind's key fields, AGE; `wide` adds more fields,
 * the generation and the labels; `allProjects` puts PROJECT first.
 * @example columnsFor(kindByName('Host')!, { wide: false, allProjects: false }).map((c) => c.header) // NAME ID DESIRED CURRENT STATUS SITE AGE
 */
export function columnsFor(def: KindDef, o: { wide: boolean; allProjects: boolean }): Column[] {
  const specific = KIND_COLUMNS[def.kind] ?? derivedColumns(def);
  const cols: Column[] = [
    ...(o.allProjects ? [field('PROJECT', 'project')] : []),
    field('NAME', 'name'),
    field('ID', 'id'),
    ...specific,
    { header: 'AGE', value: (r, now) => age(r.createdAt, now) },
    GENERATION,
    LABELS,
  ];
  return cols.filter((c) => o.wide || !c.wide);
}

function bytes(v: unknown): string | undefined {
  if (typeof v !== 'number') return undefined;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let n = v;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${n >= 10 || i === 0 ? Math.round(n) : n.toFixed(1)}${units[i]}`;
}

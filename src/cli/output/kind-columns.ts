import type { KindDef, Resource } from '../../api/index.ts';
import { age } from './age.ts';
import { type Cell, cellText } from './table.ts';
import type { Style } from './terminal.ts';

/** What a column may consult besides the resource: the time, the names of referenced resources, `-o wide`. */
export interface ColumnContext {
  now: number;
  /** The name of a referenced resource, when known (see ReferenceNames). */
  nameOf?: (id: string) => string | undefined;
  wide?: boolean;
  /** LocalAccount / CustomConfig: the hosts it reached and applied it (-o wide loads them). */
  reach?: (id: string) => { hosts: number; applied: number; failed: number } | undefined;
}

/** One table column of one kind. `wide`: only with `-o wide`. `refs`: the ids it shows (so their names can be fetched first). */
export interface Column {
  header: string;
  value(r: Resource, ctx: ColumnContext): Cell;
  wide?: boolean;
  refs?(r: Resource): string[];
  /** A long free-text column (status messages): truncated first when the table must fit the terminal. */
  long?: boolean;
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

const isCell = (v: unknown): v is { text: string; style?: Style } =>
  !!v && typeof v === 'object' && !Array.isArray(v) && typeof (v as { text?: unknown }).text === 'string' && Object.keys(v).every((k) => k === 'text' || k === 'style');

/**
 * Any value as the text of one cell: `-` for nothing, lists joined with commas, a status triple
 * as its message, other objects as `key=value` pairs. Never JSON: a table is read, not parsed.
 */
export function cellOf(v: unknown): Cell {
  if (v === undefined || v === null || v === '') return '-';
  if (isCell(v)) return v.text === '' ? '-' : v;
  if (Array.isArray(v)) return v.map((x) => cellText(cellOf(x))).join(',') || '-';
  if (typeof v === 'object') {
    if ('indicator' in v && 'message' in v) return tripleCell(v);
    return Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => `${k}=${cellText(cellOf(x))}`).join(',') || '-';
  }
  return String(v);
}

const field = (header: string, path: string, wide = false): Column => ({ header, wide, value: (r) => cellOf(valueAt(r, path)) });
const triple = (header: string, path: string, wide = false): Column => ({ header, wide, long: true, value: (r) => tripleCell(valueAt(r, path)) });
/** A computed value: text, or a styled Cell (which stays styled). */
const compute = (header: string, fn: (r: Resource, ctx: ColumnContext) => unknown, wide = false): Column => ({ header, wide, value: (r, ctx) => cellOf(fn(r, ctx)) });

/**
 * A reference shown by the name of what it names (`berlin-1`), with the id in `-o wide`
 * (`berlin-1 (site-0a1b2c3d)`); the bare id when the name is unknown (the target is gone).
 */
export function refText(id: string, ctx: ColumnContext): string {
  const name = ctx.nameOf?.(id);
  if (name === undefined) return id;
  return ctx.wide ? `${name} (${id})` : name;
}

const idsAt = (r: Resource, path: string): string[] => {
  const v = valueAt(r, path);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];
};
const ref = (header: string, path: string, wide = false): Column => ({
  header,
  wide,
  refs: (r) => idsAt(r, path),
  value: (r, ctx) => cellOf(idsAt(r, path).map((id) => refText(id, ctx))),
});
/** The one key set of an "exactly one of" object, as a reference: `site berlin-1`. */
const oneOfRef = (header: string, path: string): Column => {
  const target = (r: Resource): [string, string] | undefined => {
    const e = Object.entries((valueAt(r, path) as Record<string, unknown> | undefined) ?? {}).find(([, v]) => typeof v === 'string');
    return e && [e[0].replace(/Id$/, ''), e[1] as string];
  };
  return { header, refs: (r) => (target(r) ? [target(r)![1]] : []), value: (r, ctx) => {
    const t = target(r);
    return t ? `${t[0]} ${refText(t[1], ctx)}` : '-';
  } };
};

const LABELS: Column = compute('LABELS', (r) => Object.entries(r.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(','), true);
const GENERATION: Column = compute('GEN', (r) => {
  const observed = valueAt(r, 'status.observedGeneration');
  return observed === undefined ? r.generation : `${r.generation}/${observed}`;
}, true);

const DEVICE: Column[] = [ref('HOST', 'status.hostId'), field('DEVICE', 'status.deviceName')];

/** The columns between NAME/ID and AGE, per kind. */
/** -o wide of LocalAccount and CustomConfig: the hosts it reached, how many applied it, how many failed it. */
const REACHED: Column = {
  header: 'REACHED',
  wide: true,
  value: (r, ctx) => {
    const n = ctx.reach?.(r.id);
    if (!n) return ctx.reach ? '0 hosts' : '-';
    const text = `${n.hosts} host${n.hosts === 1 ? '' : 's'}, ${n.applied} applied${n.failed ? `, ${n.failed} failed` : ''}`;
    return { text, style: n.failed ? 'red' : n.applied === n.hosts ? 'green' : 'yellow' };
  },
};

const KIND_COLUMNS: Record<string, Column[]> = {
  Region: [ref('PARENT', 'spec.parentRegionId')],
  Site: [ref('REGION', 'spec.regionId'), field('ADDRESS', 'spec.address'), field('LAT', 'spec.latitude', true), field('LONG', 'spec.longitude', true)],
  Host: [
    field('DESIRED', 'spec.desiredState'),
    field('CURRENT', 'status.currentState'),
    triple('STATUS', 'status.hostStatus'),
    ref('SITE', 'spec.siteId'),
    compute('WINDOW', (r) => (valueAt(r, 'status.maintenance.inWindow') ? { text: cellText(cellOf(valueAt(r, 'status.maintenance.purposes'))), style: 'yellow' } : undefined), true),
    compute('POWER', (r) => (r.spec.desiredPowerState || valueAt(r, 'status.currentPowerState') ? `${cellText(cellOf(r.spec.desiredPowerState))}/${cellText(cellOf(valueAt(r, 'status.currentPowerState')))}` : undefined), true),
    triple('ONBOARDING', 'status.onboardingStatus', true),
    field('SERIAL', 'spec.serialNumber', true),
    field('UUID', 'spec.uuid', true),
    compute('LAST-SEEN', (r, ctx) => (valueAt(r, 'status.lastSeenAt') ? age(valueAt(r, 'status.lastSeenAt') as string, ctx.now) : undefined), true),
  ],
  HostNic: [...DEVICE, field('MAC', 'status.macAddress'), field('LINK', 'status.linkState'), field('IPS', 'status.ipAddresses', true), field('SPEED', 'status.speedMbps', true)],
  HostStorage: [...DEVICE, field('MODEL', 'status.model'), compute('SIZE', (r) => humanBytes(valueAt(r, 'status.capacityBytes'))), field('SERIAL', 'status.serial', true)],
  HostGpu: [...DEVICE, field('VENDOR', 'status.vendor'), field('PRODUCT', 'status.product'), field('PCI', 'status.pciAddress', true)],
  HostUsb: [...DEVICE, field('VENDOR', 'status.vendorId'), field('PRODUCT', 'status.productId'), field('DESCRIPTION', 'status.description', true)],
  OperatingSystem: [field('PROFILE', 'spec.profileName'), field('VERSION', 'spec.profileVersion'), field('TYPE', 'spec.osType'), field('ARCH', 'spec.architecture'), field('IMAGE', 'spec.imageUrl', true)],
  Instance: [
    ref('HOST', 'spec.hostId'), ref('OS', 'status.currentOsId'), field('DESIRED', 'spec.desiredState'), field('CURRENT', 'status.currentState'),
    triple('STATUS', 'status.instanceStatus'), ref('DESIRED-OS', 'spec.osId', true), triple('PROVISIONING', 'status.provisioningStatus', true), triple('UPDATE', 'status.updateStatus', true),
    ref('UPDATE-POLICY', 'spec.osUpdatePolicyId', true),
  ],
  Schedule: [
    field('PURPOSE', 'spec.purpose'),
    oneOfRef('TARGET', 'spec.target'),
    compute('WHEN', (r) => (valueAt(r, 'spec.repeated.cron') ? `${valueAt(r, 'spec.repeated.cron')} for ${valueAt(r, 'spec.repeated.durationSeconds')}s` : valueAt(r, 'spec.single.startAt'))),
    compute('OPEN', (r) => (valueAt(r, 'status.open') === undefined ? undefined : valueAt(r, 'status.open') ? { text: 'open', style: 'green' } : 'closed')),
    field('CLOSES', 'status.closesAt', true),
    field('NEXT', 'status.nextOpenAt', true),
    field('TZ', 'spec.repeated.timezone', true),
  ],
  OsUpdatePolicy: [field('POLICY', 'spec.policy'), ref('TARGET-OS', 'spec.targetOsId'), field('MAX-CONCURRENT', 'spec.rollout.maxConcurrent'), field('MAX-FAILURES', 'spec.rollout.maxFailures', true)],
  OsUpdateRun: [
    ref('INSTANCE', 'status.instanceId'), ref('POLICY', 'status.policyId'), field('PHASE', 'status.phase'), triple('STATUS', 'status.runStatus'),
    ref('FROM-OS', 'status.fromOsId', true), ref('TARGET-OS', 'status.targetOsId', true), field('STARTED', 'status.startedAt', true), field('ENDED', 'status.endedAt', true),
  ],
  TelemetryGroup: [field('TYPE', 'spec.type'), field('COLLECTOR', 'spec.collector'), field('GROUPS', 'spec.groups')],
  TelemetryProfile: [oneOfRef('TARGET', 'spec.target'), ref('GROUP', 'spec.groupId'), field('INTERVAL', 'spec.metricsIntervalSeconds'), field('LOG-LEVEL', 'spec.logLevel', true)],
  AlertRule: [
    field('KIND', 'spec.kind'), field('SEVERITY', 'spec.severity'), compute('FOR', (r) => `${valueAt(r, 'spec.forSeconds')}s`), field('FIRING', 'status.firing'),
    compute('ENABLED', (r) => (valueAt(r, 'spec.enabled') === false ? { text: 'no', style: 'dim' } : 'yes')), ref('RECEIVERS', 'spec.receiverIds', true),
    { ...field('FILTER', 'spec.filter', true), long: true },
  ],
  AlertReceiver: [
    compute('TYPE', (r) => (valueAt(r, 'spec.webhook') ? 'webhook' : 'email')),
    compute('TO', (r) => valueAt(r, 'spec.webhook.url') ?? valueAt(r, 'spec.email.to')),
    compute('LAST', (r) => {
      const d = valueAt(r, 'status.lastDelivery') as { ok?: boolean; error?: string } | undefined;
      return d ? (d.ok ? { text: 'ok', style: 'green' } : { text: `failed: ${d.error ?? ''}`, style: 'red' }) : undefined;
    }),
  ],
  Alert: [
    compute('STATE', (r) => {
      const s = valueAt(r, 'status.state') as string | undefined;
      const silenced = (valueAt(r, 'status.silencedBy') as unknown[] | undefined)?.length;
      return s === 'firing' ? { text: silenced ? 'firing (silenced)' : 'firing', style: silenced ? 'dim' : 'red' } : s === 'pending' ? { text: 'pending', style: 'yellow' } : s;
    }),
    compute('SEVERITY', (r) => {
      const s = valueAt(r, 'status.severity') as string | undefined;
      return s === 'critical' ? { text: s, style: 'red' } : s;
    }),
    field('RESOURCE', 'status.resourceName'),
    field('SITE', 'status.labels.site'),
    compute('SINCE', (r, ctx) => (valueAt(r, 'status.activeSince') ? age(valueAt(r, 'status.activeSince') as string, ctx.now) : undefined)),
    { ...field('SUMMARY', 'status.annotations.summary'), long: true },
    field('RULE', 'status.labels.alertname', true),
  ],
  Silence: [
    field('FILTER', 'spec.filter'),
    compute('ENDS', (r, ctx) => {
      const end = Date.parse(valueAt(r, 'spec.endsAt') as string);
      return end <= ctx.now ? { text: 'expired', style: 'dim' } : `in ${age(new Date(ctx.now - (end - ctx.now)).toISOString(), ctx.now)}`;
    }),
    { ...field('COMMENT', 'spec.comment'), long: true },
  ],
  LocalAccount: [
    field('USERNAME', 'spec.username'), oneOfRef('TARGET', 'spec.target'), field('STATE', 'spec.state'), field('SUDO', 'spec.sudo', true),
    compute('KEYS', (r) => ((valueAt(r, 'spec.sshKeys') as unknown[] | undefined)?.length ?? (valueAt(r, 'spec.sshKey') ? 1 : 0)), true), REACHED,
  ],
  CustomConfig: [field('TYPE', 'spec.type'), oneOfRef('TARGET', 'spec.target'), field('RUN', 'spec.runPolicy', true), field('PATH', 'spec.path', true), REACHED, field('DESCRIPTION', 'spec.description')],
  Command: [ref('HOST', 'spec.hostId'), field('TYPE', 'spec.type'), field('STATE', 'status.state'), field('PROGRESS', 'status.progress'), { ...field('MESSAGE', 'status.message', true), long: true }, field('OWNER', 'spec.ownerId', true)],
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
    { header: 'AGE', value: (r, ctx) => age(r.createdAt, ctx.now) },
    GENERATION,
    LABELS,
  ];
  return cols.filter((c) => o.wide || !c.wide);
}

/**
 * Bytes as a person reads them, in binary units: `512 GiB`, `1.5 TiB`; undefined for a non-number.
 * @example humanBytes(34359738368) // '32 GiB'
 */
export function humanBytes(v: unknown): string | undefined {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return undefined;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let n = v;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${n >= 10 || i === 0 ? Math.round(n) : Number(n.toFixed(1))} ${units[i]}`;
}

import type { TSchema } from 'typebox';
import * as K from './kinds.ts';
import { alertReceiverProblem, alertRuleProblem, silenceProblem } from './alert-rules.ts';
import { customConfigProblem, localAccountProblem } from './node-config-check.ts';
import { scheduleProblem } from './schedule-check.ts';
import { selectorProblem } from './host-selector.ts';
import { HOST_TRANSITIONS, INSTANCE_TRANSITIONS } from './transitions.ts';

/** A field of one kind that holds the id of another resource. */
export interface RefDef {
  /** Where the id sits, from the resource root: `['spec', 'regionId']`. */
  readonly path: readonly string[];
  readonly target: KindName;
  /**
   * The referring resource belongs to its target: removing the target removes it too (a host's
   * NICs and instances). A plain reference blocks the target's deletion instead.
   */
  readonly owner: boolean;
  /** The field is an array of ids. */
  readonly many?: boolean;
  /**
   * Following this reference from resource to resource never comes back (a region is never its own
   * ancestor): a write that would close a loop is `failed_precondition`. Only for a reference to its own kind.
   */
  readonly acyclic?: boolean;
  /** A missing target is the caller's mistake in the body (`invalid_argument`), not a state to wait out (`failed_precondition`, the default). */
  readonly missingIsInvalid?: boolean;
}

/** Everything generic code needs to know about one resource kind. */
export interface KindDef {
  readonly kind: KindName;
  /** REST collection path under /v1/projects/{project}/. */
  readonly path: string;
  readonly idPrefix: string;
  /** Desired / declarative part, written by users. Absent for discovered kinds. */
  readonly spec?: TSchema;
  /** Current / discovered part, written by managers. Absent for purely declarative kinds. */
  readonly status?: TSchema;
  /** `user`: users create and delete it. `manager`: managers create and delete it (discovered kinds). */
  readonly origin: 'user' | 'manager';
  readonly refs: readonly RefDef[];
  /** DELETE marks `spec.desiredState = deleted`; the owning manager removes the row. */
  readonly twoPhaseDelete: boolean;
  /** Allowed desired-state transitions, checked against `status.currentState`. */
  readonly transitions?: Readonly<Record<string, readonly string[]>>;
  /** Spec defaults applied on create. */
  readonly specDefaults?: Readonly<Record<string, unknown>>;
  /** Rules a schema cannot say; returns what is wrong, or undefined. */
  readonly check?: (spec: Record<string, unknown>) => string | undefined;
  /** Spec fields never echoed in logs or error messages. */
  readonly secrets?: readonly string[];
  /**
   * Write-only spec fields (dotted paths, `*` for every key of an object): stored apart from the
   * resource and never returned, in events, logs or errors; the resource shows SECRET_SET instead.
   */
  readonly writeOnly?: readonly string[];
  readonly description: string;
}

export const KIND_NAMES = [
  'Region', 'Site', 'Host', 'HostNic', 'HostStorage', 'HostGpu', 'HostUsb', 'OperatingSystem', 'Instance',
  'Schedule', 'OsUpdatePolicy', 'OsUpdateRun', 'TelemetryGroup', 'TelemetryProfile', 'LocalAccount', 'CustomConfig', 'Command',
  'AlertRule', 'AlertReceiver', 'Alert', 'Silence',
] as const;
export type KindName = (typeof KIND_NAMES)[number];

const ref = (path: string, target: KindName, owner = false, many = false): RefDef => ({ path: path.split('.'), target, owner, many });
const invalidIfMissing = (r: RefDef): RefDef => ({ ...r, missingIsInvalid: true });

function exactlyOne(obj: unknown, keys: readonly string[], what: string): string | undefined {
  const set = keys.filter((k) => (obj as Record<string, unknown> | undefined)?.[k] !== undefined);
  return set.length === 1 ? undefined : `${what} must set exactly one of ${keys.join(', ')} (it sets ${set.length === 0 ? 'none' : set.join(', ')})`;
}

const deviceKind = (kind: KindName, path: string, idPrefix: string, status: TSchema, what: string): KindDef => ({
  kind, path, idPrefix, status, origin: 'manager', refs: [ref('status.hostId', 'Host', true)], twoPhaseDelete: false,
  description: `${what} of a host, discovered by its agent and kept by the host manager.`,
});

const DEFS: readonly KindDef[] = [
  {
    kind: 'Region', path: 'regions', idPrefix: 'region', spec: K.RegionSpec, origin: 'user', twoPhaseDelete: false,
    refs: [{ ...ref('spec.parentRegionId', 'Region'), acyclic: true }],
    description: 'A geographic or organisational area; regions nest (never in a loop).',
  },
  {
    kind: 'Site', path: 'sites', idPrefix: 'site', spec: K.SiteSpec, status: K.SiteStatus, origin: 'user', twoPhaseDelete: false,
    refs: [ref('spec.regionId', 'Region')],
    description: 'A place where hosts stand, inside a region.',
  },
  {
    kind: 'Host', path: 'hosts', idPrefix: 'host', spec: K.HostSpec, status: K.HostStatus, origin: 'user', twoPhaseDelete: true,
    refs: [ref('spec.siteId', 'Site')], transitions: HOST_TRANSITIONS, specDefaults: { desiredState: 'registered' },
    description: 'An edge machine, registered by uuid or serial number and onboarded through its agent.',
  },
  deviceKind('HostNic', 'host-nics', 'hostnic', K.HostNicStatus, 'A network interface'),
  deviceKind('HostStorage', 'host-storages', 'hoststorage', K.HostStorageStatus, 'A block storage device'),
  deviceKind('HostGpu', 'host-gpus', 'hostgpu', K.HostGpuStatus, 'A GPU'),
  deviceKind('HostUsb', 'host-usbs', 'hostusb', K.HostUsbStatus, 'A USB device'),
  {
    kind: 'OperatingSystem', path: 'operating-systems', idPrefix: 'os', spec: K.OperatingSystemSpec, origin: 'user', twoPhaseDelete: false,
    refs: [], description: 'An OS profile: the image to install and how.',
  },
  {
    kind: 'Instance', path: 'instances', idPrefix: 'inst', spec: K.InstanceSpec, status: K.InstanceStatus, origin: 'user', twoPhaseDelete: true,
    refs: [
      ref('spec.hostId', 'Host', true), ref('spec.osId', 'OperatingSystem'), ref('spec.osUpdatePolicyId', 'OsUpdatePolicy'),
      ref('spec.localAccountId', 'LocalAccount'), ref('spec.customConfigIds', 'CustomConfig', false, true), ref('status.currentOsId', 'OperatingSystem'),
    ],
    transitions: INSTANCE_TRANSITIONS, specDefaults: { desiredState: 'running' },
    description: 'The OS installed on a host, from an OS profile.',
  },
  {
    kind: 'Schedule', path: 'schedules', idPrefix: 'sched', spec: K.ScheduleSpec, status: K.ScheduleStatus, origin: 'user', twoPhaseDelete: false,
    refs: [ref('spec.target.regionId', 'Region'), ref('spec.target.siteId', 'Site'), ref('spec.target.hostId', 'Host', true)],
    check: (s) =>
      exactlyOne(s.target, ['regionId', 'siteId', 'hostId', 'selector'], 'spec.target') ??
      selectorProblem((s.target as { selector?: unknown } | undefined)?.selector, 'spec.target.selector') ??
      exactlyOne(s, ['single', 'repeated'], 'spec') ??
      scheduleProblem(s),
    description: 'A maintenance or OS-update window for a region, site, host, or the hosts a selector matches.',
  },
  {
    kind: 'OsUpdatePolicy', path: 'os-update-policies', idPrefix: 'osupdatepolicy', spec: K.OsUpdatePolicySpec, status: K.OsUpdatePolicyStatus, origin: 'user', twoPhaseDelete: false,
    refs: [ref('spec.targetOsId', 'OperatingSystem')],
    check: (s) =>
      (s.policy === 'target' && s.targetOsId === undefined ? 'spec.targetOsId is required when spec.policy is "target"' : undefined) ??
      selectorProblem((s.target as { selector?: unknown } | undefined)?.selector, 'spec.target.selector'),
    description: 'What to update instances to, and how fast to roll it out: to the instances that name it, and to those on the hosts its target.selector matches.',
  },
  {
    kind: 'OsUpdateRun', path: 'os-update-runs', idPrefix: 'osupdaterun', status: K.OsUpdateRunStatus, origin: 'manager', twoPhaseDelete: false,
    refs: [ref('status.instanceId', 'Instance', true), ref('status.policyId', 'OsUpdatePolicy', true)],
    description: 'One OS update of one instance, created by the maintenance manager.',
  },
  {
    kind: 'TelemetryGroup', path: 'telemetry-groups', idPrefix: 'telemetrygroup', spec: K.TelemetryGroupSpec, origin: 'user', twoPhaseDelete: false,
    refs: [], description: 'A named set of metrics or log sources.',
  },
  {
    kind: 'TelemetryProfile', path: 'telemetry-profiles', idPrefix: 'telemetryprofile', spec: K.TelemetryProfileSpec, status: K.TelemetryProfileStatus, origin: 'user', twoPhaseDelete: false,
    refs: [ref('spec.target.regionId', 'Region'), ref('spec.target.siteId', 'Site'), ref('spec.target.instanceId', 'Instance', true), ref('spec.groupId', 'TelemetryGroup')],
    check: (s) =>
      exactlyOne(s.target, ['regionId', 'siteId', 'instanceId', 'selector'], 'spec.target') ??
      selectorProblem((s.target as { selector?: unknown } | undefined)?.selector, 'spec.target.selector'),
    description: 'Which telemetry group a region, site, instance or the hosts a selector matches collect, and how often.',
  },
  {
    kind: 'LocalAccount', path: 'local-accounts', idPrefix: 'localaccount', spec: K.LocalAccountSpec, origin: 'user', twoPhaseDelete: false,
    refs: [ref('spec.target.regionId', 'Region'), ref('spec.target.siteId', 'Site'), ref('spec.target.instanceId', 'Instance', true)],
    secrets: ['sshKey', 'sshKeys'], specDefaults: { sudo: 'none', state: 'present' }, check: localAccountProblem,
    description: 'A login account (SSH keys, sudo, groups) for the hosts of a region, a site or an instance, kept on them by the node-config manager and the agent.',
  },
  {
    kind: 'CustomConfig', path: 'custom-configs', idPrefix: 'customconfig', spec: K.CustomConfigSpec, origin: 'user', twoPhaseDelete: false,
    refs: [ref('spec.target.regionId', 'Region'), ref('spec.target.siteId', 'Site'), ref('spec.target.instanceId', 'Instance', true)],
    specDefaults: { type: 'cloud-init', runPolicy: 'on-change' }, check: customConfigProblem,
    description: 'A cloud-init document or a file for the hosts of a region, a site or an instance, applied by their agents.',
  },
  {
    kind: 'Command', path: 'commands', idPrefix: 'cmd', spec: K.CommandSpec, status: K.CommandStatus, origin: 'manager', twoPhaseDelete: false,
    refs: [ref('spec.hostId', 'Host', true)],
    description: "A command for one host's agent (install an OS, power, update), created by a manager; its status is the agent's answer.",
  },
  {
    kind: 'AlertRule', path: 'alert-rules', idPrefix: 'alertrule', spec: K.AlertRuleSpec, status: K.AlertRuleStatus, origin: 'user', twoPhaseDelete: false,
    refs: [
      invalidIfMissing(ref('spec.target.regionId', 'Region')), invalidIfMissing(ref('spec.target.siteId', 'Site')), invalidIfMissing(ref('spec.target.hostId', 'Host', true)),
      invalidIfMissing(ref('spec.receiverIds', 'AlertReceiver', false, true)),
    ],
    specDefaults: { forSeconds: 0, severity: 'warning', suppressInMaintenance: true, receiverIds: [], enabled: true },
    check: alertRuleProblem,
    description: 'When to alert: a filter over one kind that must hold for forSeconds, its severity, texts and receivers.',
  },
  {
    kind: 'AlertReceiver', path: 'alert-receivers', idPrefix: 'alertreceiver', spec: K.AlertReceiverSpec, status: K.AlertReceiverStatus, origin: 'user', twoPhaseDelete: false,
    refs: [], specDefaults: { groupWaitSeconds: 30, groupIntervalSeconds: 300, repeatIntervalSeconds: 4 * 3600 },
    check: alertReceiverProblem,
    writeOnly: ['webhook.hmacSecret', 'webhook.headers.*', 'email.password'],
    description: 'Where alerts go: a webhook (Alertmanager format) or email, and how notifications are grouped and repeated.',
  },
  {
    kind: 'Alert', path: 'alerts', idPrefix: 'alert', status: K.AlertStatus, origin: 'manager', twoPhaseDelete: false,
    refs: [],
    description: 'One rule met by one resource (pending, firing or resolved), kept by the alert manager; read-only to users.',
  },
  {
    kind: 'Silence', path: 'silences', idPrefix: 'silence', spec: K.SilenceSpec, origin: 'user', twoPhaseDelete: false,
    refs: [], check: silenceProblem,
    description: 'Mutes the alerts its filter matches between startsAt and endsAt: they stay firing, nothing is sent.',
  },
];

const byKind = new Map<string, KindDef>(DEFS.map((d) => [d.kind, d]));
const byPath = new Map<string, KindDef>(DEFS.map((d) => [d.path, d]));
const byPrefix = new Map<string, KindDef>(DEFS.map((d) => [d.idPrefix, d]));

/** Every kind, in registry order. */
export const KINDS: readonly KindDef[] = DEFS;

/** The kind named `kind` (`Host`), or undefined. */
export const kindByName = (kind: string): KindDef | undefined => byKind.get(kind);
/** The kind whose REST path is `path` (`hosts`), or undefined. */
export const kindByPath = (path: string): KindDef | undefined => byPath.get(path);
/** The kind an id belongs to, read off its prefix (`host-0a1b2c3d` → Host), or undefined. */
export const kindById = (id: string): KindDef | undefined => byPrefix.get(/^([a-z]+)-[0-9a-f]{8}$/.exec(id)?.[1] ?? '');

/** The kinds whose references point at `kind`, with the reference. */
export function referrersOf(kind: KindName): { def: KindDef; ref: RefDef }[] {
  return DEFS.flatMap((def) => def.refs.filter((r) => r.target === kind).map((r) => ({ def, ref: r })));
}

/**
 * The ids a resource refers to, one entry per id.
 * @example extractRefs(kindByName('Site')!, { spec: { regionId: 'region-0a1b2c3d' } })
 */
export function extractRefs(def: KindDef, resource: { spec?: unknown; status?: unknown }): { ref: RefDef; id: string }[] {
  const out: { ref: RefDef; id: string }[] = [];
  for (const r of def.refs) {
    let v: unknown = resource;
    for (const p of r.path) v = (v as Record<string, unknown> | undefined)?.[p];
    if (typeof v === 'string') out.push({ ref: r, id: v });
    else if (r.many && Array.isArray(v)) for (const id of v) if (typeof id === 'string') out.push({ ref: r, id });
  }
  return out;
}

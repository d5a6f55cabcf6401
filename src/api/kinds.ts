import Type from 'typebox';
import { closed, Opt, Ref, StatusTriple, Timestamp } from './common.ts';
import { CurrentPowerState, HostCurrentState, HostDesiredState, InstanceCurrentState, InstanceDesiredState, PowerState } from './enums.ts';
import { SERIAL_MAX_LENGTH, SERIAL_PATTERN, UUID_PATTERN } from './host-identity.ts';
import { HostSelectorText } from './host-selector-text.ts';
import { HostNodeConfig } from './node-config.ts';

// Spec and status schemas of every kind (ARCHITECTURE.md §4). Status fields are all optional:
// managers write them piecemeal with merge patches.

export const RegionSpec = Type.Object({ parentRegionId: Opt(Ref('region', 'The enclosing region')) }, closed);

export const SiteSpec = Type.Object(
  {
    regionId: Ref('region'),
    address: Opt(Type.String({ maxLength: 512 })),
    latitude: Opt(Type.Number({ minimum: -90, maximum: 90 })),
    longitude: Opt(Type.Number({ minimum: -180, maximum: 180 })),
    dnsServers: Opt(Type.Array(Type.String({ maxLength: 255 }), { maxItems: 16 })),
    proxies: Opt(
      Type.Object(
        {
          httpProxy: Opt(Type.String({ maxLength: 2048 })),
          httpsProxy: Opt(Type.String({ maxLength: 2048 })),
          ftpProxy: Opt(Type.String({ maxLength: 2048 })),
          noProxy: Opt(Type.String({ maxLength: 4096 })),
        },
        closed,
      ),
    ),
  },
  closed,
);

/**
 * The labels a site, host or instance carries from above (written by the inherited-labels manager):
 * its region chain's (root first), then its site's, its host's, then its own; the most specific
 * level wins a key. Filters read them as `inheritedLabels.<key>`.
 */
export const InheritedLabels = Type.Record(Type.String({ pattern: '^[A-Za-z0-9]([A-Za-z0-9._/-]{0,62})$' }), Type.String({ maxLength: 256 }), {
  description: 'Labels from the region chain (root first), the site, the host and the resource itself; the most specific wins a key. Filter on them as inheritedLabels.<key>',
});

/** For each key of inheritedLabels, the id of the region, site, host or instance its value came from. */
export const InheritedLabelSources = Type.Record(Type.String({ maxLength: 63 }), Type.String({ pattern: '^[a-z]+-[0-9a-f]{8}$' }), {
  description: 'Where each inherited label came from: the id of the region, site, host or instance that set it',
});

/** The status of a site: its inherited labels (sites are declarative otherwise). */
export const SiteStatus = Type.Object({ inheritedLabels: Opt(InheritedLabels), inheritedLabelSources: Opt(InheritedLabelSources) }, closed);

export const HostSpec = Type.Object(
  {
    siteId: Opt(Ref('site')),
    /** Unique per project (case-insensitive; stored in lower case) unless a vendor placeholder. */
    uuid: Opt(Type.String({ pattern: UUID_PATTERN })),
    /** Unique per project unless a vendor placeholder; printable ASCII, no `*`, `?`, quotes or backslash. */
    serialNumber: Opt(Type.String({ minLength: 1, maxLength: SERIAL_MAX_LENGTH, pattern: SERIAL_PATTERN })),
    desiredState: HostDesiredState,
    desiredPowerState: Opt(PowerState),
    autoProvision: Opt(Type.Boolean()),
  },
  closed,
);

export const Hardware = Type.Object(
  {
    hostname: Opt(Type.String({ maxLength: 256 })),
    cpuModel: Opt(Type.String({ maxLength: 256 })),
    cpuArchitecture: Opt(Type.String({ maxLength: 256 })),
    cpuSockets: Opt(Type.Integer({ minimum: 0 })),
    cpuCores: Opt(Type.Integer({ minimum: 0 })),
    cpuThreads: Opt(Type.Integer({ minimum: 0 })),
    memoryBytes: Opt(Type.Integer({ minimum: 0 })),
    systemVendor: Opt(Type.String({ maxLength: 256 })),
    productName: Opt(Type.String({ maxLength: 256 })),
    serialNumber: Opt(Type.String({ maxLength: 256 })),
    uuid: Opt(Type.String({ maxLength: 256 })),
    biosVendor: Opt(Type.String({ maxLength: 256 })),
    biosVersion: Opt(Type.String({ maxLength: 256 })),
    biosReleaseDate: Opt(Type.String({ maxLength: 256 })),
    osName: Opt(Type.String({ maxLength: 256 })),
    osVersion: Opt(Type.String({ maxLength: 256 })),
    kernelVersion: Opt(Type.String({ maxLength: 256 })),
  },
  closed,
);

/** Where the host stands with its maintenance and os-update windows (written by the maintenance manager). */
export const HostMaintenance = Type.Object(
  {
    /** A maintenance or os-update window that applies to the host is open now. */
    inWindow: Type.Boolean(),
    /** The purposes of the windows open now. */
    purposes: Type.Array(Type.Enum(['maintenance', 'os-update'])),
    /** The schedules whose windows are open now (the host's own, its site's, its regions'). */
    scheduleIds: Type.Array(Ref('sched')),
    /** When the windows open now close (the latest end among them); absent for an open-ended single window. */
    windowEndsAt: Opt(Timestamp),
    /** When the next window opens that is not open now; absent when none is scheduled. */
    nextWindowAt: Opt(Timestamp),
  },
  closed,
);

/** Which profile one telemetry group's settings came from. */
export const TelemetrySource = Type.Object(
  {
    groupId: Ref('telemetrygroup'),
    profileId: Ref('telemetryprofile'),
    /** The level the winning profile targets (selector: the hosts its target.selector matches, between site and instance). */
    level: Type.Enum(['region', 'site', 'selector', 'instance']),
    /** The region, site or instance it targets; for a selector, the selector's text. */
    targetId: Type.String({ maxLength: 4096 }),
    /** The config fields this profile supplied (empty: the most specific profile of the group, its fields inherited or defaulted). */
    fields: Opt(Type.Array(Type.Enum(['metricsIntervalSeconds', 'logLevel']))),
  },
  closed,
);

/** The telemetry config the telemetry manager computed for the host, and what its agent applied. */
export const HostTelemetry = Type.Object(
  {
    /** Content hash of `config`: changes exactly when the config does. */
    version: Type.String({ maxLength: 128 }),
    /** The effective config pushed to the agent. */
    config: Type.Record(Type.String(), Type.Unknown()),
    sources: Type.Array(TelemetrySource),
    /** The version the agent reports it applied. */
    appliedVersion: Opt(Type.String({ maxLength: 128 })),
    appliedAt: Opt(Timestamp),
    /** When the server last stored a sample from the host (written at most once a minute). */
    lastSampleAt: Opt(Timestamp),
    /** What the agent says of its collection: idle when it collects everything named, error with the reason otherwise. */
    collectionStatus: Opt(StatusTriple),
    /** Group names of the config the agent does not know (not collected). */
    unknownGroups: Opt(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 64 })),
    /** Batches the agent's buffer dropped (oldest first) while it could not reach the server. */
    droppedBatches: Opt(Type.Integer({ minimum: 0 })),
  },
  closed,
);

export const HostStatus = Type.Object(
  {
    currentState: Opt(HostCurrentState),
    currentPowerState: Opt(CurrentPowerState),
    hostStatus: Opt(StatusTriple),
    onboardingStatus: Opt(StatusTriple),
    registrationStatus: Opt(StatusTriple),
    powerStatus: Opt(StatusTriple),
    observedGeneration: Opt(Type.Integer({ minimum: 0 })),
    hardware: Opt(Hardware),
    lastSeenAt: Opt(Timestamp),
    maintenance: Opt(HostMaintenance),
    telemetry: Opt(HostTelemetry),
    inheritedLabels: Opt(InheritedLabels),
    inheritedLabelSources: Opt(InheritedLabelSources),
    /** The effective accounts and configs (node-config manager) and what the agent applied. */
    nodeConfig: Opt(HostNodeConfig),
  },
  closed,
);

export const HostNicStatus = Type.Object(
  {
    hostId: Ref('host'),
    deviceName: Type.String({ minLength: 1, maxLength: 128 }),
    macAddress: Opt(Type.String({ maxLength: 256 })),
    mtu: Opt(Type.Integer({ minimum: 0 })),
    linkState: Opt(Type.Enum(['up', 'down', 'unknown'])),
    speedMbps: Opt(Type.Integer()),
    pciAddress: Opt(Type.String({ maxLength: 256 })),
    driver: Opt(Type.String({ maxLength: 256 })),
    ipAddresses: Opt(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 32 })),
  },
  closed,
);

export const HostStorageStatus = Type.Object(
  {
    hostId: Ref('host'),
    deviceName: Type.String({ minLength: 1, maxLength: 128 }),
    model: Opt(Type.String({ maxLength: 256 })),
    vendor: Opt(Type.String({ maxLength: 256 })),
    serial: Opt(Type.String({ maxLength: 256 })),
    wwid: Opt(Type.String({ maxLength: 256 })),
    capacityBytes: Opt(Type.Integer({ minimum: 0 })),
    rotational: Opt(Type.Boolean()),
    transport: Opt(Type.String({ maxLength: 256 })),
  },
  closed,
);

export const HostGpuStatus = Type.Object(
  {
    hostId: Ref('host'),
    deviceName: Type.String({ minLength: 1, maxLength: 128 }),
    pciAddress: Opt(Type.String({ maxLength: 256 })),
    vendor: Opt(Type.String({ maxLength: 256 })),
    product: Opt(Type.String({ maxLength: 256 })),
    description: Opt(Type.String({ maxLength: 256 })),
  },
  closed,
);

export const HostUsbStatus = Type.Object(
  {
    hostId: Ref('host'),
    deviceName: Type.String({ minLength: 1, maxLength: 128 }),
    bus: Opt(Type.Integer({ minimum: 0 })),
    address: Opt(Type.Integer({ minimum: 0 })),
    vendorId: Opt(Type.String({ maxLength: 256 })),
    productId: Opt(Type.String({ maxLength: 256 })),
    deviceClass: Opt(Type.String({ maxLength: 256 })),
    serial: Opt(Type.String({ maxLength: 256 })),
    description: Opt(Type.String({ maxLength: 256 })),
  },
  closed,
);

/**
 * A package name as apt and dnf take it, optionally with `:arch` and `=version`. It starts with a
 * letter or digit, so it can never be read as an option (`-oDPkg::Pre-Invoke::=reboot`), and holds
 * no glob, quote or shell character. The agent checks it again before running anything.
 */
export const PACKAGE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}(?::[A-Za-z0-9_-]{1,32})?(?:=[A-Za-z0-9][A-Za-z0-9.+:~_-]{0,127})?$';

/** Packages to install or update: at most 256 names matching PACKAGE_NAME_PATTERN. */
export const PackageList = Type.Array(Type.String({ pattern: PACKAGE_NAME_PATTERN, maxLength: 300 }), { maxItems: 256 });

/**
 * Kernel command line options. Linux takes at most 2,048 bytes on x86 and arm64 (COMMAND_LINE_SIZE,
 * 4,096 on a few architectures); the reference system allows 500 characters.
 */
export const KernelCommand = Type.String({ maxLength: 4096 });

export const OperatingSystemSpec = Type.Object(
  {
    imageUrl: Type.String({ minLength: 1, maxLength: 2048 }),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    profileName: Type.String({ minLength: 1, maxLength: 128 }),
    profileVersion: Type.String({ minLength: 1, maxLength: 128 }),
    osType: Type.Enum(['mutable', 'immutable']),
    architecture: Type.String({ minLength: 1, maxLength: 64 }),
    kernelCommand: Opt(KernelCommand),
    packages: Opt(PackageList),
  },
  closed,
);

export const InstanceSpec = Type.Object(
  {
    hostId: Ref('host'),
    osId: Ref('os'),
    desiredState: InstanceDesiredState,
    osUpdatePolicyId: Opt(Ref('osupdatepolicy')),
    localAccountId: Opt(Ref('localaccount')),
    customConfigIds: Opt(Type.Array(Ref('customconfig'), { maxItems: 32 })),
  },
  closed,
);

export const InstanceStatus = Type.Object(
  {
    currentState: Opt(InstanceCurrentState),
    currentOsId: Opt(Ref('os')),
    /** The profile the instance manager last installed (spec.osId then); an OS update may move currentOsId on from it. */
    provisionedOsId: Opt(Ref('os')),
    instanceStatus: Opt(StatusTriple),
    provisioningStatus: Opt(StatusTriple),
    updateStatus: Opt(StatusTriple),
    observedGeneration: Opt(Type.Integer({ minimum: 0 })),
    inheritedLabels: Opt(InheritedLabels),
    inheritedLabelSources: Opt(InheritedLabelSources),
  },
  closed,
);

const ScheduleTarget = Type.Object(
  { regionId: Opt(Ref('region')), siteId: Opt(Ref('site')), hostId: Opt(Ref('host')), selector: Opt(HostSelectorText) },
  { ...closed, description: 'Exactly one of regionId, siteId, hostId, selector (the hosts an AIP-160 filter matches, as they change)' },
);

export const ScheduleSpec = Type.Object(
  {
    purpose: Type.Enum(['maintenance', 'os-update']),
    target: ScheduleTarget,
    single: Opt(Type.Object({ startAt: Timestamp, endAt: Opt(Timestamp) }, closed)),
    repeated: Opt(
      Type.Object(
        {
          cron: Type.String({ minLength: 9, maxLength: 128, description: '5-field cron expression' }),
          durationSeconds: Type.Integer({ minimum: 1, maximum: 31 * 86400 }),
          timezone: Opt(Type.String({ maxLength: 64 })),
        },
        closed,
      ),
    ),
  },
  closed,
);

export const OsUpdatePolicySpec = Type.Object(
  {
    policy: Type.Enum(['latest', 'target']),
    targetOsId: Opt(Ref('os')),
    packages: Opt(PackageList),
    kernelCommand: Opt(KernelCommand),
    rollout: Type.Object(
      { maxConcurrent: Type.Integer({ minimum: 1, maximum: 100000 }), maxFailures: Type.Integer({ minimum: 0 }) },
      closed,
    ),
    /**
     * Attach by selector: the instances on the hosts it matches follow this policy, as they come
     * and go (an instance naming a policy in spec.osUpdatePolicyId follows that one instead).
     */
    target: Opt(Type.Object({ selector: HostSelectorText }, { ...closed, description: 'The hosts whose instances this policy updates' })),
  },
  closed,
);

/** A schedule's window now (written by the maintenance manager). */
export const ScheduleStatus = Type.Object(
  {
    /** The window is open now. */
    open: Opt(Type.Boolean()),
    /** When the open window opened / closes; absent when closed (or open-ended). */
    openedAt: Opt(Timestamp),
    closesAt: Opt(Timestamp),
    /** When it opens next; absent when it never opens again. */
    nextOpenAt: Opt(Timestamp),
    scheduleStatus: Opt(StatusTriple),
    /** With target.selector: how many hosts it matches now. */
    matchedHosts: Opt(Type.Integer({ minimum: 0 })),
  },
  closed,
);

/** The rollout of one policy, as the maintenance manager sees it (written by it). */
export const OsUpdatePolicyStatus = Type.Object(
  {
    rolloutStatus: Opt(StatusTriple),
    /** With target.selector: how many hosts it matches now. */
    matchedHosts: Opt(Type.Integer({ minimum: 0 })),
    rollout: Opt(
      Type.Object(
        {
          /** Identifies what the policy updates to (target, packages, kernel command); a change starts a new rollout. */
          updateKey: Type.String({ maxLength: 64 }),
          /** Instances the policy is attached to. */
          total: Type.Integer({ minimum: 0 }),
          /** Already at what the policy asks. */
          upToDate: Type.Integer({ minimum: 0 }),
          /** Waiting for a window or a free slot. */
          pending: Type.Integer({ minimum: 0 }),
          running: Type.Integer({ minimum: 0 }),
          succeeded: Type.Integer({ minimum: 0 }),
          failed: Type.Integer({ minimum: 0 }),
          /** The most updates ever running at once in this rollout. */
          peakRunning: Type.Integer({ minimum: 0 }),
          /** maxFailures reached: no new update starts until the policy changes. */
          halted: Type.Boolean(),
        },
        closed,
      ),
    ),
  },
  closed,
);

export const OsUpdateRunStatus = Type.Object(
  {
    instanceId: Ref('inst'),
    policyId: Ref('osupdatepolicy'),
    runStatus: Opt(StatusTriple),
    startedAt: Opt(Timestamp),
    endedAt: Opt(Timestamp),
    details: Opt(Type.String({ maxLength: 8192 })),
    /** The policy's updateKey this run serves. */
    updateKey: Opt(Type.String({ maxLength: 64 })),
    /** The OS profile before the update, and the one it updates to (absent: packages only). */
    fromOsId: Opt(Ref('os')),
    targetOsId: Opt(Ref('os')),
    /** After a failed update: the profile the instance rolled back to. */
    rolledBackToOsId: Opt(Ref('os')),
    /** downloading, applying, rebooting, verifying, retrying, done, failed, rolled-back, aborted. */
    phase: Opt(Type.String({ maxLength: 64 })),
    /** Which attempt the run is on: a recoverable failure (a download timed out) is tried again. */
    attempt: Opt(Type.Integer({ minimum: 1 })),
    /** When a retrying run sends its next attempt to the agent. */
    retryAt: Opt(Timestamp),
    progress: Opt(Type.Integer({ minimum: 0, maximum: 100 })),
  },
  closed,
);

export const TelemetryGroupSpec = Type.Object(
  {
    type: Type.Enum(['metrics', 'logs']),
    collector: Type.Enum(['host', 'cluster']),
    groups: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1 }),
  },
  closed,
);

export const TelemetryProfileSpec = Type.Object(
  {
    target: Type.Object(
      { regionId: Opt(Ref('region')), siteId: Opt(Ref('site')), instanceId: Opt(Ref('inst')), selector: Opt(HostSelectorText) },
      { ...closed, description: 'Exactly one of regionId, siteId, instanceId, selector (the hosts an AIP-160 filter matches, as they change)' },
    ),
    groupId: Ref('telemetrygroup'),
    metricsIntervalSeconds: Opt(Type.Integer({ minimum: 1, maximum: 86400 })),
    logLevel: Opt(Type.Enum(['error', 'warn', 'info', 'debug'])),
  },
  closed,
);

/** A telemetry profile's reach (written by the telemetry manager). */
export const TelemetryProfileStatus = Type.Object(
  {
    /** With target.selector: how many hosts it matches now. */
    matchedHosts: Opt(Type.Integer({ minimum: 0 })),
  },
  closed,
);

// LocalAccountSpec and CustomConfigSpec live in node-config.ts with the node configuration they drive.
export { CustomConfigSpec, LocalAccountSpec } from './node-config.ts';

/** A command for one host's agent, created by a manager; the southbound layer delivers it. */
export const CommandSpec = Type.Object(
  {
    hostId: Ref('host'),
    type: Type.Enum(['install-os', 'wipe', 'power', 'update-os', 'apply-config']),
    params: Type.Record(Type.String(), Type.Unknown()),
    /** The resource the command serves (an instance, the host itself, an update run). */
    ownerId: Opt(Type.String({ pattern: '^[a-z]+-[0-9a-f]{8}$' })),
  },
  closed,
);

export const CommandStatus = Type.Object(
  {
    state: Opt(Type.Enum(['pending', 'running', 'succeeded', 'failed'])),
    recoverable: Opt(Type.Boolean()),
    message: Opt(Type.String({ maxLength: 4096 })),
    progress: Opt(Type.Integer({ minimum: 0, maximum: 100 })),
    details: Opt(Type.Record(Type.String(), Type.Unknown())),
    startedAt: Opt(Timestamp),
    endedAt: Opt(Timestamp),
  },
  closed,
);

/** An alert rule's target: exactly one of a region (its sub-regions, sites and hosts), a site, a host, or a selector over hosts. */
export const AlertTarget = Type.Object(
  {
    regionId: Opt(Ref('region')),
    siteId: Opt(Ref('site')),
    hostId: Opt(Ref('host')),
    /** An AIP-160 filter over hosts (`labels.tier = edge`): the resources on the hosts it selects. */
    selector: Opt(Type.String({ minLength: 1, maxLength: 4096 })),
  },
  { ...closed, description: 'Exactly one of regionId, siteId, hostId, selector' },
);

export const AlertSeverity = Type.Enum(['critical', 'warning', 'info']);

export const AlertRuleSpec = Type.Object(
  {
    /** The kind the rule watches, as its REST path (`hosts`, `instances`, `os-update-policies`). */
    kind: Type.String({ minLength: 1, maxLength: 64 }),
    /** AIP-160 filter over resources of `kind`: a resource matching it meets the condition. Empty: every resource (with `metric`). */
    filter: Opt(Type.String({ maxLength: 4096 })),
    /** A condition on a host's latest collected metric, `disk_used_percent > 90` (hosts only). */
    metric: Opt(Type.String({ maxLength: 256 })),
    /** How long the condition must hold before the alert fires; 0: at once. */
    forSeconds: Type.Integer({ minimum: 0, maximum: 7 * 86400 }),
    severity: AlertSeverity,
    /** Templates naming the resource's fields: `{{name}}`, `{{status.hostStatus.message}}`, `{{site.name}}`. */
    summary: Opt(Type.String({ maxLength: 1024 })),
    description: Opt(Type.String({ maxLength: 4096 })),
    target: Opt(AlertTarget),
    /** A host inside an open maintenance window does not fire. */
    suppressInMaintenance: Type.Boolean(),
    receiverIds: Type.Array(Ref('alertreceiver'), { maxItems: 16 }),
    enabled: Type.Boolean(),
  },
  closed,
);

export const AlertRuleStatus = Type.Object(
  {
    /** Resources meeting the condition now (pending or firing). */
    matchedResources: Opt(Type.Integer({ minimum: 0 })),
    firing: Opt(Type.Integer({ minimum: 0 })),
    ruleStatus: Opt(StatusTriple),
  },
  closed,
);

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = '^[A-Za-z0-9!#$%&\'*+.^_`|~-]{1,64}$';

export const AlertReceiverSpec = Type.Object(
  {
    webhook: Opt(
      Type.Object(
        {
          url: Type.String({ minLength: 1, maxLength: 2048 }),
          /** Extra request headers; their values are write-only. */
          headers: Opt(Type.Record(Type.String({ pattern: HEADER_NAME }), Type.String({ maxLength: 4096 }))),
          /** Signs each body: `X-Eim-Signature: sha256=<hex HMAC>`. Write-only. */
          hmacSecret: Opt(Type.String({ minLength: 1, maxLength: 1024 })),
        },
        closed,
      ),
    ),
    email: Opt(
      Type.Object(
        {
          smtpHost: Type.String({ minLength: 1, maxLength: 253 }),
          smtpPort: Type.Integer({ minimum: 1, maximum: 65535 }),
          /** Upgrade the connection with STARTTLS (required when true). */
          starttls: Type.Boolean(),
          username: Opt(Type.String({ maxLength: 256 })),
          /** Write-only. */
          password: Opt(Type.String({ maxLength: 1024 })),
          from: Type.String({ minLength: 3, maxLength: 256 }),
          to: Type.Array(Type.String({ minLength: 3, maxLength: 256 }), { maxItems: 50 }),
        },
        closed,
      ),
    ),
    groupWaitSeconds: Type.Integer({ minimum: 0, maximum: 3600 }),
    groupIntervalSeconds: Type.Integer({ minimum: 1, maximum: 86400 }),
    repeatIntervalSeconds: Type.Integer({ minimum: 1, maximum: 30 * 86400 }),
  },
  closed,
);

/** One delivery attempt of a notification to a receiver. */
export const AlertDelivery = Type.Object(
  {
    receiverId: Ref('alertreceiver'),
    at: Timestamp,
    ok: Type.Boolean(),
    attempt: Type.Integer({ minimum: 1 }),
    error: Opt(Type.String({ maxLength: 1024 })),
  },
  closed,
);

export const AlertReceiverStatus = Type.Object(
  {
    lastDelivery: Opt(Type.Object({ at: Timestamp, ok: Type.Boolean(), attempt: Type.Integer({ minimum: 1 }), alerts: Type.Integer({ minimum: 0 }), error: Opt(Type.String({ maxLength: 1024 })) }, closed)),
  },
  closed,
);

export const AlertState = Type.Enum(['pending', 'firing', 'resolved']);

export const AlertStatus = Type.Object(
  {
    ruleId: Ref('alertrule'),
    /** The resource the alert is about (any kind). */
    resourceId: Type.String({ pattern: '^[a-z]+-[0-9a-f]{8}$' }),
    resourceName: Opt(Type.String({ maxLength: 128 })),
    state: AlertState,
    severity: AlertSeverity,
    /** Since when the condition holds (the start of pending). */
    activeSince: Timestamp,
    /** When it started firing, and when it resolved. */
    startsAt: Opt(Timestamp),
    endsAt: Opt(Timestamp),
    /** The alert's identity for receivers (also the resource's labels): alertname, severity, host, site, … */
    labels: Type.Record(Type.String(), Type.String({ maxLength: 256 })),
    /** The rendered summary and description. */
    annotations: Type.Record(Type.String(), Type.String({ maxLength: 4096 })),
    /** A hash of the labels, stable for the (rule, resource). */
    fingerprint: Type.String({ maxLength: 64 }),
    /** The metric value that met a metric condition. */
    value: Opt(Type.Number()),
    /** Silences muting it now (it stays firing, nothing is sent). */
    silencedBy: Opt(Type.Array(Ref('silence'), { maxItems: 16 })),
    lastNotifiedAt: Opt(Timestamp),
    /** Per receiver, the alert state it acknowledged last (so nothing acknowledged is sent twice). */
    notified: Opt(
      Type.Record(
        Type.String({ pattern: '^alertreceiver-[0-9a-f]{8}$' }),
        Type.Object({ state: Type.Enum(['firing', 'resolved']), startsAt: Timestamp, at: Timestamp, key: Opt(Type.String({ maxLength: 64 })) }, closed),
        { description: 'By receiver id' },
      ),
    ),
    /** The latest delivery attempts (newest last, at most 10). */
    deliveries: Opt(Type.Array(AlertDelivery, { maxItems: 10 })),
  },
  closed,
);

export const SilenceSpec = Type.Object(
  {
    /** AIP-160 filter over alerts: `labels.site = "berlin-1"`, `labels.alertname = host-connection-lost`. */
    filter: Type.String({ minLength: 1, maxLength: 4096 }),
    /** @default the time it was created */
    startsAt: Opt(Timestamp),
    endsAt: Timestamp,
    comment: Type.String({ maxLength: 1024 }),
  },
  closed,
);

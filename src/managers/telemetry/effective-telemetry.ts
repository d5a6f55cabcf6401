import { createHash } from 'node:crypto';
import type { Resource, ResourceOf } from '../../api/index.ts';

export type TelemetryProfile = ResourceOf<'TelemetryProfile'> & Resource;
export type TelemetryGroup = ResourceOf<'TelemetryGroup'> & Resource;
export type TelemetryLevelName = 'region' | 'site' | 'selector' | 'instance';

/** The profiles that target one region, site or instance. */
export interface TelemetryLevel {
  level: TelemetryLevelName;
  targetId: string;
  profiles: readonly TelemetryProfile[];
}

/** A metrics group as the agent collects it. */
export interface MetricsEntry {
  groupId: string;
  collector: 'host' | 'cluster';
  groups: string[];
  intervalSeconds: number;
}

/** A logs group as the agent collects it. */
export interface LogsEntry {
  groupId: string;
  collector: 'host' | 'cluster';
  groups: string[];
  level: 'error' | 'warn' | 'info' | 'debug';
}

/**
 * What the agent gets. Both lists are always present (possibly empty), so a JSON merge patch of
 * `status.telemetry.config` replaces them whole: a group that went away cannot linger.
 */
export interface TelemetryConfig {
  metrics: MetricsEntry[];
  logs: LogsEntry[];
}

export type TelemetryField = 'metricsIntervalSeconds' | 'logLevel';

/** A profile that contributed to a group of the config, and which of its fields were used. */
export interface TelemetrySourceEntry {
  groupId: string;
  profileId: string;
  level: TelemetryLevelName;
  targetId: string;
  /** The fields of the config entry this profile supplied (none: it only brought the group in). */
  fields: TelemetryField[];
}

export interface EffectiveTelemetry {
  /** First 16 hex digits of the sha256 of the canonical JSON of `config`. */
  version: string;
  config: TelemetryConfig;
  /** Per group (in groupId order), the contributing profiles from most to least specific. */
  sources: TelemetrySourceEntry[];
}

/** Used when no profile of the group sets the field. */
export const DEFAULT_METRICS_INTERVAL_SECONDS = 60;
export const DEFAULT_LOG_LEVEL = 'info';

/**
 * The effective telemetry config of one host from the profiles of its levels, given from least to
 * most specific: the region chain from the root region down to the host's site's region, then the
 * site, then the profiles whose target.selector matches the host, then the host's instance(s).
 *
 * The merge rule:
 * 1. Profiles apply per group: a group is in the config when any level has a profile for it.
 * 2. For each group and each field (`metricsIntervalSeconds` for metrics groups, `logLevel` for logs
 *    groups), the most specific profile that sets the field wins; a profile that leaves it unset
 *    inherits it from the next less specific profile of the same group; when none sets it, the
 *    default applies (60 s, `info`). A field that does not fit the group's type is ignored.
 * 3. Several profiles for the same group at the same target: the newer (createdAt, then id) is
 *    the more specific.
 * 4. Profiles whose group is unknown (not cached yet) are left out until it is.
 *
 * The result is deterministic: entries sorted by groupId, the version a hash of canonical JSON.
 * @example effectiveTelemetry([{ level: 'region', targetId: 'region-0a1b2c3d', profiles: [p] }], (id) => groups.get(id))
 */
export function effectiveTelemetry(levels: readonly TelemetryLevel[], groupOf: (groupId: string) => TelemetryGroup | undefined): EffectiveTelemetry {
  // Per group: the profiles from most to least specific, each with its level.
  const byGroup = new Map<string, { profile: TelemetryProfile; level: TelemetryLevelName; targetId: string }[]>();
  for (const lvl of levels) {
    for (const profile of [...lvl.profiles].sort(olderFirst)) {
      const list = byGroup.get(profile.spec.groupId) ?? [];
      list.unshift({ profile, level: lvl.level, targetId: lvl.targetId });
      byGroup.set(profile.spec.groupId, list);
    }
  }
  const config: TelemetryConfig = { metrics: [], logs: [] };
  const sources: TelemetrySourceEntry[] = [];
  for (const groupId of [...byGroup.keys()].sort()) {
    const group = groupOf(groupId);
    if (!group) continue;
    const chain = byGroup.get(groupId)!;
    const field: TelemetryField = group.spec.type === 'metrics' ? 'metricsIntervalSeconds' : 'logLevel';
    const supplier = chain.find((c) => c.profile.spec[field] !== undefined);
    const base = { groupId, collector: group.spec.collector, groups: [...group.spec.groups] };
    if (group.spec.type === 'metrics') config.metrics.push({ ...base, intervalSeconds: supplier?.profile.spec.metricsIntervalSeconds ?? DEFAULT_METRICS_INTERVAL_SECONDS });
    else config.logs.push({ ...base, level: supplier?.profile.spec.logLevel ?? DEFAULT_LOG_LEVEL });
    const winner = chain[0];
    const source = (c: (typeof chain)[number], fields: TelemetryField[]): TelemetrySourceEntry => ({ groupId, profileId: c.profile.id, level: c.level, targetId: c.targetId, fields });
    sources.push(source(winner, supplier === winner ? [field] : []));
    if (supplier && supplier !== winner) sources.push(source(supplier, [field]));
  }
  return { version: configVersion(config), config, sources };
}

/**
 * The content hash of a config: equal configs (whatever their key order) have equal versions.
 * @example configVersion({ metrics: [], logs: [] }) // '…16 hex digits…'
 */
export function configVersion(config: unknown): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 16);
}

/**
 * JSON with object keys sorted at every depth (arrays keep their order).
 * @example canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }) // '{"a":[2,{"c":4,"d":3}],"b":1}'
 */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function olderFirst(a: Resource, b: Resource): number {
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

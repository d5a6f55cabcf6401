import type { NameOf } from './os-explanation.ts';

/** One source of a host's effective telemetry config, as the telemetry manager writes it. */
export interface TelemetrySource {
  groupId: string;
  profileId: string;
  level: string;
  targetId: string;
  /** The config fields this profile supplied (the rest are inherited from a less specific profile or defaulted). */
  fields?: string[];
}

const KIND_OF_LEVEL: Record<string, string> = { region: 'Region', site: 'Site', instance: 'Instance' };

/**
 * The telemetry table's rows with names where the status holds ids (ids stay in the tooltips).
 * @example telemetryRows(host.status.telemetry.sources, nameOf) // [{ group: 'node-metrics', profile: 'europe-metrics', from: 'region europe', … }]
 */
export function telemetryRows(sources: readonly TelemetrySource[], nameOf: NameOf) {
  return sources.map((s) => ({
    key: `${s.groupId}/${s.profileId}`,
    group: nameOf('TelemetryGroup', s.groupId),
    groupId: s.groupId,
    profile: nameOf('TelemetryProfile', s.profileId),
    profileId: s.profileId,
    from: `${s.level} ${nameOf(KIND_OF_LEVEL[s.level] ?? '', s.targetId)}`,
    targetId: s.targetId,
    supplies: s.fields?.length ? s.fields.join(', ') : '—',
  }));
}

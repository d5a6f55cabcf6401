import { type ConfigRolloutOptions, configRolloutRows } from './config-rollout.ts';
import type { ResultRow } from './result-row.ts';

export type TelemetryRunOptions = ConfigRolloutOptions;

/**
 * Issue 5's telemetry target: a region-level telemetry change reaches N agents. The hosts are in
 * a site of a region nested in the profile's region; a region profile is created (round 1) and
 * its interval changed (round 2, measured). See configRolloutRows.
 */
export function telemetryRows(o: TelemetryRunOptions): Promise<{ rows: ResultRow[]; details: string[] }> {
  return configRolloutRows(o, {
    tag: 'telemetry',
    seed: 'tel',
    statusField: 'telemetry',
    counters: { events: 'configEvents', applied: 'configsApplied' },
    eventNoun: 'config',
    appliedNoun: 'configs',
    applyShare: 10,
    place: async (post) => {
      const europe = await post('regions', { name: 'europe', spec: {} });
      const west = await post('regions', { name: 'europe-west', spec: { parentRegionId: europe } });
      const siteId = await post('sites', { name: 'paris', spec: { regionId: west } });
      return { siteId, where: 'site paris (region europe-west in europe)', ids: { europe } };
    },
    create: {
      say: 'a profile on region europe',
      detail: 'profile created on region europe',
      act: async (post, place) => {
        const group = await post('telemetry-groups', { name: 'node-metrics', spec: { type: 'metrics', collector: 'host', groups: ['cpu', 'memory', 'disk'] } });
        return post('telemetry-profiles', { name: 'europe-metrics', spec: { target: { regionId: place.ids.europe }, groupId: group, metricsIntervalSeconds: 60 } });
      },
    },
    change: {
      say: 'change the region profile',
      label: 'change',
      act: async (admin, id) => void (await admin.json('PATCH', `/v1/projects/default/telemetry-profiles/${id}`, { spec: { metricsIntervalSeconds: 15 } }, 200)),
    },
    what: 'region-level telemetry change',
    agentsDid: 'applied it',
    changed: 'profile',
    manager: 'telemetry manager',
  });
}

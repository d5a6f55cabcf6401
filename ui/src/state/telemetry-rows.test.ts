import assert from 'node:assert/strict';
import { test } from 'node:test';
import { telemetryRows } from './telemetry-rows.ts';

test('telemetry sources by name (group, profile, where it came from); ids kept for tooltips', () => {
  const names: Record<string, string> = { 'telemetrygroup-1': 'node-metrics', 'telemetryprofile-1': 'europe-metrics', 'telemetryprofile-2': 'plant-fast', 'region-1': 'europe' };
  const nameOf = (_kind: string, id: string | undefined) => (id ? (names[id] ?? id) : '—');
  const rows = telemetryRows(
    [
      { groupId: 'telemetrygroup-1', profileId: 'telemetryprofile-2', level: 'site', targetId: 'site-9' },
      { groupId: 'telemetrygroup-1', profileId: 'telemetryprofile-1', level: 'region', targetId: 'region-1', fields: ['metricsIntervalSeconds'] },
    ],
    nameOf,
  );
  assert.deepEqual(
    rows.map((r) => [r.key, r.group, r.profile, r.from, r.supplies]),
    [
      ['telemetrygroup-1/telemetryprofile-2', 'node-metrics', 'plant-fast', 'site site-9', '—'],
      ['telemetrygroup-1/telemetryprofile-1', 'node-metrics', 'europe-metrics', 'region europe', 'metricsIntervalSeconds'],
    ],
  );
  assert.equal(rows[1].profileId, 'telemetryprofile-1');
});

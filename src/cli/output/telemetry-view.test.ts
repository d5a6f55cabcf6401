import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '../../api/index.ts';
import { printDescribe } from './describe-view.ts';
import type { Terminal } from './terminal.ts';

function capture(): Terminal & { text: () => string } {
  const lines: string[] = [];
  return { isTTY: false, colour: false, width: 200, write: (t) => lines.push(t), rewrite: (t) => lines.push(t), line: (t = '') => lines.push(t), paint: (_s, t) => t, text: () => lines.join('\n') };
}

const NOW = Date.parse('2026-03-01T12:00:00.000Z');

function host(telemetry: unknown): Resource {
  return {
    kind: 'Host', id: 'host-0a1b2c3d', project: 'default', name: 'edge-01', labels: {}, revision: 9, generation: 1,
    createdAt: '2026-03-01T11:00:00.000Z', updatedAt: '2026-03-01T11:59:00.000Z',
    spec: { desiredState: 'onboarded', siteId: 'site-00000001' },
    status: { currentState: 'onboarded', telemetry },
  } as Resource;
}

test('describe host: a Telemetry section with each group, its setting and where it came from', () => {
  const out = capture();
  const telemetry = {
    version: '0123456789abcdef',
    appliedVersion: '0123456789abcdef',
    appliedAt: '2026-03-01T11:59:30.000Z',
    config: {
      metrics: [{ groupId: 'telemetrygroup-00000001', collector: 'host', groups: ['cpu', 'mem'], intervalSeconds: 15 }],
      logs: [{ groupId: 'telemetrygroup-00000002', collector: 'host', groups: ['syslog'], level: 'warn' }],
    },
    sources: [
      { groupId: 'telemetrygroup-00000001', profileId: 'telemetryprofile-00000001', level: 'instance', targetId: 'inst-00000001', fields: ['metricsIntervalSeconds'] },
      { groupId: 'telemetrygroup-00000002', profileId: 'telemetryprofile-00000002', level: 'site', targetId: 'site-00000001', fields: [] },
      { groupId: 'telemetrygroup-00000002', profileId: 'telemetryprofile-00000003', level: 'region', targetId: 'region-00000001', fields: ['logLevel'] },
    ],
  };
  printDescribe(out, { resource: host(telemetry), reconciled: true, hasStatus: true, events: [], eventCount: 0 }, NOW);
  const text = out.text();
  assert.match(text, /^Telemetry:\s+version 0123456789abcdef \(applied by the agent 30s ago\)$/m);
  assert.match(text, /^\s+metrics\s+telemetrygroup-00000001\s+cpu, mem\s+host\s+every 15 s\s+instance inst-00000001 \(telemetryprofile-00000001\)$/m);
  assert.match(text, /^\s+logs\s+telemetrygroup-00000002\s+syslog\s+host\s+level warn\s+site site-00000001 \(telemetryprofile-00000002\); value from region region-00000001 \(telemetryprofile-00000003\)$/m);
  assert.doesNotMatch(text, /sources:/, 'not repeated in the status tree');
  assert.match(text, /currentState: onboarded/);
});

test('describe host: a pending version, a default value and an empty config say so', () => {
  const out = capture();
  const telemetry = {
    version: 'ffffffffffffffff',
    appliedVersion: '0123456789abcdef',
    config: { metrics: [{ groupId: 'telemetrygroup-00000001', collector: 'host', groups: ['cpu'], intervalSeconds: 60 }], logs: [] },
    sources: [{ groupId: 'telemetrygroup-00000001', profileId: 'telemetryprofile-00000001', level: 'region', targetId: 'region-00000001', fields: [] }],
  };
  printDescribe(out, { resource: host(telemetry), reconciled: true, hasStatus: true, events: [], eventCount: 0 }, NOW);
  assert.match(out.text(), /version ffffffffffffffff \(the agent still runs 0123456789abcdef\)/);
  assert.match(out.text(), /every 60 s\s+region region-00000001 \(telemetryprofile-00000001\); value: default$/m);
  const empty = capture();
  printDescribe(empty, { resource: host({ version: 'eeeeeeeeeeeeeeee', config: { metrics: [], logs: [] }, sources: [] }), reconciled: true, hasStatus: true, events: [], eventCount: 0 }, NOW);
  assert.match(empty.text(), /not applied by the agent yet/);
  assert.match(empty.text(), /no telemetry profile applies: the agent collects nothing/);
});

test('describe host: telemetry groups, profiles and targets by name when they are known', () => {
  const out = capture();
  const names: Record<string, string> = { 'telemetrygroup-00000001': 'node-metrics', 'telemetryprofile-00000001': 'europe-metrics', 'region-00000001': 'eu', 'site-00000001': 'berlin-1' };
  const telemetry = {
    version: 'ffffffffffffffff',
    config: { metrics: [{ groupId: 'telemetrygroup-00000001', collector: 'host', groups: ['cpu'], intervalSeconds: 60 }], logs: [] },
    sources: [{ groupId: 'telemetrygroup-00000001', profileId: 'telemetryprofile-00000001', level: 'region', targetId: 'region-00000001', fields: ['metricsIntervalSeconds'] }],
  };
  printDescribe(out, { resource: host(telemetry), reconciled: true, hasStatus: true, events: [], eventCount: 0, nameOf: (id) => names[id] }, NOW);
  assert.match(out.text(), /^\s+metrics\s+node-metrics\s+cpu\s+host\s+every 60 s\s+region eu \(europe-metrics\)$/m);
  assert.match(out.text(), /siteId: site-00000001 \(berlin-1\)/, 'ids in the spec show their names');
});

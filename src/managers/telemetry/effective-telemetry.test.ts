import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { canonicalJson, configVersion, DEFAULT_LOG_LEVEL, DEFAULT_METRICS_INTERVAL_SECONDS, effectiveTelemetry, type TelemetryGroup, type TelemetryLevel, type TelemetryProfile } from './effective-telemetry.ts';

const hex = (n: number) => n.toString(16).padStart(8, '0');

function group(n: number, type: 'metrics' | 'logs', groups = ['cpu']): TelemetryGroup {
  return { kind: 'TelemetryGroup', id: `telemetrygroup-${hex(n)}`, project: 'p', name: `g${n}`, labels: {}, revision: 1, generation: 1, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z', spec: { type, collector: 'host', groups }, status: {} } as TelemetryGroup;
}

let seq = 0;
function profile(g: TelemetryGroup, target: string, fields: { metricsIntervalSeconds?: number; logLevel?: 'error' | 'warn' | 'info' | 'debug' } = {}, createdAt = '2026-01-01T00:00:00.000Z'): TelemetryProfile {
  const key = target.startsWith('region') ? 'regionId' : target.startsWith('site') ? 'siteId' : 'instanceId';
  const n = ++seq;
  return { kind: 'TelemetryProfile', id: `telemetryprofile-${hex(n)}`, project: 'p', name: `p${n}`, labels: {}, revision: 1, generation: 1, createdAt, updatedAt: createdAt, spec: { target: { [key]: target }, groupId: g.id, ...fields }, status: {} } as TelemetryProfile;
}

const ROOT = 'region-00000001';
const CHILD = 'region-00000002';
const SITE = 'site-00000001';
const INST = 'inst-00000001';
const cpu = group(1, 'metrics', ['cpu', 'mem']);
const syslog = group(2, 'logs', ['syslog']);
const disk = group(3, 'metrics', ['disk']);
const groups = new Map([cpu, syslog, disk].map((g) => [g.id, g]));
const lookup = (id: string) => groups.get(id);

test('the most specific profile of a group wins; fields it leaves unset come from the next less specific one, else the default', () => {
  const levels: TelemetryLevel[] = [
    { level: 'region', targetId: ROOT, profiles: [profile(cpu, ROOT, { metricsIntervalSeconds: 300 }), profile(syslog, ROOT, { logLevel: 'warn' }), profile(disk, ROOT)] },
    { level: 'region', targetId: CHILD, profiles: [profile(cpu, CHILD, { metricsIntervalSeconds: 120 })] },
    { level: 'site', targetId: SITE, profiles: [profile(syslog, SITE)] },
    { level: 'instance', targetId: INST, profiles: [profile(cpu, INST, { metricsIntervalSeconds: 10 })] },
  ];
  const t = effectiveTelemetry(levels, lookup);
  assert.deepEqual(t.config, {
    metrics: [
      { groupId: cpu.id, collector: 'host', groups: ['cpu', 'mem'], intervalSeconds: 10 },
      { groupId: disk.id, collector: 'host', groups: ['disk'], intervalSeconds: DEFAULT_METRICS_INTERVAL_SECONDS },
    ],
    logs: [{ groupId: syslog.id, collector: 'host', groups: ['syslog'], level: 'warn' }],
  });
  const bySource = t.sources.map((s) => [s.groupId, s.level, s.targetId, s.fields.join(',')]);
  assert.deepEqual(bySource, [
    [cpu.id, 'instance', INST, 'metricsIntervalSeconds'],
    [syslog.id, 'site', SITE, ''], // the winner, its level inherited …
    [syslog.id, 'region', ROOT, 'logLevel'], // … from the root region
    [disk.id, 'region', ROOT, ''], // no profile sets it: the default
  ].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
  assert.match(t.version, /^[0-9a-f]{16}$/);
});

test('a field that does not fit the group type is ignored; an unknown group is left out; nothing gives empty lists', () => {
  const wrong = profile(syslog, SITE, { metricsIntervalSeconds: 5 });
  const t = effectiveTelemetry([{ level: 'site', targetId: SITE, profiles: [wrong, profile(group(9, 'metrics'), SITE)] }], lookup);
  assert.deepEqual(t.config, { metrics: [], logs: [{ groupId: syslog.id, collector: 'host', groups: ['syslog'], level: DEFAULT_LOG_LEVEL }] });
  const empty = effectiveTelemetry([], lookup);
  assert.deepEqual(empty.config, { metrics: [], logs: [] });
  assert.deepEqual(empty.sources, []);
  assert.equal(empty.version, configVersion({ logs: [], metrics: [] }));
});

test('two profiles of one group at the same target: the newer wins, whatever order they come in', () => {
  const older = profile(cpu, SITE, { metricsIntervalSeconds: 30 }, '2026-01-01T00:00:00.000Z');
  const newer = profile(cpu, SITE, { metricsIntervalSeconds: 15 }, '2026-02-01T00:00:00.000Z');
  for (const profiles of [[older, newer], [newer, older]]) {
    const t = effectiveTelemetry([{ level: 'site', targetId: SITE, profiles }], lookup);
    assert.equal(t.config.metrics[0].intervalSeconds, 15);
    assert.equal(t.sources[0].profileId, newer.id);
  }
});

test('canonical JSON ignores key order, so the version depends on content only', () => {
  assert.equal(canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }), '{"a":[2,{"c":4,"d":3}],"b":1}');
  assert.equal(configVersion({ metrics: [1], logs: [] }), configVersion({ logs: [], metrics: [1] }));
  assert.notEqual(configVersion({ metrics: [1], logs: [] }), configVersion({ metrics: [2], logs: [] }));
});

// Property: against a plain model (walk the levels from least to most specific, a set field
// overwrites), for random profiles over random levels, in any order within a level.
test('property: every group gets the value of the most specific profile that sets it, in any input order', () => {
  const targets = [
    { level: 'region' as const, targetId: ROOT },
    { level: 'region' as const, targetId: CHILD },
    { level: 'site' as const, targetId: SITE },
    { level: 'instance' as const, targetId: INST },
  ];
  const arbProfile = fc.record({
    at: fc.integer({ min: 0, max: 3 }),
    group: fc.constantFrom(cpu, syslog, disk),
    interval: fc.option(fc.integer({ min: 1, max: 86400 }), { nil: undefined }),
    level: fc.option(fc.constantFrom('error' as const, 'warn' as const, 'info' as const, 'debug' as const), { nil: undefined }),
    day: fc.integer({ min: 1, max: 28 }),
  });
  fc.assert(
    fc.property(fc.array(arbProfile, { maxLength: 12 }), fc.integer(), (specs, shuffleSeed) => {
      const made = specs.map((s) => ({
        at: s.at,
        p: profile(s.group, targets[s.at].targetId, { metricsIntervalSeconds: s.interval, logLevel: s.level }, `2026-01-${String(s.day).padStart(2, '0')}T00:00:00.000Z`),
      }));
      const levels = (order: (xs: TelemetryProfile[]) => TelemetryProfile[]) => targets.map((t, i) => ({ ...t, profiles: order(made.filter((m) => m.at === i).map((m) => m.p)) }));
      const a = effectiveTelemetry(levels((xs) => xs), lookup);
      const b = effectiveTelemetry(levels((xs) => shuffle(xs, shuffleSeed)), lookup);
      assert.deepEqual(b, a, 'input order within a level does not matter');

      // The model: least specific first; within a level, older first; a set field overwrites.
      const model = new Map<string, { interval?: number; level?: string }>();
      for (let i = 0; i < targets.length; i++) {
        const here = made.filter((m) => m.at === i).map((m) => m.p).sort((x, y) => (x.createdAt === y.createdAt ? (x.id < y.id ? -1 : 1) : x.createdAt < y.createdAt ? -1 : 1));
        for (const p of here) {
          const cur = model.get(p.spec.groupId) ?? {};
          model.set(p.spec.groupId, { interval: p.spec.metricsIntervalSeconds ?? cur.interval, level: p.spec.logLevel ?? cur.level });
        }
      }
      const got = new Map<string, unknown>([...a.config.metrics.map((m) => [m.groupId, m.intervalSeconds] as const), ...a.config.logs.map((l) => [l.groupId, l.level] as const)]);
      assert.equal(got.size, model.size);
      for (const [groupId, m] of model) {
        const g = groups.get(groupId)!;
        assert.equal(got.get(groupId), g.spec.type === 'metrics' ? (m.interval ?? DEFAULT_METRICS_INTERVAL_SECONDS) : (m.level ?? DEFAULT_LOG_LEVEL));
      }
      const ids = [...a.config.metrics, ...a.config.logs].map((e) => e.groupId);
      assert.deepEqual(a.config.metrics.map((e) => e.groupId), [...a.config.metrics.map((e) => e.groupId)].sort());
      assert.equal(new Set(ids).size, ids.length);
    }),
    { numRuns: 300 },
  );
});

function shuffle<T>(xs: T[], seed: number): T[] {
  const out = [...xs];
  let s = seed | 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) | 0;
    const j = Math.abs(s) % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

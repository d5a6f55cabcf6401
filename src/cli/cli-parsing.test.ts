import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { KINDS } from '../api/index.ts';
import { changes } from './applier.ts';
import { configPath } from './cli-config.ts';
import { parseDuration } from './duration.ts';
import { kindLabel, resolveKind } from './kind-resolver.ts';
import { parseManifests } from './manifest.ts';
import { applyLabel, applySet, type WritableFields } from './set-values.ts';
import { UsageError } from './usage-error.ts';

// The CLI's parsers, in-process: what users type on the command line and in apply files.

describe('resolveKind', () => {
  test('every kind answers to its path, singular, kind name and id prefix, in any case', () => {
    for (const def of KINDS) {
      for (const spelling of [def.path, kindLabel(def), def.kind, def.kind.toUpperCase(), def.idPrefix]) {
        assert.equal(resolveKind(spelling).kind, def.kind, spelling);
      }
    }
    assert.equal(kindLabel(resolveKind('OsUpdatePolicy')), 'os-update-policy');
  });

  test('an unknown kind is a usage error that lists the kinds', () => {
    assert.throws(() => resolveKind('planets'), (e: unknown) => e instanceof UsageError && /use one of regions, sites, hosts/.test(e.message));
  });
});

describe('--set and --label', () => {
  test('paths nest under spec; a field the schema does not know reads as JSON when it parses', () => {
    const f: WritableFields = {};
    for (const s of ['spec.a.b=3', 'c=true', 'spec.d=["x"]', 'spec.e=plain text', 'spec.a.f=null', 'labels.line=3', 'name=new']) applySet(f, s);
    applySet(f, 'spec.serial=0042', { asString: true });
    assert.deepEqual(f, { spec: { a: { b: 3, f: null }, c: true, d: ['x'], e: 'plain text', serial: '0042' }, labels: { line: '3' }, name: 'new' });
  });

  test("values are read by the field's schema type: a string field keeps 22.04 and 0042 as typed", () => {
    const os = resolveKind('operating-system');
    const f: WritableFields = {};
    for (const s of ['spec.profileVersion=22.04', 'spec.profileName=ubuntu', 'spec.osType=mutable', 'spec.packages=openssl,curl', 'spec.kernelCommand=null']) applySet(f, s, { spec: os.spec });
    assert.deepEqual(f.spec, { profileVersion: '22.04', profileName: 'ubuntu', osType: 'mutable', packages: ['openssl', 'curl'], kernelCommand: null });
    const host = resolveKind('host');
    const h: WritableFields = {};
    for (const s of ['spec.serialNumber=0042', 'spec.autoProvision=true', 'spec.siteId=name:berlin-1', 'spec.uuid=123e4567-e89b-42d3-a456-426614174000']) applySet(h, s, { spec: host.spec });
    assert.deepEqual(h.spec, { serialNumber: '0042', autoProvision: true, siteId: 'name:berlin-1', uuid: '123e4567-e89b-42d3-a456-426614174000' });
    const site = resolveKind('site');
    const s: WritableFields = {};
    for (const x of ['spec.latitude=52.5', 'spec.dnsServers=["10.0.0.53"]', 'spec.proxies={"httpProxy":"http://p:3128"}', 'spec.address=12']) applySet(s, x, { spec: site.spec });
    assert.deepEqual(s.spec, { latitude: 52.5, dnsServers: ['10.0.0.53'], proxies: { httpProxy: 'http://p:3128' }, address: '12' });
    const schedule = resolveKind('schedule');
    const sc: WritableFields = {};
    for (const x of ['spec.repeated.cron=0 2 * * *', 'spec.repeated.durationSeconds=3600', 'spec.target.siteId=name:berlin-1']) applySet(sc, x, { spec: schedule.spec });
    assert.deepEqual(sc.spec, { repeated: { cron: '0 2 * * *', durationSeconds: 3600 }, target: { siteId: 'name:berlin-1' } });
  });

  test('a value that does not fit the field is a usage error naming the field and an example', () => {
    const spec = { site: resolveKind('site').spec, host: resolveKind('host').spec, sched: resolveKind('schedule').spec };
    const cases: [unknown, string, RegExp][] = [
      [spec.site, 'spec.latitude=north', /spec\.latitude is a number, e\.g\. --set spec\.latitude=52\.5/],
      [spec.host, 'spec.autoProvision=yes', /spec\.autoProvision is true or false/],
      [spec.sched, 'spec.repeated.durationSeconds=1.5', /a whole number/],
      [spec.site, 'spec.proxies=plain', /an object in JSON/],
    ];
    for (const [schema, expr, message] of cases) assert.throws(() => applySet({}, expr, { spec: schema }), (e: unknown) => e instanceof UsageError && message.test(e.message), expr);
  });

  test('property: any text set on a string field arrives as typed', () => {
    const os = resolveKind('operating-system');
    fc.assert(
      fc.property(fc.string().filter((x) => x !== 'null'), (text) => {
        assert.equal(applySet({}, `spec.profileVersion=${text}`, { spec: os.spec }).spec!.profileVersion, text);
      }),
    );
  });

  test('labels set with k=v and removed with k-', () => {
    const f: WritableFields = {};
    applyLabel(f, 'line=3', true);
    applyLabel(f, 'old-', true);
    assert.deepEqual(f.labels, { line: '3', old: null });
    assert.throws(() => applyLabel({}, 'old-', false), UsageError);
  });

  test('malformed expressions are usage errors', () => {
    for (const bad of ['novalue', '=3', 'spec.=1', 'status.currentState=on', 'labels.a.b=1']) assert.throws(() => applySet({}, bad), UsageError, bad);
  });
});

describe('parseDuration', () => {
  test('units and combinations', () => {
    assert.equal(parseDuration('30s'), 30);
    assert.equal(parseDuration('15m'), 900);
    assert.equal(parseDuration('24h'), 86400);
    assert.equal(parseDuration('7d'), 604800);
    assert.equal(parseDuration('1h30m'), 5400);
    assert.equal(parseDuration('90'), 90);
    for (const bad of ['', 'h', '3x', '1.5h', '-1h', '0s', '1h 30m']) assert.throws(() => parseDuration(bad), UsageError, bad);
  });

  test('any sum of units parses back to its seconds', () => {
    const unit = fc.constantFrom(['s', 1], ['m', 60], ['h', 3600], ['d', 86400], ['w', 604800]);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 10_000 }), unit), { minLength: 1, maxLength: 4 }), (parts) => {
        const text = parts.map(([n, [u]]) => `${n}${u}`).join('');
        assert.equal(parseDuration(text), parts.reduce((s, [n, [, k]]) => s + n * (k as number), 0));
      }),
    );
  });
});

describe('parseManifests', () => {
  test('documents, lists and { items } (what eim get -o yaml prints); server fields are ignored', () => {
    const text = `kind: region\nname: eu\nspec: {}\n---\n- { kind: site, name: a, spec: { regionId: name:eu } }\n- { kind: site, name: b }\n---\n---\nitems:\n  - { kind: Host, id: host-0a1b2c3d, name: h, revision: 3, labels: { n: 1 }, spec: {}, status: { currentState: onboarded } }\nrevision: 3\n`;
    const ms = parseManifests(text, 'f.yaml');
    assert.deepEqual(ms.map((m) => `${m.kind}/${m.name}@${m.source}`), ['region/eu@f.yaml:1', 'site/a@f.yaml:5', 'site/b@f.yaml:6', 'Host/h@f.yaml:10']);
    assert.deepEqual(ms[3].labels, { n: '1' }, 'label values become strings');
    assert.equal(ms[2].spec, undefined);
  });

  test('JSON is YAML too', () => {
    assert.deepEqual(parseManifests('{"kind":"region","name":"eu","spec":{"parentRegionId":null}}', 'f.json')[0].spec, { parentRegionId: null });
  });

  test('mistakes name the file and line', () => {
    assert.throws(() => parseManifests('kind: region\nname: eu\n---\nkind: site\nnmae: x\n', 'f.yaml'), /f\.yaml:4: unknown field "nmae"/);
    assert.throws(() => parseManifests('kind: region\n', 'f.yaml'), /f\.yaml:1: name is missing/);
    assert.throws(() => parseManifests('kind: [\n', 'f.yaml'), (e: unknown) => e instanceof UsageError && /^f\.yaml:\d+: /.test(e.message));
  });
});

describe('changes (would a merge patch change the resource?)', () => {
  test('cases', () => {
    const spec = { siteId: 'site-0a1b2c3d', desiredState: 'registered', proxies: { httpProxy: 'p' } };
    assert.equal(changes(spec, { siteId: 'site-0a1b2c3d' }), false, 'fields left out are kept');
    assert.equal(changes(spec, { proxies: { httpProxy: 'p' } }), false);
    assert.equal(changes(spec, { proxies: { httpProxy: 'q' } }), true);
    assert.equal(changes(spec, { serialNumber: null }), false, 'removing an absent field changes nothing');
    assert.equal(changes(spec, { desiredState: null }), true);
    assert.equal(changes({ dns: ['a', 'b'] }, { dns: ['a', 'b'] }), false);
    assert.equal(changes({ dns: ['a', 'b'] }, { dns: ['b', 'a'] }), true);
    assert.equal(changes({}, { proxies: {} }), true, 'an absent object becomes an empty one');
  });
});

describe('configPath', () => {
  test('EIM_CONFIG, else XDG_CONFIG_HOME/eim, else ~/.config/eim', () => {
    assert.equal(configPath({ EIM_CONFIG: '/t/c.json', XDG_CONFIG_HOME: '/x' }), '/t/c.json');
    assert.equal(configPath({ XDG_CONFIG_HOME: '/x' }), '/x/eim/config.json');
    assert.match(configPath({}), /\/\.config\/eim\/config\.json$/);
  });
});

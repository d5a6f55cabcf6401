import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isEimError } from './errors.ts';
import { evaluateFilter, parseFilter, parseOrderBy, type FilterNode } from './filter.ts';
import { kindByName } from './registry.ts';

const HOST = kindByName('Host')!;
const cmp = (field: string, op: string, value: unknown): FilterNode => ({ op: 'cmp', field: field.split('.'), cmp: op, value }) as FilterNode;
const str = (value: string, quoted = false) => ({ type: 'string', value, quoted });
const num = (raw: string) => ({ type: 'number', value: Number(raw), raw });

/** Asserts an EimError invalid_argument whose message matches every pattern. */
function rejects(parse: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(parse, (e: unknown) => {
    assert.ok(isEimError(e), `not an EimError: ${String(e)}`);
    assert.equal(e.code, 'invalid_argument');
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

test('empty filter and orderBy', () => {
  assert.equal(parseFilter(''), undefined);
  assert.equal(parseFilter('  \t'), undefined);
  assert.deepEqual(parseOrderBy(' '), []);
});

test('OR binds tighter than AND; juxtaposition is AND', () => {
  const [a, b, c] = ['name = a', 'name = b', 'name = c'].map((t) => parseFilter(t)!);
  assert.deepEqual(parseFilter('name = a AND name = b OR name = c'), { op: 'and', args: [a, { op: 'or', args: [b, c] }] });
  assert.deepEqual(parseFilter('name = a OR name = b name = c'), { op: 'and', args: [{ op: 'or', args: [a, b] }, c] });
  assert.deepEqual(parseFilter('name=a name=b AND name=c'), { op: 'and', args: [a, b, c] });
  assert.deepEqual(parseFilter('(name = a AND name = b) OR name = c'), { op: 'or', args: [{ op: 'and', args: [a, b] }, c] });
  assert.deepEqual(parseFilter('((name = a))'), a);
});

test('NOT and - negate the next term only', () => {
  const [a, b] = ['name = a', 'name = b'].map((t) => parseFilter(t)!);
  assert.deepEqual(parseFilter('NOT name = a OR name = b'), { op: 'or', args: [{ op: 'not', arg: a }, b] });
  assert.deepEqual(parseFilter('-name = a name = b'), { op: 'and', args: [{ op: 'not', arg: a }, b] });
  assert.deepEqual(parseFilter('NOT(name = a)'), { op: 'not', arg: a });
  assert.deepEqual(parseFilter('- - name = a'), { op: 'not', arg: { op: 'not', arg: a } });
});

test('values: bare words, numbers, booleans, null, quoted strings with escapes', () => {
  const value = (text: string) => (parseFilter(`name = ${text}`) as { value: unknown }).value;
  assert.deepEqual(value('edge-*'), str('edge-*'));
  assert.deepEqual(value('host-0a1b2c3d'), str('host-0a1b2c3d'));
  assert.deepEqual(value('2026-11-26T10:00:00Z'), str('2026-11-26T10:00:00Z'));
  assert.deepEqual(value('-2.5e1'), num('-2.5e1'));
  assert.deepEqual(value('007'), num('007'));
  assert.deepEqual(value('true'), { type: 'bool', value: true });
  assert.deepEqual(value('null'), { type: 'null' });
  assert.deepEqual(value('"true"'), str('true', true));
  assert.deepEqual(value(String.raw`"a \"b\" \\ \n"`), str('a "b" \\ \n', true));
  assert.deepEqual(value(String.raw`'it\'s "x"'`), str(`it's "x"`, true));
  assert.deepEqual(value('""'), str('', true));
});

test('fields: top level, labels, nested spec and status, quoted segments, presence', () => {
  assert.deepEqual(parseFilter('labels."example.com/tier":*'), { op: 'has', field: ['labels', 'example.com/tier'] });
  assert.deepEqual(parseFilter('status.hostStatus.indicator=error', HOST), cmp('status.hostStatus.indicator', '=', str('error')));
  assert.deepEqual(parseFilter('revision >= 3'), cmp('revision', '>=', num('3')));
  assert.deepEqual(parseFilter('labels.line != "3"'), cmp('labels.line', '!=', str('3', true)));
  // Below a schema without properties (a record, an array) nothing is checked.
  assert.ok(parseFilter('labels.anything = x', HOST));
  assert.ok(parseFilter('spec.dnsServers.first = x', kindByName('Site')));
});

test('syntax errors are invalid_argument with the position and what is allowed', () => {
  rejects(() => parseFilter('name'), /expected = != < <= > >= or :\* after "name", found the end at 5/);
  rejects(() => parseFilter('name ='), /expected a value after "=" at 7/);
  rejects(() => parseFilter('name = "abc'), /unterminated string "abc at 8/);
  rejects(() => parseFilter(String.raw`name = "a\qb"`), /unknown escape "\\q" at 10 \(allowed:/);
  rejects(() => parseFilter('(name = a'), /expected "\)" at 10 \(to close "\(" at 1\)/);
  rejects(() => parseFilter('name = a)'), /unbalanced "\)" at 9/);
  rejects(() => parseFilter('name = a AND'), /expected a condition, found the end at 13/);
  rejects(() => parseFilter('name = a OR OR name = b'), /expected a condition, found "OR" at 13/);
  rejects(() => parseFilter('name = AND'), /found keyword "AND" at 8 \(quote it/);
  rejects(() => parseFilter('name = a=b'), /"a=b" contains = < > or ! at 8/);
  rejects(() => parseFilter('name < true'), /"true" can only be compared with = or != at 8/);
  rejects(() => parseFilter('revision > null'), /"null" can only be compared with = or !=/);
  rejects(() => parseFilter('name:x'), /expected "\*" after "name:" at 6/);
  rejects(() => parseFilter('revision = 1e999'), /number "1e999" is out of range at 12/);
  rejects(() => parseFilter('name = "\0"'), /NUL character at 9/);
  rejects(() => parseFilter('name = "\ud800"'), /unpaired surrogate/);
  rejects(() => parseFilter('name = a and name = b'), /unknown field "and" at 10 \(AND, OR and NOT are uppercase\)/);
});

test('field errors name the field and the allowed ones', () => {
  rejects(() => parseFilter('spec.sitId = x', HOST), /^filter: unknown field "spec.sitId" at 1 \(Host spec fields: siteId, uuid, serialNumber, desiredState/);
  rejects(() => parseFilter('name = a spec.siteId.x = y', HOST), /unknown field "spec.siteId.x" at 10 \(Host spec.siteId has no subfields\)/);
  rejects(() => parseFilter('status.hardware.cpu = 1', HOST), /Host status.hardware fields: hostname, cpuModel/);
  rejects(() => parseFilter('spec.deviceName = x', kindByName('HostNic')), /unknown field "spec.deviceName" at 1 \(HostNic has no spec\)/);
  rejects(() => parseFilter('owner = x'), /unknown field "owner" at 1 \(fields are name, id, kind, revision, generation, createdAt, updatedAt, labels.<key>, inheritedLabels.<key>, spec.<path>, status.<path>\)/);
  rejects(() => parseFilter('labels.a.b = x'), /unknown field "labels.a.b" at 1 \(use labels.<key>; quote a key with dots/);
  rejects(() => parseFilter('name.first = x'), /name has no subfields/);
  rejects(() => parseFilter('spec = x'), /use spec.<path>/);
  rejects(() => parseFilter('labels."a b" = x'), /bad field name "a b" at 8/);
  rejects(() => parseFilter('= x'), /expected a field, found "=" at 1/);
});

test('bounds: length and nesting', () => {
  rejects(() => parseFilter(`name = "${'x'.repeat(4100)}"`), /too long \(4109 characters\) at 4097 \(at most 4096\)/);
  assert.ok(parseFilter(`${'('.repeat(32)}name = a${')'.repeat(32)}`));
  rejects(() => parseFilter(`${'('.repeat(33)}name = a${')'.repeat(33)}`), /nesting deeper than 32 at 33/);
  rejects(() => parseFilter(`${'NOT '.repeat(33)}name = a`), /nesting deeper than 32 at 129/);
  rejects(() => parseFilter('-'.repeat(4000) + 'name = a'), /nesting deeper than 32/);
});

test('orderBy: fields with asc/desc, same field rules, at most 8', () => {
  assert.deepEqual(parseOrderBy('name desc, createdAt'), [{ field: ['name'], desc: true }, { field: ['createdAt'], desc: false }]);
  assert.deepEqual(parseOrderBy('status.hostStatus.indicator ASC,labels."a.b"', HOST), [
    { field: ['status', 'hostStatus', 'indicator'], desc: false },
    { field: ['labels', 'a.b'], desc: false },
  ]);
  rejects(() => parseOrderBy('name up'), /^orderBy: expected "asc", "desc" or "," after a field, found "up" at 6/);
  rejects(() => parseOrderBy('name,'), /expected a field, found the end at 6/);
  rejects(() => parseOrderBy('name desc createdAt'), /unexpected "c" at 11 \(separate fields with ","\)/);
  rejects(() => parseOrderBy('spec.sitId', HOST), /orderBy: unknown field "spec.sitId" at 1 \(Host spec fields:/);
  rejects(() => parseOrderBy(Array(9).fill('name').join(',')), /more than 8 fields at 41/);
});

test('evaluateFilter: wildcards, loose literals, missing fields, null, ordering', () => {
  const r = {
    name: 'edge-01', revision: 7, createdAt: '2026-11-26T10:00:00Z',
    labels: { line: '3', on: 'true' },
    spec: { count: 3, flag: true, star: 'a*b', list: ['x'], deep: { s: 'z' } },
    status: { nothing: null },
  };
  const yes = (f: string) => assert.equal(evaluateFilter(parseFilter(f)!, r), true, f);
  const no = (f: string) => assert.equal(evaluateFilter(parseFilter(f)!, r), false, f);
  yes('name = edge-*'); yes('name = *01'); no('name = EDGE-*'); yes('name != e*x');
  yes('spec.star = "a*b"'); yes('spec.star = a*'); no('spec.count = 3*');
  yes('labels.line = 3'); yes('spec.count = 3'); yes('spec.count = 3.0'); no('labels.line = 3.0'); no('labels.line = "3.0"'); no('spec.count = "3"');
  yes('labels.on = true'); yes('spec.flag = true'); no('spec.flag = "true"');
  no('spec.missing = x'); yes('spec.missing != x'); no('spec.missing < x'); no('spec.missing:*');
  yes('status.nothing = null'); yes('spec.missing = null'); no('status.nothing:*'); yes('spec.count != null');
  yes('revision > 6.5'); no('revision < 7'); no('name > 3'); yes('createdAt < 2026-11-27');
  yes('spec.deep.s >= z'); no('spec.list.0 = x'); yes('spec.list:*');
  yes('NOT spec.missing = x'); no('NOT spec.missing != x');
  // Code point (UTF-8 byte) order, not UTF-16: U+1F600 sorts after U+FF5A.
  assert.equal(evaluateFilter(parseFilter('name < "\u{1F600}"')!, { name: '\uFF5A' }), true);
});

test('property: parsing arbitrary text throws nothing but EimError', () => {
  const tokens = ['name', 'labels.', 'spec.', 'status.', 'a', '"', "'", '\\', '(', ')', '=', '!=', '<', '>=', ':', '*', ' ', 'AND', 'OR', 'NOT', '-', '.', ',', 'desc', '3', 'true', 'null', '\0', '\ud800', 'é'];
  const text = fc.oneof(fc.string({ unit: fc.constantFrom(...tokens), maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 60 }));
  fc.assert(
    fc.property(text, (t) => {
      for (const parse of [() => parseFilter(t, HOST), () => parseFilter(t), () => parseOrderBy(t, HOST)]) {
        try {
          parse();
        } catch (e) {
          if (!isEimError(e) || e.code !== 'invalid_argument') throw e;
        }
      }
    }),
    { numRuns: 2000 },
  );
});

test('inheritedLabels.<key>: status.inheritedLabels, on kinds that have them only', () => {
  const site = { labels: { env: 'prod' }, status: { inheritedLabels: { env: 'prod', region: 'eu' } } };
  assert.deepEqual(parseFilter('inheritedLabels.region = eu', HOST), cmp('inheritedLabels.region', '=', str('eu')));
  assert.equal(evaluateFilter(parseFilter('inheritedLabels.region = eu', kindByName('Site'))!, site), true);
  assert.equal(evaluateFilter(parseFilter('inheritedLabels.region = us')!, site), false);
  assert.equal(evaluateFilter(parseFilter('inheritedLabels.region:*')!, { labels: { region: 'eu' }, status: {} }), false, 'own labels are not inherited ones until the manager writes them');
  assert.ok(parseFilter('inheritedLabels."example.com/ring" = canary', kindByName('Instance')));
  rejects(() => parseFilter('inheritedLabels.a = x', kindByName('Schedule')), /Schedules have no inherited labels/);
  rejects(() => parseFilter('inheritedLabels.a.b = x', HOST), /use inheritedLabels.<key>/);
});

test('a hostile wildcard pattern (a long run after "*") over a 250 kB string is matched in linear time, and the same as a reference', () => {
  // The alert manager evaluates rule filters in the server process: a pattern that backtracks
  // over every position (9 s here before) would stall the event loop on every evaluation.
  const long = 'a'.repeat(250_000);
  const started = performance.now();
  for (const p of [`*${'a'.repeat(4000)}b*`, `*${'a'.repeat(4000)}b`, `${'a'.repeat(10)}*${'a'.repeat(4000)}*b`, `*a*${'a'.repeat(3000)}*`]) {
    const f = parseFilter(`spec.s = "${p}"`)!;
    assert.equal(evaluateFilter(f, { spec: { s: long } }), !p.includes('b'), p.slice(0, 20));
  }
  assert.ok(performance.now() - started < 500, `took ${Math.round(performance.now() - started)} ms`);
  // `*` matches any run (also empty), everything else itself: the same answers as a RegExp.
  const reference = (p: string, s: string) => new RegExp(`^${p.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's').test(s);
  fc.assert(
    fc.property(fc.stringMatching(/^[ab*]{0,8}$/), fc.stringMatching(/^[ab]{0,10}$/), (p, s) => {
      assert.equal(evaluateFilter(parseFilter(`name = "${p}"`)!, { name: s }), p.includes('*') ? reference(p, s) : s === p);
    }),
    { numRuns: 3000 },
  );
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostMatches, HostSelectorCache, parseHostSelector, selectorProblem } from './host-selector.ts';

test('host selectors: parse against the Host schema, match own and inherited labels, say what is wrong', () => {
  const canaryEu = parseHostSelector('inheritedLabels.env = "canary" AND inheritedLabels.geo = eu');
  const host = (labels: Record<string, string>, inherited: Record<string, string>) => ({ name: 'h', labels, spec: {}, status: { inheritedLabels: inherited } });
  assert.equal(hostMatches(canaryEu, host({}, { env: 'canary', geo: 'eu' })), true);
  assert.equal(hostMatches(canaryEu, host({ env: 'canary', geo: 'eu' }, {})), false, 'own labels alone are not inherited ones');
  assert.equal(hostMatches(parseHostSelector('labels.env = canary OR spec.siteId = site-0a1b2c3d'), { name: 'h', labels: {}, spec: { siteId: 'site-0a1b2c3d' }, status: {} }), true);
  assert.equal(selectorProblem('inheritedLabels.env = canary', 'spec.target.selector'), undefined);
  assert.match(selectorProblem('spec.colour = red', 'spec.target.selector')!, /^spec\.target\.selector: filter: unknown field "spec\.colour" at 1 \(Host spec fields:/);
  assert.match(selectorProblem('   ', 'spec.target.selector')!, /is empty/);
  assert.equal(selectorProblem(undefined, 'x'), undefined);
  const cache = new HostSelectorCache(2);
  assert.equal(cache.get('labels.a = b'), cache.get('labels.a = b'), 'parsed once');
  assert.equal(cache.get('labels.a ='), undefined);
});

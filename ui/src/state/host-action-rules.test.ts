import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostActionRules } from './host-action-rules.ts';

const host = (desiredState: string, currentState?: string) => ({ spec: { desiredState }, status: currentState ? { currentState } : {} });

test('Onboard is offered only where the server allows it, and says why not', () => {
  assert.deepEqual(hostActionRules(host('registered', 'registered')).onboard, { enabled: true });
  const untrusted = hostActionRules(host('untrusted', 'untrusted'));
  assert.equal(untrusted.onboard.enabled, false);
  assert.match(untrusted.onboard.why!, /^Onboard is not possible: the host is untrusted .*; from there it may only be deleted$/);
  assert.match(untrusted.invalidate.why!, /already asked/);
  assert.equal(hostActionRules(host('onboarded', 'onboarded')).onboard.enabled, false);
  assert.equal(hostActionRules(host('onboarded', 'onboarded')).invalidate.enabled, true);
  // Invalidate from registered is refused by the server (registered → registered, onboarded, deleted).
  assert.match(hostActionRules(host('registered', 'registered')).invalidate.why!, /the host is registered; from there it may only be onboarded or deleted/);
  assert.match(hostActionRules(host('deleted', 'onboarded')).onboard.why!, /being deleted/);
  // Nothing reported yet: anything goes.
  assert.equal(hostActionRules(host('registered')).invalidate.enabled, true);
});

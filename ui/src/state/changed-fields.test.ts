import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changedFields } from './changed-fields.ts';

const t = (message: string, timestamp: string, indicator = 'idle') => ({ message, indicator, timestamp });

test('what changed: fields with before and after, timestamps left out', () => {
  assert.deepEqual(changedFields({ spec: { desiredState: 'registered' } }, { spec: { desiredState: 'onboarded' } }), ['spec.desiredState: registered → onboarded']);
  assert.deepEqual(
    changedFields({ status: { hostStatus: t('running', 'T1') } }, { status: { hostStatus: t('no connection', 'T2', 'error') } }),
    ['status.hostStatus.message: running → no connection', 'status.hostStatus.indicator: idle → error'],
  );
});

test('an agent enrolling again (the same registration status, a new time) says so instead of nothing', () => {
  const before = { status: { registrationStatus: t('agent enrolled from edge-01', '2026-11-26T10:00:00Z'), lastSeenAt: 'T1' } };
  const after = { status: { registrationStatus: t('agent enrolled from edge-01', '2026-11-26T11:00:00Z'), lastSeenAt: 'T2' } };
  assert.deepEqual(changedFields(before, after), ['status.registrationStatus: agent enrolled from edge-01 (written again)']);
});

test('only bookkeeping changed: it is named rather than "nothing"', () => {
  assert.deepEqual(changedFields({ status: { lastSeenAt: 'T1' }, revision: 1 }, { status: { lastSeenAt: 'T2' }, revision: 2 }), ['status.lastSeenAt: T1 → T2']);
  assert.deepEqual(changedFields({ revision: 1, spec: {} }, { revision: 2, spec: {} }), []);
});

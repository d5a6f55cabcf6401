import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '../api/resource.ts';
import { explainOs } from './os-explanation.ts';

const NAMES: Record<string, string> = { 'os-00000022': 'ubuntu-22-04', 'os-00000024': 'ubuntu-24-04', 'osupdatepolicy-0000000a': 'to-24-04', 'osupdatepolicy-0000000b': 'nightly' };
const nameOf = (_kind: string, id: string | undefined) => (id ? (NAMES[id] ?? id) : '—');
const inst = (spec: Record<string, unknown>, status: Record<string, unknown>) => ({ spec: { hostId: 'host-1', desiredState: 'running', ...spec }, status });
const run = (status: Record<string, unknown>, updatedAt = '2026-11-26T10:00:00.000Z') =>
  ({ kind: 'OsUpdateRun', id: `osupdaterun-${updatedAt}`, updatedAt, spec: {}, status: { instanceId: 'inst-1', ...status } }) as unknown as Resource;

test('after an update the OS row is not drift: it says which policy updated it (from the run), and from what', () => {
  const updated = inst({ osId: 'os-00000022' }, { currentOsId: 'os-00000024', provisionedOsId: 'os-00000022' });
  const runs = [
    run({ policyId: 'osupdatepolicy-0000000b', targetOsId: 'os-00000024', phase: 'rolled-back' }, '2026-11-26T11:00:00.000Z'),
    run({ policyId: 'osupdatepolicy-0000000a', targetOsId: 'os-00000024', fromOsId: 'os-00000022', phase: 'done', endedAt: '2026-11-26T10:05:00.000Z' }),
  ];
  assert.deepEqual(explainOs(updated, runs, nameOf), { differs: false, note: 'updated by policy to-24-04 (from ubuntu-22-04); spec.osId stays what was installed' });
  // Without the run (not loaded yet, or gone), the attached policy names it.
  assert.equal(explainOs({ ...updated, spec: { ...updated.spec, osUpdatePolicyId: 'osupdatepolicy-0000000b' } }, [], nameOf).note, 'updated by policy nightly (from ubuntu-22-04); spec.osId stays what was installed');
  assert.equal(explainOs(updated, [], nameOf).differs, false);
});

test('real drift is still highlighted: a new spec.osId not installed yet, or nothing installed', () => {
  assert.deepEqual(explainOs(inst({ osId: 'os-00000024' }, { currentOsId: 'os-00000022', provisionedOsId: 'os-00000022' }), [], nameOf), {
    differs: true,
    note: 'reinstall pending: the spec asks for ubuntu-24-04',
  });
  assert.deepEqual(explainOs(inst({ osId: 'os-00000022' }, {}), [], nameOf), { differs: true, note: 'ubuntu-22-04 is not installed yet' });
  assert.deepEqual(explainOs(inst({ osId: 'os-00000022' }, { currentOsId: 'os-00000022', provisionedOsId: 'os-00000022' }), [], nameOf), { differs: false });
});

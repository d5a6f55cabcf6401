import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { InventoryEvent, Resource } from '../../api/index.ts';
import { printDescribe } from './describe-view.ts';
import { instanceOsSection } from './os-view.ts';
import { StatusHistory } from './status-history.ts';
import type { Terminal } from './terminal.ts';

function capture(width = 200): Terminal & { text: () => string } {
  const lines: string[] = [];
  return { isTTY: false, colour: false, width, write: (t) => lines.push(t), rewrite: (t) => lines.push(t), line: (t = '') => lines.push(t), paint: (_s, t) => t, text: () => lines.join('\n') };
}

const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const at = (s: number) => new Date(NOW - 3600_000 + s * 1000).toISOString();
const triple = (indicator: string, message: string, s: number) => ({ indicator, message, timestamp: at(s) });

function instance(status: Record<string, unknown>, spec: Record<string, unknown> = { hostId: 'host-00000001', osId: 'os-00000022', desiredState: 'running' }): Resource {
  return {
    kind: 'Instance', id: 'inst-00000001', project: 'default', name: 'edge-01', labels: {}, revision: 9, generation: 1,
    createdAt: at(0), updatedAt: at(10), spec, status,
  } as Resource;
}

const event = (revision: number, s: number, status: Record<string, unknown>, actor = 'instance-manager'): InventoryEvent =>
  ({ type: 'UPDATED', revision, kind: 'Instance', id: 'inst-00000001', project: 'default', actor, at: at(s), object: instance(status) }) as InventoryEvent;

describe('describe: status changes from the event log', () => {
  test('each retry, the error and the recovery show; progress of one step is one line', () => {
    const h = new StatusHistory();
    const events = [
      event(1, 1, { provisioningStatus: triple('in_progress', 'installing ubuntu 22.04', 1), instanceStatus: triple('in_progress', 'provisioning', 1) }),
      event(2, 2, { provisioningStatus: triple('in_progress', 'installing ubuntu 22.04: 25 %', 2), instanceStatus: triple('in_progress', 'provisioning', 1) }),
      event(3, 3, { provisioningStatus: triple('in_progress', 'installing ubuntu 22.04: 50 %', 3), instanceStatus: triple('in_progress', 'provisioning', 1) }),
      event(4, 4, { provisioningStatus: triple('in_progress', 'retrying (attempt 1): installing ubuntu 22.04 failed: the image server timed out', 4) }),
      event(5, 9, { provisioningStatus: triple('in_progress', 'retrying (attempt 2): installing ubuntu 22.04 failed: the image server timed out', 9) }),
      event(6, 20, { provisioningStatus: triple('idle', 'provisioned ubuntu 22.04', 20), instanceStatus: triple('idle', 'running', 20) }),
      event(7, 21, { provisioningStatus: triple('idle', 'provisioned ubuntu 22.04', 20), instanceStatus: triple('idle', 'running', 20) }),
    ];
    for (const ev of events) h.add(ev);
    assert.deepEqual(h.changes.map((c) => `${c.field}: ${c.message}`), [
      'provisioningStatus: installing ubuntu 22.04: 50 %',
      'instanceStatus: provisioning',
      'provisioningStatus: retrying (attempt 1): installing ubuntu 22.04 failed: the image server timed out',
      'provisioningStatus: retrying (attempt 2): installing ubuntu 22.04 failed: the image server timed out',
      'provisioningStatus: provisioned ubuntu 22.04',
      'instanceStatus: running',
    ]);
    const out = capture();
    printDescribe(out, { resource: instance(events[5].object.status), reconciled: true, hasStatus: true, events: [], eventCount: 7, sections: [h.section(out, NOW)!] }, NOW);
    assert.match(out.text(), /^Status changes:\s+6, oldest first \(from the event log\)$/m);
    assert.match(out.text(), /^\s+\d+m\s+provisioningStatus\s+in_progress\s+retrying \(attempt 2\): installing ubuntu 22\.04 failed: the image server timed out\s+instance-manager$/m);
  });

  test('a long history keeps the last changes and says how many there were', () => {
    const h = new StatusHistory(3);
    for (let i = 1; i <= 10; i++) h.add(event(i, i, { provisioningStatus: triple('in_progress', `retrying (attempt ${i}): no`, i) }));
    assert.equal(h.count, 10);
    assert.deepEqual(h.changes.map((c) => c.revision), [8, 9, 10]);
    assert.match(h.section(capture(), NOW)!.summary!, /^last 3 of 10/);
  });
});

describe('describe instance: the operating system', () => {
  const names: Record<string, string> = { 'os-00000022': 'ubuntu-22.04', 'os-00000024': 'ubuntu-24.04', 'osupdatepolicy-00000001': 'to-24-04' };
  const run = { kind: 'OsUpdateRun', id: 'osupdaterun-00000001', name: 'edge-01-to-24-04', status: { instanceId: 'inst-00000001', policyId: 'osupdatepolicy-00000001', phase: 'done', targetOsId: 'os-00000024', endedAt: at(1800) } } as unknown as Resource;

  test('after an update, desired 22.04 and current 24.04 are explained, not shown as drift', () => {
    const inst = instance({ currentOsId: 'os-00000024', provisionedOsId: 'os-00000022', currentState: 'running' });
    const s = instanceOsSection(inst, [run], (id) => names[id], NOW)!;
    assert.equal(s.summary, 'runs ubuntu-24.04, updated by policy to-24-04 (spec.osId ubuntu-22.04 is what was installed first)');
    assert.match(s.lines.join('\n'), /^updated by policy to-24-04 30m ago \(edge-01-to-24-04\): .*this is not drift and nothing is reinstalled/m);
    assert.match(s.lines[0], /^desired \(spec\.osId\):\s+ubuntu-22\.04 \(os-00000022\)$/);
  });

  test('as desired; a changed spec.osId; nothing installed yet', () => {
    assert.equal(instanceOsSection(instance({ currentOsId: 'os-00000022' }), [], (id) => names[id])!.summary, 'runs ubuntu-22.04, as desired');
    const changed = instance({ currentOsId: 'os-00000022', provisionedOsId: 'os-00000022' }, { hostId: 'host-00000001', osId: 'os-00000024', desiredState: 'running' });
    assert.equal(instanceOsSection(changed, [], (id) => names[id])!.summary, 'runs ubuntu-22.04; ubuntu-24.04 is to be installed');
    assert.equal(instanceOsSection(instance({}), []), undefined);
  });

  test('sizes in bytes read as sizes', () => {
    const out = capture();
    const host = { ...instance({}), kind: 'Host', spec: { desiredState: 'onboarded' }, status: { hardware: { memoryBytes: 34359738368 } } } as Resource;
    printDescribe(out, { resource: host, reconciled: true, hasStatus: true, events: [], eventCount: 0 }, NOW);
    assert.match(out.text(), /memoryBytes: 32 GiB \(34359738368 bytes\)/);
  });
});

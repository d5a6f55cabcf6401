import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InventoryEvent, Resource } from '../../api/index.ts';
import { eventLine, LastSeen } from './event-line.ts';
import type { Terminal } from './terminal.ts';

const out: Terminal = { isTTY: false, colour: false, write() {}, line() {}, rewrite() {}, paint: (_s, t) => t };
const T = '2026-03-01T12:00:00.000Z';
const inst = (revision: number, status: Record<string, unknown>, spec: Record<string, unknown> = { desiredState: 'running' }): Resource =>
  ({ kind: 'Instance', id: 'inst-0a1b2c3d', project: 'default', name: 'edge-01', labels: {}, revision, generation: 1, createdAt: T, updatedAt: T, spec, status }) as Resource;
const ev = (type: InventoryEvent['type'], object: Resource, actor = 'instance-manager'): InventoryEvent =>
  ({ type, revision: object.revision, kind: 'Instance', id: object.id, project: 'default', object, actor, at: T }) as InventoryEvent;
const triple = (indicator: string, message: string) => ({ indicator, message, timestamp: T });

test('eim watch: an update says what changed, a first update the states now, in a bounded memory', () => {
  const seen = new LastSeen(2);
  const line = (e: InventoryEvent) => eventLine(out, e, 'instance', seen.swap(e));
  assert.equal(line(ev('CREATED', inst(1, {}))), '1 CREATED instance edge-01 (inst-0a1b2c3d) by instance-manager');
  assert.equal(
    line(ev('UPDATED', inst(2, { provisioningStatus: triple('in_progress', 'retrying (attempt 1): installing ubuntu 22.04 failed: timed out'), observedGeneration: 1 }))),
    '2 UPDATED instance edge-01 (inst-0a1b2c3d) by instance-manager: provisioningStatus "retrying (attempt 1): installing ubuntu 22.04 failed: timed out" (in_progress)',
  );
  assert.equal(
    line(ev('UPDATED', inst(3, { provisioningStatus: triple('idle', 'provisioned ubuntu 22.04'), currentState: 'running', observedGeneration: 1 }))),
    '3 UPDATED instance edge-01 (inst-0a1b2c3d) by instance-manager: provisioningStatus "provisioned ubuntu 22.04" (idle); currentState (unset) → running',
  );
  assert.equal(
    line(ev('UPDATED', inst(4, { provisioningStatus: triple('idle', 'provisioned ubuntu 22.04'), currentState: 'running', observedGeneration: 1 }, { desiredState: 'untrusted' }), 'admin (admin)')),
    '4 UPDATED instance edge-01 (inst-0a1b2c3d) by admin (admin): spec.desiredState running → untrusted',
  );
  assert.equal(
    line(ev('UPDATED', inst(5, { provisioningStatus: triple('idle', 'provisioned ubuntu 22.04'), currentState: 'running', observedGeneration: 2 }, { desiredState: 'untrusted' }))),
    '5 UPDATED instance edge-01 (inst-0a1b2c3d) by instance-manager: reconciled generation 2',
  );
  // Never seen before: the states now.
  const other = { ...inst(5, { hostStatus: triple('error', 'no connection'), currentState: 'onboarded' }), id: 'inst-ffffffff', name: 'edge-02' } as Resource;
  assert.equal(line(ev('UPDATED', other)), '5 UPDATED instance edge-02 (inst-ffffffff) by instance-manager: now desiredState running; hostStatus "no connection" (error); currentState onboarded');
  // An edit of a resource never seen before names what is now asked for.
  const powered = { ...inst(6, { hostStatus: triple('idle', 'running') }, { desiredState: 'onboarded', desiredPowerState: 'off' }), id: 'host-0a0a0a0a', name: 'edge-03' } as Resource;
  assert.equal(line(ev('UPDATED', powered, 'admin (admin)')), '6 UPDATED instance edge-03 (host-0a0a0a0a) by admin (admin): now desiredState onboarded; desiredPowerState off; hostStatus "running" (idle)');
  const third = { ...other, id: 'inst-eeeeeeee' } as Resource;
  seen.swap(ev('CREATED', third));
  assert.equal(seen.size, 2, 'the oldest is forgotten past the bound');
  assert.equal(line(ev('DELETED', third)), '5 DELETED instance edge-02 (inst-eeeeeeee) by instance-manager');
  assert.equal(seen.size, 1);
});

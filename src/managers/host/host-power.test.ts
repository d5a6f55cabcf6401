import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '../../reconcile/index.ts';
import type { CommandResource, CommandTracker } from '../shared/command-tracker.ts';
import type { Host } from '../shared/manager-deps.ts';
import { StatusPatch } from '../shared/status-patch.ts';
import { HostPower } from './host-power.ts';

const at = '2026-12-06T00:00:00.000Z';
const host = (status: Record<string, unknown>, desiredPowerState: string): Host =>
  ({ kind: 'Host', id: 'host-0000000a', project: 'default', name: 'h', labels: {}, revision: 5, generation: 3, createdAt: at, updatedAt: at, spec: { desiredState: 'onboarded', desiredPowerState }, status }) as unknown as Host;
const command = (state: string, answer: string): CommandResource =>
  ({ kind: 'Command', id: 'cmd-0000000b', project: 'default', name: 'c', labels: {}, revision: 4, generation: 1, createdAt: at, updatedAt: at, spec: { hostId: 'host-0000000a', type: 'power', params: { state }, ownerId: 'host-0000000a' }, status: { state: answer } }) as unknown as CommandResource;

/** Just the CommandTracker calls HostPower makes, recorded. */
function tracker(current: CommandResource | undefined) {
  const calls: string[] = [];
  const t = {
    find: () => current,
    remove: async (c: CommandResource) => void calls.push(`remove ${c.spec.params.state}`),
    create: async (r: { params: { state: string } }) => (calls.push(`create ${r.params.state}`), command(r.params.state, 'pending')),
  };
  return { t: t as unknown as CommandTracker, calls };
}

const running = { indicator: 'idle', message: 'running', timestamp: at };

test('a power command superseded after it succeeded: the state it left stands, and the new one is sent from there', async () => {
  // off succeeded, the manager had not written it yet, and the user wants on again.
  const { t, calls } = tracker(command('off', 'succeeded'));
  const h = host({ hostStatus: running, currentPowerState: 'on', powerStatus: { indicator: 'in_progress', message: 'powering off: sent to the agent', timestamp: at } }, 'on');
  const patch = new StatusPatch(h, systemClock);
  await new HostPower(t, systemClock).reconcile(h, patch, []);
  assert.deepEqual(calls, ['remove off', 'create on'], 'the machine is off: power it on');
  assert.equal(patch.patch.currentPowerState, 'off');
});

test('a superseded command that had not succeeded changes nothing it did not do', async () => {
  const { t, calls } = tracker(command('off', 'running'));
  const h = host({ hostStatus: running, currentPowerState: 'on', powerStatus: { indicator: 'idle', message: 'power on', timestamp: at } }, 'on');
  const patch = new StatusPatch(h, systemClock);
  await new HostPower(t, systemClock).reconcile(h, patch, []);
  assert.deepEqual(calls, ['remove off'], 'still on: nothing to send');
  assert.equal(patch.patch.currentPowerState, undefined);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TERMINAL_SUFFIX } from '../../reconcile/index.ts';
import { openHarness, sleep, until } from '../testing/manager-harness.ts';
import { INVALIDATED_MESSAGE } from './host-manager.ts';
import { POWER_QUIET_MS } from './host-power.ts';

test('hosts wait for their agent, then become registered or onboarded', async () => {
  const h = await openHarness();
  try {
    const a = await h.host('edge-a', { desiredState: 'onboarded' });
    const b = await h.host('edge-b', { desiredState: 'registered', uuid: undefined, serialNumber: 'SN-B' });
    const waiting = await until(async () => {
      const x = await h.get('Host', a.id);
      return x.status.onboardingStatus?.indicator === 'in_progress' && x;
    }, 'waiting status');
    assert.equal(waiting.status.onboardingStatus?.message, `waiting for the agent to enroll (uuid ${a.spec.uuid})`);
    assert.equal(waiting.status.currentState, undefined);
    await until(async () => (await h.get('Host', b.id)).status.onboardingStatus?.message === 'waiting for the agent to enroll (serial SN-B)', 'serial in the message');
    // A vendor placeholder is no identity: the host says so while it waits.
    const c = await h.host('edge-c', { desiredState: 'registered', serialNumber: 'To Be Filled By O.E.M.' });
    await until(
      async () =>
        (await h.get('Host', c.id)).status.onboardingStatus?.message ===
        `waiting for the agent to enroll (uuid ${c.spec.uuid}; serial number "To Be Filled By O.E.M." is a vendor placeholder, ignored for matching)`,
      'placeholder named in the message',
    );

    await h.sb.enroll(a);
    await h.sb.enroll(b);
    const ha = await until(async () => {
      const x = await h.get('Host', a.id);
      return x.status.currentState === 'onboarded' && x;
    }, 'a onboarded');
    assert.deepEqual([ha.status.onboardingStatus?.indicator, ha.status.onboardingStatus?.message, ha.status.observedGeneration], ['idle', 'onboarded', 1]);
    const hb = await until(async () => {
      const x = await h.get('Host', b.id);
      return x.status.currentState === 'registered' && x;
    }, 'b registered');
    assert.deepEqual([hb.status.onboardingStatus?.indicator, hb.status.onboardingStatus?.message], ['idle', 'registered']);

    // registered → onboarded by the user: no agent involvement needed any more.
    await h.user.update('default', 'Host', b.id, { spec: { desiredState: 'onboarded' } });
    await until(async () => (await h.get('Host', b.id)).status.observedGeneration === 2, 'b onboarded at generation 2');
    assert.equal((await h.get('Host', b.id)).status.currentState, 'onboarded');
    assert.equal((await h.user.list('default', 'Instance')).totalSize, 0, 'no autoProvision, no instance');
  } finally {
    await h.close();
  }
});

test('autoProvision: a clear error without a default OS profile, then an instance of the one labelled default=true', async () => {
  const h = await openHarness({ osProfileRetryMs: 100 });
  try {
    const os1 = await h.os('ubuntu');
    await h.os('debian');
    const host = await h.host('edge-auto', { autoProvision: true });
    await h.sb.enroll(host);
    const err = await until(async () => {
      const x = await h.get('Host', host.id);
      return x.status.onboardingStatus?.indicator === 'error' && x;
    }, 'error about the default OS');
    assert.equal(err.status.currentState, 'onboarded', 'onboarding itself succeeded');
    assert.match(err.status.onboardingStatus!.message, /cannot auto-provision.*has 2 OS profiles and none is labelled default=true; label one OS profile default=true/);

    await h.user.update('default', 'OperatingSystem', os1.id, { labels: { default: 'true' } });
    const inst = await until(async () => (await h.user.list('default', 'Instance')).items[0], 'instance created');
    assert.deepEqual([inst.name, inst.spec.hostId, inst.spec.osId, inst.spec.desiredState, inst.labels['auto-provisioned']], ['edge-auto', host.id, os1.id, 'running', 'true']);
    await until(async () => (await h.get('Host', host.id)).status.onboardingStatus?.indicator === 'idle', 'error cleared');
    const running = await until(async () => {
      const x = await h.get('Instance', inst.id);
      return x.status.currentState === 'running' && x;
    }, 'instance running');
    assert.equal(running.status.currentOsId, os1.id);
    await sleep(200);
    assert.equal((await h.user.list('default', 'Instance')).totalSize, 1, 'exactly one instance');
  } finally {
    await h.close();
  }
});

test('the only OS profile of a project is its default', async () => {
  const h = await openHarness();
  try {
    const os = await h.os('only');
    const host = await h.host('edge-1', { autoProvision: true });
    await h.sb.enroll(host);
    const inst = await until(async () => (await h.user.list('default', 'Instance')).items[0], 'instance created');
    assert.equal(inst.spec.osId, os.id);
  } finally {
    await h.close();
  }
});

test('power on, off and reset through commands; an offline host waits; an unrecoverable failure is not retried', async () => {
  const h = await openHarness();
  try {
    const host = await h.host('edge-p');
    await h.sb.enroll(host);
    await until(async () => (await h.get('Host', host.id)).status.currentState === 'onboarded', 'onboarded');

    await h.user.update('default', 'Host', host.id, { spec: { desiredPowerState: 'off' } });
    let x = await until(async () => {
      const y = await h.get('Host', host.id);
      return y.status.currentPowerState === 'off' && y;
    }, 'power off');
    assert.deepEqual([x.status.powerStatus?.indicator, x.status.powerStatus?.message], ['idle', 'power off']);
    assert.deepEqual(h.sb.of(host.id, 'power').map((d) => d.params.state), ['off']);
    await until(async () => (await h.commandsOf(host.id)).length === 0, 'power command removed');

    // Offline: the command waits for the connection (an event), then runs.
    await h.sb.disconnect(host.id);
    await h.user.update('default', 'Host', host.id, { spec: { desiredPowerState: 'on' } });
    x = await until(async () => {
      const y = await h.get('Host', host.id);
      return y.status.powerStatus?.message === 'powering on: waiting for the host to connect' && y;
    }, 'waiting for the connection');
    assert.equal(x.status.powerStatus?.indicator, 'in_progress');
    await h.sb.reconnect(host.id);
    await until(async () => (await h.get('Host', host.id)).status.currentPowerState === 'on', 'power on after reconnect');

    // reset is an action: done once, ends "on", and is not repeated.
    await h.user.update('default', 'Host', host.id, { spec: { desiredPowerState: 'reset' } });
    x = await until(async () => {
      const y = await h.get('Host', host.id);
      return y.status.powerStatus?.message === 'reset done; power on' && y;
    }, 'reset done');
    assert.equal(x.status.currentPowerState, 'on');
    await sleep(300);
    assert.deepEqual(h.sb.of(host.id, 'power').map((d) => d.params.state), ['off', 'on', 'reset']);

    // Unrecoverable: error with the agent's message, no further command until the spec changes.
    h.sb.answer = () => ({ outcome: 'unrecoverable', message: 'BMC refused the request' });
    await h.user.update('default', 'Host', host.id, { spec: { desiredPowerState: 'off' } });
    x = await until(async () => {
      const y = await h.get('Host', host.id);
      return y.status.powerStatus?.indicator === 'error' && y;
    }, 'power error');
    assert.equal(x.status.powerStatus?.message, `powering off failed: BMC refused the request; check the host's power controller, then set spec.desiredPowerState again${TERMINAL_SUFFIX}`);
    const tries = h.sb.of(host.id, 'power').length;
    await sleep(500);
    assert.equal(h.sb.of(host.id, 'power').length, tries, 'parked: no further power command');
    assert.equal((await h.get('Host', host.id)).status.currentPowerState, 'on');

    h.sb.answer = () => ({ outcome: 'succeed' });
    await h.user.update('default', 'Host', host.id, { spec: { desiredPowerState: 'on' } });
    await until(async () => (await h.get('Host', host.id)).status.powerStatus?.message === 'power on', 'back to on (already on: no command)');
    await h.user.update('default', 'Host', host.id, { spec: { desiredPowerState: 'off' } });
    await until(async () => (await h.get('Host', host.id)).status.currentPowerState === 'off', 'off after the spec changed');
  } finally {
    await h.close();
  }
});

test('a recoverable power failure is retried with backoff, then succeeds', async () => {
  const h = await openHarness({ backoff: { baseMs: 60, factor: 4, jitter: 0 } });
  try {
    const host = await h.host('edge-r');
    await h.sb.enroll(host);
    h.sb.answer = (_c, nth) => (nth <= 2 ? { outcome: 'recoverable', message: 'BMC busy' } : { outcome: 'succeed' });
    await h.user.update('default', 'Host', host.id, { spec: { desiredPowerState: 'off' } });
    await until(async () => (await h.get('Host', host.id)).status.currentPowerState === 'off', 'off after retries');
    const d = h.sb.of(host.id, 'power');
    assert.equal(d.length, 3);
    // Each wait is at least its backoff delay (60, then 240 ms); load can only add to them.
    const gaps = [d[1].at - d[0].at, d[2].at - d[1].at];
    assert.ok(gaps[0] >= 60 && gaps[1] >= 240, `delays grow: ${gaps.join(', ')} ms`);
    const events = await h.user.events({ project: 'default', id: host.id, limit: 1000 });
    const messages = events.events.map((e) => (e.object.status as { powerStatus?: { message: string } }).powerStatus?.message);
    assert.ok(messages.includes('retrying (attempt 1): powering off failed: BMC busy'));
    assert.ok(messages.includes('retrying (attempt 2): powering off failed: BMC busy'));
  } finally {
    await h.close();
  }
});

test('invalidate → untrusted; delete → the row goes with its children', async () => {
  const h = await openHarness();
  try {
    const os = await h.os('ubuntu', { default: 'true' });
    const bad = await h.host('edge-bad');
    await h.sb.enroll(bad);
    await until(async () => (await h.get('Host', bad.id)).status.currentState === 'onboarded', 'onboarded');
    await h.user.update('default', 'Host', bad.id, { spec: { desiredState: 'untrusted' } });
    const x = await until(async () => {
      const y = await h.get('Host', bad.id);
      return y.status.currentState === 'untrusted' && y;
    }, 'untrusted');
    assert.deepEqual([x.status.onboardingStatus?.indicator, x.status.onboardingStatus?.message, x.status.observedGeneration], ['idle', INVALIDATED_MESSAGE, 2]);

    const host = await h.host('edge-del', { autoProvision: true });
    await h.sb.enroll(host);
    const inst = await until(async () => (await h.user.list('default', 'Instance', { filter: `spec.hostId = "${host.id}"` })).items[0], 'instance');
    await until(async () => (await h.get('Instance', inst.id)).status.currentState === 'running', 'instance running');
    assert.equal(inst.spec.osId, os.id);
    const mgr = h.svc.as({ subject: 'southbound', grants: [{ project: '*', role: 'manager' }] });
    const nic = await mgr.create('default', 'HostNic', { name: `${host.id}-eth0`, status: { hostId: host.id, deviceName: 'eth0' } });
    h.sb.answer = () => ({ outcome: 'never' });
    await h.user.update('default', 'Host', host.id, { spec: { desiredPowerState: 'off' } });
    await until(async () => (await h.commandsOf(host.id)).length === 1, 'a power command in flight');

    const del = await h.user.delete('default', 'Host', host.id);
    assert.equal(del.removed, false, 'two-phase');
    await until(async () => (await h.user.list('default', 'Host', { filter: `id = "${host.id}"` })).totalSize === 0, 'host row removed');
    for (const [kind, id] of [['Instance', inst.id], ['HostNic', nic.id]] as const) {
      await assert.rejects(h.user.get('default', kind, id), { code: 'not_found' }, `${kind} removed with the host`);
    }
    assert.equal((await h.user.list('default', 'Command', { filter: `spec.hostId = "${host.id}"` })).totalSize, 0);
    const events = await h.user.events({ project: 'default', id: host.id, limit: 1000 });
    assert.equal(events.events.at(-1)?.type, 'DELETED');
    assert.equal(events.events.at(-1)?.actor, 'host-manager (manager)');
  } finally {
    await h.close();
  }
});

test('deleting an offline host never hangs: two-phase and forced, while the manager runs', async () => {
  const h = await openHarness();
  try {
    await h.os('ubuntu', { default: 'true' });
    const hosts = [];
    for (const name of ['edge-off-1', 'edge-off-2']) {
      const host = await h.host(name, { autoProvision: true });
      await h.sb.enroll(host);
      hosts.push(host);
    }
    for (const host of hosts) await until(async () => (await h.user.list('default', 'Instance', { filter: `spec.hostId = "${host.id}"` })).totalSize === 1, 'instance');
    // The agents go away mid-install: their commands are never answered.
    h.sb.answer = () => ({ outcome: 'never' });
    for (const host of hosts) await h.sb.disconnect(host.id);

    const t0 = Date.now();
    await h.user.delete('default', 'Host', hosts[0].id);
    const forced = await h.user.delete('default', 'Host', hosts[1].id, { force: true });
    assert.equal(forced.removed, true);
    await until(async () => (await h.user.list('default', 'Host')).totalSize === 0, 'both hosts removed', 5000);
    assert.ok(Date.now() - t0 < 5000);
    assert.equal((await h.user.list('default', 'Instance')).totalSize, 0);
    assert.equal((await h.user.list('default', 'Command')).totalSize, 0);
    await sleep(100);
    assert.equal(h.managers.stats().host.inFlight, 0);
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

test('a power command answered within POWER_QUIET_MS goes straight to its result; a slower one shows "sent to the agent" first', async () => {
  const h = await openHarness({ southbound: { answer: (cmd) => ({ outcome: 'succeed', afterMs: cmd.spec.params.state === 'off' ? 40 : POWER_QUIET_MS + 1500 }) } });
  try {
    const host = await h.host('edge-q');
    await h.sb.enroll(host);
    await until(async () => (await h.get('Host', host.id)).status.currentState === 'onboarded', 'onboarded');
    const powerMessages = async (sinceRevision: number) =>
      (await h.user.events({ project: 'default', id: host.id, limit: 100 })).events
        .filter((e) => e.revision > sinceRevision)
        .map((e) => (e.object.status as { powerStatus?: { message: string } }).powerStatus?.message);
    const quick = await h.user.update('default', 'Host', host.id, { spec: { desiredPowerState: 'off' } });
    await until(async () => (await h.get('Host', host.id)).status.currentPowerState === 'off', 'power off');
    assert.ok(!(await powerMessages(quick.revision)).includes('powering off: sent to the agent'), 'the quick command never showed as sent');
    const slow = await h.user.update('default', 'Host', host.id, { spec: { desiredPowerState: 'on' } });
    const sent = await until(async () => {
      const x = await h.get('Host', host.id);
      return x.status.powerStatus?.message === 'powering on: sent to the agent' && x;
    }, 'the slow command shows as sent');
    assert.equal(sent.status.observedGeneration, slow.generation, 'with the generation it acts on');
    assert.equal(sent.status.currentPowerState, 'off');
    await until(async () => (await h.get('Host', host.id)).status.currentPowerState === 'on', 'power on');
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

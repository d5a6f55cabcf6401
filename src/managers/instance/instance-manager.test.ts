import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TERMINAL_SUFFIX } from '../../reconcile/index.ts';
import { type Harness, type Instance, MANAGER, openHarness, sleep, until } from '../testing/manager-harness.ts';

async function instance(h: Harness, name: string, hostId: string, osId: string): Promise<Instance> {
  return (await h.user.create('default', 'Instance', { name, spec: { hostId, osId, desiredState: 'running' } })) as Instance;
}

const status = async (h: Harness, id: string) => (await h.get('Instance', id)).status;

/** Every provisioningStatus message the instance showed, in order, from its event log. */
async function provisioningHistory(h: Harness, id: string): Promise<string[]> {
  const page = await h.user.events({ project: 'default', id, limit: 1000 });
  const out: string[] = [];
  for (const e of page.events) {
    const m = (e.object.status as Instance['status']).provisioningStatus?.message;
    if (m && out.at(-1) !== m) out.push(m);
  }
  return out;
}

test('an instance waits for its host, installs the OS profile with progress, and runs', async () => {
  const h = await openHarness({ southbound: { answerMs: 300 } });
  try {
    const os = await h.os('ubuntu');
    const host = await h.host('edge-1');
    const inst = await instance(h, 'edge-1', host.id, os.id);
    await until(async () => (await status(h, inst.id)).provisioningStatus?.message === 'waiting for host edge-1 (its agent has not enrolled yet)', 'waiting for enrolment');
    assert.equal((await status(h, inst.id)).instanceStatus?.indicator, 'in_progress');
    assert.equal(h.sb.deliveries.length, 0);

    await h.sb.enroll(host);
    await until(async () => (await status(h, inst.id)).provisioningStatus?.message === 'installing ubuntu 22.04: 50 %', 'progress shown');
    const s = await until(async () => {
      const x = await status(h, inst.id);
      return x.currentState === 'running' && x;
    }, 'running');
    assert.equal(s.currentOsId, os.id);
    assert.deepEqual([s.provisioningStatus?.indicator, s.provisioningStatus?.message], ['idle', 'provisioned ubuntu 22.04']);
    assert.deepEqual([s.instanceStatus?.indicator, s.instanceStatus?.message, s.observedGeneration], ['idle', 'running', 1]);
    assert.ok(Date.parse(s.provisioningStatus!.timestamp) > Date.now() - 60_000);
    assert.deepEqual(h.sb.deliveries.map((d) => [d.type, d.ownerId, d.hostId, d.params]), [
      ['install-os', inst.id, host.id, { osId: os.id, imageUrl: os.spec.imageUrl, sha256: os.spec.sha256, profileName: 'ubuntu', profileVersion: '22.04' }],
    ]);
    const history = await provisioningHistory(h, inst.id);
    assert.equal(history[0], 'waiting for host edge-1 (its agent has not enrolled yet)');
    // (Between enrolment and onboarding it may also have shown "not onboarded yet".)
    assert.deepEqual(history.filter((m) => !m.startsWith('waiting')), ['installing ubuntu 22.04', 'installing ubuntu 22.04: 50 %', 'provisioned ubuntu 22.04']);
    await until(async () => (await h.commandsOf(inst.id)).length === 0, 'command removed');

    // A second instance on a host without connection waits for it.
    const host2 = await h.host('edge-2');
    await h.sb.enroll(host2);
    await until(async () => (await h.get('Host', host2.id)).status.currentState === 'onboarded', 'edge-2 onboarded');
    await h.sb.disconnect(host2.id);
    const inst2 = await instance(h, 'edge-2', host2.id, os.id);
    await until(async () => (await status(h, inst2.id)).provisioningStatus?.message === 'waiting for host edge-2 (no connection)', 'waiting for the connection');
    await h.sb.reconnect(host2.id);
    await until(async () => (await status(h, inst2.id)).currentState === 'running', 'edge-2 running after reconnect');
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

test('a recoverable failure is retried with growing delays, then succeeds', async () => {
  const h = await openHarness({ backoff: { baseMs: 60, factor: 3, jitter: 0 }, southbound: { answerMs: 10, answer: (_c, nth) => (nth <= 3 ? { outcome: 'recoverable' } : { outcome: 'succeed' }) } });
  try {
    const os = await h.os('ubuntu');
    const host = await h.host('edge-r');
    await h.sb.enroll(host);
    const inst = await instance(h, 'edge-r', host.id, os.id);
    await until(async () => (await status(h, inst.id)).currentState === 'running', 'running after retries');
    const d = h.sb.of(inst.id, 'install-os');
    assert.equal(d.length, 4, 'three failures, one success');
    assert.equal(new Set(d.map((x) => x.id)).size, 4, 'each attempt is a new command');
    const gaps = d.slice(1).map((x, i) => x.at - d[i].at);
    // Each wait is at least its backoff delay (60, 180, 540 ms); load can only add to them.
    assert.ok(gaps[0] >= 60 && gaps[1] >= 180 && gaps[2] >= 540 && gaps[2] > gaps[0], `delays grow: ${gaps.join(', ')} ms`);
    const history = await provisioningHistory(h, inst.id);
    for (const n of [1, 2, 3]) assert.ok(history.includes(`retrying (attempt ${n}): installing ubuntu 22.04 failed: download timed out`), history.join('\n'));
    assert.equal(history.at(-1), 'provisioned ubuntu 22.04');
    assert.equal((await status(h, inst.id)).observedGeneration, 1);
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

test('an unrecoverable failure waits in error, with no further attempt, until the spec changes', async () => {
  const h = await openHarness({ southbound: { answerMs: 10 } });
  try {
    const bad = await h.os('broken', {}, 'b'.repeat(64));
    const good = await h.os('ubuntu');
    h.sb.answer = (c) => (c.spec.params.osId === bad.id ? { outcome: 'unrecoverable', message: 'checksum mismatch: image has sha256 ' + 'c'.repeat(64) } : { outcome: 'succeed' });
    const host = await h.host('edge-u');
    await h.sb.enroll(host);
    const inst = await instance(h, 'edge-u', host.id, bad.id);
    const s = await until(async () => {
      const x = await status(h, inst.id);
      return x.provisioningStatus?.indicator === 'error' && x;
    }, 'error status');
    assert.equal(
      s.provisioningStatus?.message,
      `installing broken 22.04 failed: checksum mismatch: image has sha256 ${'c'.repeat(64)}; fix OS profile ${bad.id} (its image or sha256) and then change the instance (a label will do), or set spec.osId to another profile${TERMINAL_SUFFIX}`,
    );
    assert.deepEqual([s.instanceStatus?.indicator, s.instanceStatus?.message, s.observedGeneration, s.currentState], ['error', 'provisioning failed', 1, undefined]);

    // Nothing wakes it into another attempt: not time, not its host's connection coming and going.
    await sleep(400);
    await h.sb.disconnect(host.id);
    await h.sb.reconnect(host.id);
    await sleep(600);
    assert.equal(h.sb.of(inst.id).length, 1, 'no further command');
    assert.equal((await h.commandsOf(inst.id)).length, 0, 'the failed command is removed');

    await h.user.update('default', 'Instance', inst.id, { spec: { osId: good.id } });
    const ok = await until(async () => {
      const x = await status(h, inst.id);
      return x.currentState === 'running' && x;
    }, 'running with the good OS');
    assert.deepEqual([ok.currentOsId, ok.provisioningStatus?.indicator, ok.observedGeneration], [good.id, 'idle', 2]);
    assert.equal(h.sb.of(inst.id).length, 2);
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

test('a spec change supersedes the command in flight', async () => {
  const h = await openHarness({ southbound: { answerMs: 10 } });
  try {
    const a = await h.os('ubuntu');
    const b = await h.os('debian');
    h.sb.answer = (c) => (c.spec.params.osId === a.id ? { outcome: 'never' } : { outcome: 'succeed' });
    const host = await h.host('edge-s');
    await h.sb.enroll(host);
    const inst = await instance(h, 'edge-s', host.id, a.id);
    await until(() => h.sb.of(inst.id).length === 1, 'first command delivered');
    await h.user.update('default', 'Instance', inst.id, { spec: { osId: b.id } });
    await until(async () => (await status(h, inst.id)).currentOsId === b.id, 'running debian');
    assert.deepEqual(h.sb.of(inst.id).map((d) => d.params.osId), [a.id, b.id]);
    await until(async () => (await h.commandsOf(inst.id)).length === 0, 'no command left');
  } finally {
    await h.close();
  }
});

test('untrusted, deleted (also with its host offline and a command in flight), and a forced delete leaves no command behind', async () => {
  const h = await openHarness({ southbound: { answerMs: 10 } });
  try {
    const os = await h.os('ubuntu');
    const host = await h.host('edge-d');
    await h.sb.enroll(host);
    const i1 = await instance(h, 'i1', host.id, os.id);
    await until(async () => (await status(h, i1.id)).currentState === 'running', 'i1 running');
    await h.user.update('default', 'Instance', i1.id, { spec: { desiredState: 'untrusted' } });
    const s = await until(async () => {
      const x = await status(h, i1.id);
      return x.currentState === 'untrusted' && x;
    }, 'untrusted');
    assert.deepEqual([s.instanceStatus?.indicator, s.instanceStatus?.message, s.observedGeneration], ['error', 'untrusted', 2]);
    assert.equal((await h.user.delete('default', 'Instance', i1.id)).removed, false);
    await until(async () => (await h.user.list('default', 'Instance', { filter: `id = "${i1.id}"` })).totalSize === 0, 'i1 removed');

    h.sb.answer = () => ({ outcome: 'never' });
    const i2 = await instance(h, 'i2', host.id, os.id);
    const i3 = await instance(h, 'i3', host.id, os.id);
    await until(async () => (await h.commandsOf(i2.id)).length === 1 && (await h.commandsOf(i3.id)).length === 1, 'commands in flight');
    await h.sb.disconnect(host.id);
    await h.user.delete('default', 'Instance', i2.id);
    await h.user.delete('default', 'Instance', i3.id, { force: true });
    await until(async () => (await h.user.list('default', 'Instance')).totalSize === 0, 'both removed');
    await until(async () => (await h.user.list('default', 'Command')).totalSize === 0, 'their commands removed');
    assert.equal((await h.get('Host', host.id)).status.currentState, 'onboarded', 'the host stays');
  } finally {
    await h.close();
  }
});

test('an OS update moving currentOsId on does not reinstall spec.osId; a user changing spec.osId still reinstalls', async () => {
  const h = await openHarness({ southbound: { answerMs: 10 } });
  try {
    const a = await h.os('ubuntu');
    const b = await h.os('ubuntu-next');
    const c = await h.os('debian');
    const host = await h.host('edge-o');
    await h.sb.enroll(host);
    const inst = await instance(h, 'edge-o', host.id, a.id);
    const first = await until(async () => {
      const x = await status(h, inst.id);
      return x.currentState === 'running' && x;
    }, 'running ubuntu');
    assert.deepEqual([first.currentOsId, first.provisionedOsId], [a.id, a.id]);

    // What the maintenance manager writes after a successful update to b.
    await h.svc.as(MANAGER).updateStatus('default', 'Instance', inst.id, { currentOsId: b.id });
    await h.user.update('default', 'Instance', inst.id, { labels: { touched: 'yes' } });
    await until(async () => (await status(h, inst.id)).observedGeneration === 2, 'reconciled after the label change');
    await sleep(200);
    assert.equal(h.sb.of(inst.id, 'install-os').length, 1, 'no reinstall of ubuntu over the update');
    assert.deepEqual([(await status(h, inst.id)).currentOsId, (await status(h, inst.id)).provisionedOsId], [b.id, a.id]);

    // Setting spec.osId to the profile it already runs installs nothing and records it.
    await h.user.update('default', 'Instance', inst.id, { spec: { osId: b.id } });
    await until(async () => (await status(h, inst.id)).provisionedOsId === b.id, 'provisionedOsId recorded');
    assert.equal(h.sb.of(inst.id, 'install-os').length, 1);

    await h.user.update('default', 'Instance', inst.id, { spec: { osId: c.id } });
    await until(async () => (await status(h, inst.id)).currentOsId === c.id, 'reinstalled with debian');
    assert.deepEqual(h.sb.of(inst.id, 'install-os').map((d) => d.params.osId), [a.id, c.id]);
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

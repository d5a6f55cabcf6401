import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isEimError, type Resource, type ResourceOf } from '../../api/index.ts';
import { type Harness, type Instance, openHarness, until } from '../testing/manager-harness.ts';
import { TestWindows } from './os-update-test-windows.ts';

type Run = ResourceOf<'OsUpdateRun'> & Resource;
type Policy = ResourceOf<'OsUpdatePolicy'> & Resource;

/** n enrolled hosts with a running instance of `osId` each. */
async function fleet(h: Harness, n: number, osId: string): Promise<Instance[]> {
  const out: Instance[] = [];
  for (let i = 0; i < n; i++) {
    const host = await h.host(`edge-${i}`);
    await h.sb.enroll(host);
    out.push((await h.user.create('default', 'Instance', { name: `inst-${i}`, spec: { hostId: host.id, osId, desiredState: 'running' } })) as Instance);
  }
  await until(async () => (await h.user.list('default', 'Instance', { filter: 'status.currentState = "running"' })).totalSize === n, 'instances running');
  return out;
}

const runs = async (h: Harness): Promise<Run[]> => (await h.user.list('default', 'OsUpdateRun', { pageSize: 1000 })).items as Run[];
const policyOf = async (h: Harness, id: string): Promise<Policy> => (await h.user.get('default', 'OsUpdatePolicy', id)) as Policy;

/** The most runs whose [startedAt, endedAt) overlap, from the run records alone. */
export function observedPeak(list: readonly Run[]): number {
  const edges: [number, number][] = [];
  for (const r of list) {
    edges.push([Date.parse(r.status.startedAt!), 1]);
    edges.push([r.status.endedAt ? Date.parse(r.status.endedAt) : Infinity, -1]);
  }
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let peak = 0;
  for (const [, d] of edges) peak = Math.max(peak, (cur += d));
  return peak;
}

async function attach(h: Harness, insts: Instance[], policyId: string | null): Promise<void> {
  for (const i of insts) await h.user.update('default', 'Instance', i.id, { spec: { osUpdatePolicyId: policyId } });
}

test('updates start only in a window, never more than maxConcurrent at once; success moves currentOsId without a reinstall', async () => {
  const windows = new TestWindows();
  const h = await openHarness({ updateWindows: windows, southbound: { answerMs: 60 } });
  try {
    const a = await h.os('ubuntu');
    const b = await h.user.create('default', 'OperatingSystem', { name: 'ubuntu-24', spec: { ...a.spec, profileVersion: '24.04', imageUrl: 'https://images.example.com/u24.img' } });
    const insts = await fleet(h, 7, a.id);
    const policy = await h.user.create('default', 'OsUpdatePolicy', { name: 'to-24', spec: { policy: 'target', targetOsId: b.id, packages: ['openssl'], rollout: { maxConcurrent: 2, maxFailures: 1 } } });
    await attach(h, insts, policy.id);
    await until(async () => (await policyOf(h, policy.id)).status.rollout?.pending === 7, 'all pending: no window');
    assert.equal((await runs(h)).length, 0, 'nothing starts outside a window');

    // Only the first three hosts get a window.
    windows.open(insts.slice(0, 3).map((i) => i.spec.hostId));
    await until(async () => (await policyOf(h, policy.id)).status.rollout?.upToDate === 3, 'three updated');
    assert.equal((await runs(h)).length, 3);
    windows.open(insts.slice(3).map((i) => i.spec.hostId), 'maintenance');
    const done = await until(async () => {
      const p = await policyOf(h, policy.id);
      return p.status.rollout?.upToDate === 7 && p;
    }, 'all updated');
    const all = await runs(h);
    assert.equal(all.length, 7);
    assert.ok(observedPeak(all) <= 2, `peak ${observedPeak(all)}`);
    assert.equal(observedPeak(all), 2, 'it does use both slots');
    assert.deepEqual([done.status.rollout?.peakRunning, done.status.rollout?.failed, done.status.rollout?.halted], [2, 0, false]);
    assert.equal(done.status.rolloutStatus?.indicator, 'idle');
    for (const r of all) assert.deepEqual([r.status.phase, r.status.targetOsId, r.status.fromOsId, r.status.runStatus?.indicator], ['done', b.id, a.id, 'idle']);
    const i0 = await h.get('Instance', insts[0].id);
    assert.deepEqual([i0.status.currentOsId, i0.status.updateStatus?.indicator, i0.status.updateStatus?.message], [b.id, 'idle', 'updated to ubuntu 24.04 + packages openssl']);
    const deliveries = h.sb.deliveries.filter((d) => d.type === 'update-os');
    assert.equal(deliveries.length, 7);
    assert.deepEqual(deliveries[0].params, { osId: b.id, imageUrl: 'https://images.example.com/u24.img', sha256: a.spec.sha256, profileName: 'ubuntu', profileVersion: '24.04', packages: ['openssl'] });
    assert.equal(h.sb.deliveries.filter((d) => d.type === 'install-os').length, 7, 'no reinstall of ubuntu 22.04 after the update');
    await until(async () => (await h.user.list('default', 'Command')).totalSize === 0, 'commands removed after their outcome');
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

test('failures reaching maxFailures halt the rollout: running ones finish, nothing new starts, the status says why', async () => {
  const windows = new TestWindows();
  const h = await openHarness({ updateWindows: windows, southbound: { answerMs: 80 } });
  try {
    const a = await h.os('ubuntu');
    const insts = await fleet(h, 8, a.id);
    h.sb.answer = (c) => (c.spec.type === 'update-os' ? { outcome: 'unrecoverable', message: 'dpkg: error processing package openssl' } : { outcome: 'succeed' });
    const policy = await h.user.create('default', 'OsUpdatePolicy', { name: 'pkgs', spec: { policy: 'latest', packages: ['openssl'], rollout: { maxConcurrent: 3, maxFailures: 2 } } });
    windows.open(insts.map((i) => i.spec.hostId));
    await attach(h, insts, policy.id);
    const halted = await until(async () => {
      const p = await policyOf(h, policy.id);
      return p.status.rollout?.halted && p.status.rollout.running === 0 && p;
    }, 'halted with nothing running');
    const all = await runs(h);
    // The first wave of 3 was running when failures came in; after the 2nd failure nothing started.
    assert.ok(all.length >= 2 && all.length <= 4, `${all.length} runs`);
    assert.ok(all.every((r) => r.status.phase === 'failed' && r.status.runStatus?.indicator === 'error'));
    assert.equal(halted.status.rollout?.failed, all.length);
    assert.equal(halted.status.rolloutStatus?.indicator, 'error');
    assert.match(halted.status.rolloutStatus!.message, /^halted: \d failed updates reached maxFailures 2; no new update starts until .*dpkg: error processing package openssl/);
    const failedInst = await h.get('Instance', all[0].status.instanceId!);
    assert.deepEqual([failedInst.status.updateStatus?.indicator, failedInst.status.currentOsId], ['error', a.id]);
    assert.match(failedInst.status.updateStatus!.message, /^update failed: dpkg: error processing package openssl$/);

    // Allowing more failures resumes it.
    await h.user.update('default', 'OsUpdatePolicy', policy.id, { spec: { rollout: { maxConcurrent: 3, maxFailures: 100 } } });
    h.sb.answer = () => ({ outcome: 'succeed' });
    const resumed = await until(async () => {
      const p = await policyOf(h, policy.id);
      return p.status.rollout && p.status.rollout.upToDate + p.status.rollout.failed === 8 && p;
    }, 'the rest updated');
    assert.equal(resumed.status.rollout?.halted, false);
    assert.equal(resumed.status.rollout?.updateKey, halted.status.rollout?.updateKey, 'maxFailures is not part of the key');
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

test('a recoverable failure is tried again after a wait, keeping its slot; after the last attempt it counts as failed', async () => {
  const windows = new TestWindows();
  const h = await openHarness({ updateWindows: windows, updateRetryMs: 150, southbound: { answerMs: 20 } });
  try {
    const a = await h.os('ubuntu');
    const insts = await fleet(h, 2, a.id);
    // inst-0's first attempt times out, the second works; inst-1's attempts all time out.
    h.sb.answer = (c, nth) => {
      if (c.spec.type !== 'update-os') return { outcome: 'succeed' };
      const inst0 = c.spec.hostId === insts[0].spec.hostId;
      return inst0 && nth >= 2 ? { outcome: 'succeed' } : { outcome: 'recoverable', message: 'download timed out' };
    };
    const policy = await h.user.create('default', 'OsUpdatePolicy', { name: 'retry', spec: { policy: 'latest', packages: ['curl'], rollout: { maxConcurrent: 1, maxFailures: 5 } } });
    windows.open(insts.map((i) => i.spec.hostId));
    await attach(h, insts, policy.id);
    const retrying = await until(async () => (await runs(h)).find((r) => r.status.phase === 'retrying'), 'a run retrying');
    assert.equal(retrying.status.attempt, 2);
    assert.match(retrying.status.runStatus!.message, /retrying \(attempt 2 of 3\) in 0 s: download timed out$/);
    assert.ok(Date.parse(retrying.status.retryAt!) > Date.parse(retrying.status.startedAt!));
    assert.equal((await runs(h)).length, 1, 'a retrying run keeps its slot (maxConcurrent 1)');

    const settled = await until(async () => {
      const p = await policyOf(h, policy.id);
      return p.status.rollout && p.status.rollout.upToDate + p.status.rollout.failed === 2 && p.status.rollout.running === 0 && p;
    }, 'both settled');
    const all = await runs(h);
    const byInst = (i: Instance) => all.find((r) => r.status.instanceId === i.id)!;
    assert.deepEqual([byInst(insts[0]).status.phase, byInst(insts[0]).status.attempt], ['done', 2]);
    assert.deepEqual([byInst(insts[1]).status.phase, byInst(insts[1]).status.attempt], ['failed', 3]);
    assert.deepEqual([settled.status.rollout?.upToDate, settled.status.rollout?.failed], [1, 1]);
    const updates = h.sb.deliveries.filter((d) => d.type === 'update-os');
    assert.equal(updates.length, 5, 'two attempts for one, three for the other, each a new command');
    assert.equal(new Set(updates.map((d) => d.id)).size, 5);
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

test('a window closing stops new starts but not running ones; detaching leaves a running update to finish', async () => {
  const windows = new TestWindows();
  const h = await openHarness({ updateWindows: windows, southbound: { answerMs: 20 } });
  try {
    const a = await h.os('ubuntu');
    const insts = await fleet(h, 4, a.id);
    h.sb.answer = (c) => (c.spec.type === 'update-os' ? { outcome: 'never' } : { outcome: 'succeed' });
    const policy = await h.user.create('default', 'OsUpdatePolicy', { name: 'pk', spec: { policy: 'latest', kernelCommand: 'quiet', rollout: { maxConcurrent: 1, maxFailures: 0 } } });
    await attach(h, insts, policy.id);
    windows.open(insts.map((i) => i.spec.hostId));
    await until(async () => (await runs(h)).length === 1, 'one started');
    windows.close('all');
    const [first] = await runs(h);
    await attach(h, insts.filter((i) => i.id === first.status.instanceId), null);
    await until(async () => (await policyOf(h, policy.id)).status.rollout?.total === 3, 'detached');
    // Let the agent answer the running one: it finishes and is recorded although detached and outside a window.
    const cmd = (await h.commandsOf(first.id))[0];
    await h.svc.as({ subject: 'sb', grants: [{ project: '*', role: 'manager' }] }).updateStatus('default', 'Command', cmd.id, { state: 'succeeded', message: 'ok' });
    await until(async () => (await h.user.get('default', 'OsUpdateRun', first.id)).status.phase === 'done', 'the running one finished');
    const p = await until(async () => {
      const x = await policyOf(h, policy.id);
      return x.status.rollout?.running === 0 && x;
    }, 'the policy shows nothing running');
    assert.equal(p.status.rollout?.pending, 3);
    assert.equal((await runs(h)).length, 1, 'no new start with the window closed');
  } finally {
    await h.close();
  }
});

test('bad policies are refused with clear errors', async () => {
  const windows = new TestWindows();
  const h = await openHarness({ updateWindows: windows });
  try {
    const bad = async (spec: Record<string, unknown>, re: RegExp) => {
      await assert.rejects(
        h.user.create('default', 'OsUpdatePolicy', { name: `p${Math.random().toString(16).slice(2, 8)}`, spec }),
        (e: unknown) => isEimError(e) && e.code === 'invalid_argument' && re.test(e.message),
      );
    };
    await bad({ policy: 'target', rollout: { maxConcurrent: 1, maxFailures: 0 } }, /targetOsId is required/);
    await bad({ policy: 'latest', rollout: { maxConcurrent: 0, maxFailures: 0 } }, /maxConcurrent/);
    await bad({ policy: 'latest', rollout: { maxConcurrent: 1, maxFailures: -1 } }, /maxFailures/);
    await bad({ policy: 'sometimes', rollout: { maxConcurrent: 1, maxFailures: 0 } }, /policy/);
    await bad({ policy: 'latest' }, /rollout/);
    await assert.rejects(
      h.user.create('default', 'OsUpdatePolicy', { name: 'ghost', spec: { policy: 'target', targetOsId: 'os-00000000', rollout: { maxConcurrent: 1, maxFailures: 0 } } }),
      (e: unknown) => isEimError(e) && /os-00000000/.test(e.message),
    );
  } finally {
    await h.close();
  }
});

test('a policy with target.selector updates the instances on the hosts it matches, follows a label change, counts matchedHosts; an instance naming another policy keeps it', async () => {
  const windows = new TestWindows();
  const h = await openHarness({ updateWindows: windows, southbound: { answerMs: 40 } });
  try {
    const a = await h.os('ubuntu');
    const b = await h.user.create('default', 'OperatingSystem', { name: 'ubuntu-24', spec: { ...a.spec, profileVersion: '24.04', imageUrl: 'https://images.example.com/u24.img' } });
    const insts = await fleet(h, 4, a.id);
    await h.user.update('default', 'Host', insts[0].spec.hostId, { labels: { ring: 'canary' } });
    await h.user.update('default', 'Host', insts[1].spec.hostId, { labels: { ring: 'canary' } });
    // inst-1 names a policy of its own (that never opens a slot): the selector does not take it.
    const other = await h.user.create('default', 'OsUpdatePolicy', { name: 'own', spec: { policy: 'target', targetOsId: a.id, rollout: { maxConcurrent: 1, maxFailures: 0 } } });
    await attach(h, [insts[1]], other.id);
    await assert.rejects(
      h.user.create('default', 'OsUpdatePolicy', { name: 'bad', spec: { policy: 'latest', rollout: { maxConcurrent: 1, maxFailures: 0 }, target: { selector: 'labels.ring = ' } } }),
      (e) => isEimError(e) && e.code === 'invalid_argument' && /spec\.target\.selector/.test(e.message),
    );
    const policy = await h.user.create('default', 'OsUpdatePolicy', { name: 'canary', spec: { policy: 'target', targetOsId: b.id, rollout: { maxConcurrent: 4, maxFailures: 1 }, target: { selector: 'labels.ring = "canary"' } } });
    windows.open(insts.map((i) => i.spec.hostId));
    await until(async () => (await policyOf(h, policy.id)).status.rollout?.upToDate === 1, 'the canary updated');
    let p = await policyOf(h, policy.id);
    assert.deepEqual([p.status.matchedHosts, p.status.rollout?.total], [2, 1], 'two hosts match; one of their instances follows its own policy');
    assert.deepEqual((await runs(h)).filter((r) => r.status.policyId === policy.id).map((r) => r.status.instanceId), [insts[0].id]);

    // A host that starts matching gains the update.
    await h.user.update('default', 'Host', insts[2].spec.hostId, { labels: { ring: 'canary' } });
    await until(async () => (await policyOf(h, policy.id)).status.rollout?.upToDate === 2, 'the new canary updated too');
    p = await policyOf(h, policy.id);
    assert.equal(p.status.matchedHosts, 3);
    const updated = (await runs(h)).filter((r) => r.status.policyId === policy.id).map((r) => r.status.instanceId).sort();
    assert.deepEqual(updated, [insts[0].id, insts[2].id].sort(), 'never inst-3 (no label) nor inst-1 (its own policy)');
    assert.equal((await h.get('Instance', insts[3].id)).status.currentOsId, a.id);
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentCommand } from '../../api/index.ts';
import { SimExecutor } from './sim-executor.ts';

const cmd = (id: string, type: AgentCommand['type'] = 'install-os', params: Record<string, unknown> = { osId: 'os-0a1b2c3d', imageUrl: 'https://images.example.com/u.img', sha256: 'a'.repeat(64) }): AgentCommand => ({
  id,
  type,
  params,
  issuedAt: '2026-01-01T00:00:00.000Z',
});
const never = new AbortController().signal;

test('failure injection is deterministic per (seed, command id), whatever the order', async () => {
  const ids = Array.from({ length: 60 }, (_, i) => `cmd-${i}`);
  const run = async (order: string[]) => {
    const ex = new SimExecutor({ durationMs: 0, failRate: 0.3, unrecoverableRate: 0.2, seed: 42 });
    const out = new Map<string, string>();
    for (const id of order) {
      const r = await ex.run(cmd(id), () => {}, never);
      out.set(id, r.state === 'succeeded' ? 'ok' : r.recoverable ? 'recoverable' : 'unrecoverable');
    }
    return ids.map((id) => out.get(id));
  };
  const forward = await run(ids);
  assert.deepEqual(await run([...ids].reverse()), forward);
  assert.deepEqual(
    forward,
    ids.map((id) => new SimExecutor({ failRate: 0.3, unrecoverableRate: 0.2, seed: 42 }).outcome(id)),
  );
  const other = ids.map((id) => new SimExecutor({ failRate: 0.3, unrecoverableRate: 0.2, seed: 43 }).outcome(id));
  assert.notDeepEqual(other, forward, 'another seed, other outcomes');
  assert.ok(forward.includes('ok') && forward.includes('recoverable') && forward.includes('unrecoverable'));
});

test('rates hold over many commands', () => {
  const ex = new SimExecutor({ failRate: 0.05, unrecoverableRate: 0.01, seed: 'fleet' });
  const counts = { ok: 0, recoverable: 0, unrecoverable: 0 };
  for (let i = 0; i < 20_000; i++) counts[ex.outcome(`c${i}`)]++;
  assert.ok(Math.abs(counts.recoverable / 20_000 - 0.05) < 0.01, `recoverable ${counts.recoverable}`);
  assert.ok(Math.abs(counts.unrecoverable / 20_000 - 0.01) < 0.004, `unrecoverable ${counts.unrecoverable}`);
});

test('results: messages, recoverable flags, progress, power state, bad params', async () => {
  const ex = new SimExecutor({ durationMs: 8, failRate: 0.5, unrecoverableRate: 0.5, seed: 1 });
  const id = ['a', 'b', 'c', 'd', 'e'].find((x) => ex.outcome(x) === 'unrecoverable')!;
  const r = await ex.run(cmd(id), () => {}, never);
  assert.equal(r.state, 'failed');
  assert.equal(r.recoverable, false);
  assert.match(r.message!, /checksum mismatch.*injected/);

  const ok = new SimExecutor({ durationMs: 8 });
  const progress: number[] = [];
  const done = await ok.run(cmd('x'), (p) => progress.push(p), never);
  assert.equal(done.state, 'succeeded');
  assert.deepEqual(progress, [0, 25, 50, 75]);
  assert.equal((await ok.run(cmd('p', 'power', { state: 'off' }), () => {}, never)).state, 'succeeded');
  assert.equal(ok.powerState(), 'off');
  await ok.run(cmd('q', 'power', { state: 'power-cycle' }), () => {}, never);
  assert.equal(ok.powerState(), 'on');
  const bad = await ok.run(cmd('y', 'install-os', { imageUrl: 'ftp://x' }), () => {}, never);
  assert.deepEqual([bad.state, bad.recoverable], ['failed', false]);
  assert.match(bad.message!, /imageUrl/);
});

test('an abort ends the command early as a recoverable failure', async () => {
  const ex = new SimExecutor({ durationMs: 10_000 });
  const stop = new AbortController();
  const started = Date.now();
  setTimeout(() => stop.abort(), 20);
  const r = await ex.run(cmd('slow'), () => {}, stop.signal);
  assert.deepEqual([r.state, r.recoverable], ['failed', true]);
  assert.ok(Date.now() - started < 2000);
});

test('rates outside [0, 1] are refused', () => {
  assert.throws(() => new SimExecutor({ failRate: 1.5 }), /failRate/);
  assert.throws(() => new SimExecutor({ failRate: 0.6, unrecoverableRate: 0.6 }), /at most 1/);
});

test('update-os runs download, apply, reboot, verify; a failure rolls back to the profile the node had', async () => {
  const update = cmd('u1', 'update-os', { osId: 'os-0000000b', imageUrl: 'https://images.example.com/b.img', sha256: 'b'.repeat(64), profileName: 'ubuntu', profileVersion: '24.04', packages: ['openssl'] });
  const ex = new SimExecutor({ durationMs: 8, script: ['ok', 'unrecoverable', 'recoverable'] });
  const seen: string[] = [];
  const ok = await ex.run(update, (_p, m) => seen.push(m!), never, { osId: 'os-0000000a' });
  assert.equal(ok.state, 'succeeded');
  assert.deepEqual(
    seen.map((m) => m.split(' ')[0]),
    ['downloading', 'applying', 'rebooting', 'verifying'],
  );
  assert.equal(seen[1], 'applying ubuntu 24.04, packages openssl');
  assert.deepEqual(ok.details, { simulated: true, phases: ['downloading', 'applying', 'rebooting', 'verifying'], osId: 'os-0000000b' });

  const phases: string[] = [];
  const bad = await ex.run({ ...update, id: 'u2' }, (_p, m) => phases.push(m!.split(' ')[0]), never, { osId: 'os-0000000a' });
  assert.deepEqual([bad.state, bad.recoverable], ['failed', false]);
  assert.deepEqual(bad.details, { simulated: true, failedPhase: 'applying', rolledBack: true, rolledBackTo: 'os-0000000a' });
  assert.match(bad.message!, /while applying.*injected.*rolled back to os-0000000a$/);
  assert.deepEqual(phases, ['downloading', 'applying', 'rolling']);

  const late = await ex.run({ ...update, id: 'u3' }, () => {}, never, { osId: 'os-0000000a' });
  assert.deepEqual([late.state, late.recoverable, late.details?.failedPhase, late.details?.rolledBackTo], ['failed', true, 'rebooting', 'os-0000000a']);

  const bogus = await ex.run(cmd('u4', 'update-os', { kernelCommand: 'quiet\nrm -rf /' }), () => {}, never);
  assert.deepEqual([bogus.state, bogus.recoverable], ['failed', false]);
  assert.match(bogus.message!, /kernelCommand/);
});

test('updateFailRate and updateDurationMs govern update-os only', async () => {
  const ex = new SimExecutor({ durationMs: 4000, updateDurationMs: 8, updateFailRate: 1, seed: 3 });
  const started = Date.now();
  const r = await ex.run(cmd('uf', 'update-os', { packages: ['curl'] }), () => {}, never, { osId: 'os-0000000a' });
  assert.deepEqual([r.state, r.details?.rolledBackTo], ['failed', 'os-0000000a']);
  assert.match(r.message!, /update fail rate 1/);
  assert.ok(Date.now() - started < 1000, 'the update took updateDurationMs');
  assert.equal(new SimExecutor({ durationMs: 8, updateFailRate: 1 }).outcome('x'), 'ok', 'other commands keep the general rates');
  assert.throws(() => new SimExecutor({ updateFailRate: 2 }), /updateFailRate/);
});

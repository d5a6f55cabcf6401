import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, test } from 'node:test';
import { Value } from 'typebox/value';
import { type AgentCommand, HardwareReport } from '../api/index.ts';
import { Agent } from './agent.ts';
import type { AgentOptions } from './agent-options.ts';
import { MemoryLog } from './agent-log.ts';
import type { Discovery } from './discovery/discovery.ts';
import { SimDiscovery } from './discovery/sim-discovery.ts';
import type { Executor } from './executor/executor.ts';
import { SimExecutor } from './executor/sim-executor.ts';
import { FakeSouthbound } from './testing/fake-southbound.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
// A failed assertion must not leave an agent or a server running (the file would hang, not fail).
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
async function startSouthbound(): Promise<FakeSouthbound> {
  const sb = await FakeSouthbound.start();
  cleanups.push(() => sb.close());
  return sb;
}

const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'eim-agent-'));
  dirs.push(d);
  return d;
};

const command = (id: string): AgentCommand => ({ id, type: 'apply-config', params: { version: 'v3', config: { logLevel: 'debug' } }, issuedAt: '2026-01-01T00:00:00.000Z' });

/** Counts the commands it really ran. */
class CountingExecutor implements Executor {
  readonly name = 'counting';
  readonly ran: string[] = [];
  private readonly inner = new SimExecutor({ durationMs: 40 });
  async run(c: AgentCommand, progress: (p: number, m?: string) => void, signal: AbortSignal) {
    this.ran.push(c.id);
    return this.inner.run(c, progress, signal);
  }
}

function agentFor(sb: FakeSouthbound, over: Partial<AgentOptions> = {}): { agent: Agent; log: MemoryLog; executor: CountingExecutor } {
  const log = new MemoryLog();
  const executor = new CountingExecutor();
  const agent = new Agent({
    server: sb.url,
    enrollmentToken: 'enroll-secret',
    discovery: new SimDiscovery({ seed: 'agent-test' }),
    executor,
    heartbeatMs: 50,
    rescanMs: 100,
    backoffMinMs: 20,
    backoffMaxMs: 100,
    progressIntervalMs: 0,
    bootId: 'boot-1',
    log,
    ...over,
  });
  sb.onStuck = () => agent.stop();
  cleanups.unshift(() => agent.stop());
  return { agent, log, executor };
}

test('enrolls once, heartbeats, reports hardware and status, runs a command once across a reconnect, stops on revoked', async () => {
  const sb = await startSouthbound();
  const dataDir = tmp();
  const cmd = command('cmd-1');
  sb.onStream = (s) => {
    if (s.index === 0) {
      s.send('command', cmd, '1');
      // Drop the connection once the result is in: the server resends unfinished commands on reconnect.
      sb.when('first result', () => sb.results.some((r) => r.body.state === 'succeeded'), () => s.end());
    } else {
      s.send('BOOKMARK', { revision: 1 }, '1');
      s.send('command', cmd, '2');
      sb.when('result posted again and the new config version reported', () => sb.results.filter((r) => r.body.state === 'succeeded').length >= 2 && sb.statuses.some((x) => x.configVersion === 'v3'), () => s.send('revoked', { reason: 'host deleted' }, '3'));
    }
  };
  const { agent, log, executor } = agentFor(sb, { dataDir });
  const exit = await agent.run();
  try {
    assert.deepEqual(sb.stuck, [], log.lines.join('\n'));
    assert.equal(exit.reason, 'revoked', log.lines.join('\n'));
    assert.match((exit as { message: string }).message, /host host-0a1b2c3d was invalidated or deleted.*new enrollment token/);
    assert.equal(sb.enrolls.length, 1);
    assert.equal(sb.enrolls[0].hostname, 'sim-agent-test');
    assert.ok(sb.enrolls[0].uuid && sb.enrolls[0].serialNumber && sb.enrolls[0].macs?.length);
    assert.deepEqual(executor.ran, ['cmd-1'], 'ran exactly once');
    assert.equal(sb.streams.length, 2);
    assert.equal(sb.streams[1].lastEventId, '1', 'resumed after the last event id');
    assert.ok(sb.heartbeats.length >= 1);
    assert.deepEqual(
      sb.heartbeats,
      sb.heartbeats.map((_, i) => i),
      'sequence numbers count up from 0',
    );
    assert.equal(sb.hardware.length, 1, 'an unchanged machine is reported once');
    assert.ok(Value.Check(HardwareReport, sb.hardware[0]));
    const results = sb.results.filter((r) => r.id === 'cmd-1').map((r) => r.body.state);
    assert.equal(results[0], 'running');
    assert.deepEqual(
      results.filter((s) => s !== 'running'),
      ['succeeded', 'succeeded'],
    );
    assert.ok(sb.statuses.some((s) => s.powerState === 'on' && s.configVersion === 'v3'), JSON.stringify(sb.statuses));
    assert.deepEqual(sb.invalid, []);
    const file = path.join(dataDir, 'agent.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(saved.token, undefined, 'the token is deleted');
    assert.equal(saved.hostId, 'host-0a1b2c3d');
    assert.ok(saved.revokedAt);
    assert.ok(log.lines.some((l) => /^error host host-0a1b2c3d was invalidated or deleted/.test(l)));
    const beats = sb.heartbeats.length;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(sb.heartbeats.length, beats, 'no heartbeats after the revocation');
  } finally {
    await sb.close();
  }
});

test('a restart reuses agent.json and the journal: no second enrollment, no second run; a revoked host needs a new enrollment token', async () => {
  const sb = await startSouthbound();
  const dataDir = tmp();
  sb.onStream = (s) => s.send('command', command('cmd-7'), '10');
  const first = agentFor(sb, { dataDir });
  const running = first.agent.run();
  await sb.waitFor('result', () => sb.results.some((r) => r.body.state === 'succeeded'));
  first.agent.stop();
  assert.deepEqual(await running, { reason: 'stopped' });
  assert.equal(statSync(path.join(dataDir, 'agent.json')).mode & 0o777, 0o600);
  assert.ok(JSON.parse(readFileSync(path.join(dataDir, 'agent.json'), 'utf8')).token);

  sb.onStream = (s) => {
    s.send('command', command('cmd-7'), '11');
    sb.when('result again', () => sb.results.filter((r) => r.body.state === 'succeeded').length >= 2, () => s.send('revoked', {}));
  };
  const second = agentFor(sb, { dataDir, enrollmentToken: undefined });
  const secondExit = await second.agent.run();
  assert.deepEqual(sb.stuck, [], second.log.lines.join('\n'));
  assert.equal(secondExit.reason, 'revoked');
  assert.equal(sb.enrolls.length, 1, 'no second enrollment');
  assert.deepEqual(second.executor.ran, [], 'the journal kept the command from running again');
  assert.deepEqual(first.executor.ran, ['cmd-7']);

  const same = agentFor(sb, { dataDir });
  const refused = await same.agent.run();
  assert.equal(refused.reason, 'refused');
  assert.match((refused as { message: string }).message, /the enrollment token given is the one it enrolled with/);
  assert.equal(sb.enrolls.length, 1);

  sb.enrollmentTokens.add('enroll-secret-2');
  sb.onStream = () => {};
  const fresh = agentFor(sb, { dataDir, enrollmentToken: 'enroll-secret-2' });
  const back = fresh.agent.run();
  await sb.waitFor('enrolled again', () => sb.enrolls.length === 2 && sb.heartbeats.length > 0);
  fresh.agent.stop();
  assert.deepEqual(await back, { reason: 'stopped' });
  await sb.close();
});

test('a 401 on a heartbeat is a revocation: the agent stops and forgets its token', async () => {
  const sb = await startSouthbound();
  const dataDir = tmp();
  const { agent } = agentFor(sb, { dataDir });
  const run = agent.run();
  await sb.waitFor('heartbeat', () => sb.heartbeats.length >= 2);
  sb.revokeAgentToken();
  const exit = await run;
  assert.equal(exit.reason, 'revoked');
  assert.match((exit as { message: string }).message, /refused the agent token/);
  assert.equal(JSON.parse(readFileSync(path.join(dataDir, 'agent.json'), 'utf8')).token, undefined);
  await sb.close();
});

test('enrollment: a host not registered yet (404) is retried; a refused enrollment token ends the agent', async () => {
  const sb = await startSouthbound();
  sb.enrollStatus = 404;
  const { agent, log } = agentFor(sb);
  const run = agent.run();
  await sb.waitFor('two attempts', () => sb.enrolls.length >= 2);
  sb.enrollStatus = 200;
  await sb.waitFor('enrolled and beating', () => sb.heartbeats.length > 0);
  agent.stop();
  assert.equal((await run).reason, 'stopped');
  assert.ok(log.lines.some((l) => /enrollment failed: no registered host matches this machine: register the host first; trying again/.test(l)));

  const bad = agentFor(sb, { enrollmentToken: 'wrong' });
  const exit = await bad.agent.run();
  assert.equal(exit.reason, 'refused');
  assert.match((exit as { message: string }).message, /refused the enrollment token/);
  const none = agentFor(sb, { enrollmentToken: undefined });
  assert.match(((await none.agent.run()) as { message: string }).message, /has not enrolled yet: enrolling needs an enrollment token/);
  await sb.close();
});

test('enrollment shed with 429 waits Retry-After, plus up to half again at random, between attempts', async () => {
  const sb = await startSouthbound();
  sb.enrollStatus = 429;
  const { agent } = agentFor(sb);
  const run = agent.run();
  await sb.waitFor('four attempts', () => sb.enrolls.length >= 4);
  sb.enrollStatus = 200;
  await sb.waitFor('enrolled and beating', () => sb.heartbeats.length > 0);
  agent.stop();
  assert.equal((await run).reason, 'stopped');
  const gaps = sb.enrollTimes.slice(1, 4).map((t, i) => t - sb.enrollTimes[i]);
  for (const g of gaps) assert.ok(g >= 990 && g <= 1500 + 400, `gaps ${gaps.map(Math.round).join(', ')} ms: Retry-After 1 s, jittered up to 1.5 s`);
  await sb.close();
});

test('hardware is reported again only when a rescan finds a change', async () => {
  const sb = await startSouthbound();
  const sim = new SimDiscovery({ seed: 'churny' });
  let scans = 0;
  const discovery: Discovery = { scan: () => (scans++, sim.scan()) };
  const { agent, log } = agentFor(sb, { discovery, rescanMs: 30 });
  const run = agent.run();
  await sb.waitFor('first report', () => sb.hardware.length === 1);
  const before = scans;
  await sb.waitFor('several rescans', () => scans >= before + 4);
  assert.equal(sb.hardware.length, 1, 'unchanged: not reported again');
  sim.churn();
  await sb.waitFor('second report', () => sb.hardware.length === 2);
  agent.stop();
  await run;
  await sb.close();
  assert.deepEqual(sb.hardware[1], await sim.scan());
  assert.ok(log.lines.some((l) => /hardware changed \((nics|usbs)\): reported it again/.test(l)), log.lines.join('\n'));
});

test('a command resent while it still runs is not started twice; an unreadable command is answered as failed', async () => {
  const sb = await startSouthbound();
  const slow = { ...command('cmd-slow') };
  sb.onStream = (s) => {
    s.send('command', slow, '1');
    s.send('command', slow, '2');
    s.send('command', { id: 'cmd-bad', type: 'reformat-everything', params: {} }, '3');
    s.end();
  };
  const { agent, executor } = agentFor(sb);
  const run = agent.run();
  await sb.waitFor('both answered', () => sb.results.some((r) => r.id === 'cmd-bad') && sb.results.some((r) => r.id === 'cmd-slow' && r.body.state === 'succeeded'));
  agent.stop();
  await run;
  assert.equal(executor.ran.filter((id) => id === 'cmd-slow').length, 1);
  const bad = sb.results.find((r) => r.id === 'cmd-bad')!.body;
  assert.deepEqual([bad.state, bad.recoverable], ['failed', false]);
  assert.ok(!executor.ran.includes('cmd-bad'));
  await sb.close();
});

test('stopping while the enrollment request is in flight ends the agent at once', async () => {
  const sb = await startSouthbound();
  sb.enrollDelayMs = 300;
  const { agent } = agentFor(sb);
  const run = agent.run();
  await sb.waitFor('enroll sent', () => sb.enrolls.length === 1);
  agent.stop();
  const started = Date.now();
  assert.deepEqual(await run, { reason: 'stopped' });
  assert.ok(Date.now() - started < 2000, 'no waiting for the stop grace');
  assert.equal(sb.heartbeats.length, 0, 'a stopped agent does not start heartbeating');
});

test('after a power command the result alone goes out at once; the power state follows with the next heartbeat', async () => {
  const sb = await startSouthbound();
  const off: AgentCommand = { id: 'cmd-2', type: 'power', params: { state: 'off' }, issuedAt: '2026-01-01T00:00:00.000Z' };
  let atResult: { offReports: number; heartbeats: number } | undefined;
  sb.onStream = (s) => {
    if (s.index !== 0) return;
    sb.when('the first status report', () => sb.statuses.length >= 1, () => s.send('command', off, '1'));
    sb.when('the power result', () => sb.results.some((r) => r.id === 'cmd-2' && r.body.state === 'succeeded'), () => {
      atResult = { offReports: sb.statuses.filter((x) => x.powerState === 'off').length, heartbeats: sb.heartbeats.length };
    });
  };
  const { agent, log } = agentFor(sb, { executor: new SimExecutor({ durationMs: 20 }), heartbeatMs: 600 });
  void agent.run();
  const deadline = Date.now() + 10_000;
  while (!sb.statuses.some((x) => x.powerState === 'off') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.ok(atResult, log.lines.join('\n'));
  assert.equal(atResult.offReports, 0, 'no status report raced the result');
  assert.ok(sb.statuses.some((x) => x.powerState === 'off'), 'the power state was reported');
  assert.ok(sb.heartbeats.length > atResult.heartbeats, 'with a later heartbeat');
});

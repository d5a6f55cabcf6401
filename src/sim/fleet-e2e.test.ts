import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call, openSse, type SseFrame } from '../testing/http-client.ts';
import { EIM_BIN, type ServerProcess, spawnServer } from '../testing/server-process.ts';
import { tempDir } from '../testing/test-stores.ts';
import { until } from '../testing/until.ts';
import { FleetSimulator } from './fleet-simulator.ts';

// End to end: a real server process (managers in it), real HTTP, simulated agents (the real agent
// code with simulated hardware and executors), and at the end the real agent on this machine.

const NODES = 50;
const HEARTBEAT_MS = 1000;
const SCRIPTED_RECOVERABLE = 47; // fails twice (recoverably), then installs
const SCRIPTED_UNRECOVERABLE = 48; // fails for good once, then installs after the spec changes
const SILENT = 49; // stops heartbeating, comes back
const CHURNER = 46; // its hardware changes

/** Each poll asks the server over HTTP. */
const POLL = { timeoutMs: 30_000, intervalMs: 100 };

describe('fleet end to end', () => {
  let server: ServerProcess;
  let sim: FleetSimulator;
  let base = '';
  let token = '';
  const tmp = tempDir();
  const api = (path: string, o: { method?: string; body?: unknown } = {}) => call(`${base}${path}`, { token, ...o });
  const all = async (path: string) => {
    const items: any[] = [];
    let pageToken: string | undefined;
    do {
      const r = await api(`${path}${path.includes('?') ? '&' : '?'}pageSize=1000${pageToken ? `&pageToken=${pageToken}` : ''}`);
      assert.equal(r.status, 200, r.body);
      items.push(...r.json.items);
      pageToken = r.json.nextPageToken;
    } while (pageToken);
    return items;
  };
  const hostOf = async (i: number) => (await all(`/hosts?filter=${encodeURIComponent(`name = "${sim.identities()[i].hostname}"`)}`))[0];
  const instanceOf = async (hostId: string) => (await all(`/instances?filter=${encodeURIComponent(`spec.hostId = ${hostId}`)}`))[0];

  before(async () => {
    server = await spawnServer(['--data-dir', tmp.dir]);
    base = `${server.url}/v1/projects/default`;
    token = server.token;
    const os = await api('/operating-systems', {
      method: 'POST',
      body: { name: 'ubuntu-22-04', labels: { default: 'true' }, spec: { imageUrl: 'https://images.example/u.img', sha256: 'a'.repeat(64), profileName: 'ubuntu', profileVersion: '22.04', osType: 'mutable', architecture: 'x86_64' } },
    });
    assert.equal(os.status, 201, os.body);
    const enrollment = await api('/tokens', { method: 'POST', body: { role: 'enrollment' } });
    sim = new FleetSimulator({
      server: server.url,
      enrollmentToken: enrollment.json.token,
      nodes: NODES,
      seed: 'e2e',
      heartbeatMs: HEARTBEAT_MS,
      provisionTimeMs: 200,
      rescanMs: 300,
      executorFor: (i) =>
        i === SCRIPTED_RECOVERABLE ? { script: ['recoverable', 'recoverable'] } : i === SCRIPTED_UNRECOVERABLE ? { script: ['unrecoverable'] } : {},
    });
    // Registered by the user, by uuid or serial number, before the nodes enrol.
    for (const n of sim.identities()) {
      const spec = n.index % 2 ? { uuid: n.uuid } : { serialNumber: n.serialNumber };
      const r = await api('/hosts', { method: 'POST', body: { name: n.hostname, spec: { ...spec, desiredState: 'onboarded', autoProvision: true } } });
      assert.equal(r.status, 201, r.body);
    }
    await sim.start();
  });
  after(async () => {
    await sim?.stop();
    await server?.kill();
    tmp.remove();
  });

  test(`${NODES} registered hosts are all onboarded, and their instances are running`, async () => {
    const hosts = await until(async () => {
      const h = await all('/hosts');
      return h.length === NODES && h.every((x) => x.status.currentState === 'onboarded' && x.status.hostStatus?.message === 'running') && h;
    }, 'every host onboarded', POLL);
    assert.equal(hosts.length, NODES);
    const instances = await until(async () => {
      const list = await all('/instances');
      const running = list.filter((i) => i.status.currentState === 'running');
      return list.length === NODES && running.length >= NODES - 1 && list;
    }, 'every instance running (but the one that fails for good)', POLL);
    for (const inst of instances.filter((i: any) => i.status.currentState === 'running')) {
      assert.ok(inst.status.currentOsId, 'currentOsId set');
      assert.equal(inst.status.provisioningStatus.indicator, 'idle');
      assert.equal(inst.status.observedGeneration, inst.generation);
    }
  });

  test('a recoverable failure is retried with growing delays, then succeeds', async () => {
    const host = await hostOf(SCRIPTED_RECOVERABLE);
    const inst = await until(() => instanceOf(host.id), 'the instance of the failing node', POLL);
    await until(async () => (await api(`/instances/${inst.id}`)).json.status.currentState === 'running', 'it runs', POLL);
    const events = (await api(`/events?id=${inst.id}&limit=1000`)).json.events as any[];
    const retries = events.filter((e) => /^retrying \(attempt \d+\)/.test(e.object.status.provisioningStatus?.message ?? '') && e.object.status.provisioningStatus.indicator === 'in_progress');
    const firstOf = (n: number) => retries.find((e) => e.object.status.provisioningStatus.message.startsWith(`retrying (attempt ${n})`));
    assert.ok(firstOf(1) && firstOf(2), `two retries are shown: ${retries.map((e) => e.object.status.provisioningStatus.message).join(' | ')}`);
    // The install commands: three. Each retry waits from its failure (the "retrying" status) at
    // least the backoff's delay, which doubles: 1 s then 2 s, ±20 % jitter. Lower bounds only: a
    // loaded machine adds to every wait, and between commands it adds the agent's time to fail.
    const cmds = (await api(`/events?kinds=commands&limit=1000`)).json.events.filter((e: any) => e.type === 'CREATED' && e.object.spec.ownerId === inst.id);
    assert.equal(cmds.length, 3, 'two failed attempts and the one that worked');
    const t = cmds.map((e: any) => Date.parse(e.at));
    const waited = [1, 2].map((n) => t[n] - Date.parse(firstOf(n).at));
    assert.ok(waited[0] >= 800 && waited[1] >= 1600, `waits after the failures grow with the backoff: ${waited[0]} ms (≥ 800), then ${waited[1]} ms (≥ 1600)`);
  });

  test('an unrecoverable failure leaves a clear error and no further attempts until the spec changes', async () => {
    const host = await hostOf(SCRIPTED_UNRECOVERABLE);
    const inst = await until(() => instanceOf(host.id), 'the instance', POLL);
    const failed = await until(async () => {
      const i = (await api(`/instances/${inst.id}`)).json;
      return i.status.provisioningStatus?.indicator === 'error' && i;
    }, 'the error status', POLL);
    assert.match(failed.status.provisioningStatus.message, /checksum mismatch/);
    assert.match(failed.status.provisioningStatus.message, /not retried until the spec changes/);
    const count = async () => (await api(`/events?kinds=commands&limit=1000`)).json.events.filter((e: any) => e.type === 'CREATED' && e.object.spec.ownerId === inst.id).length;
    const before = await count();
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(await count(), before, 'no new attempt while the spec is unchanged');
    const patched = await api(`/instances/${inst.id}`, { method: 'PATCH', body: { labels: { retry: 'please' } } });
    assert.equal(patched.status, 200);
    await until(async () => (await api(`/instances/${inst.id}`)).json.status.currentState === 'running', 'it reconciles and runs', POLL);
  });

  test('an agent that stops heartbeating shows "no connection" within 3 intervals + 1 s, and recovers', async () => {
    const host = await hostOf(SILENT);
    await sim.pause(SILENT);
    const t0 = Date.now();
    await until(async () => (await api(`/hosts/${host.id}`)).json.status.hostStatus?.message === 'no connection', 'no connection', { timeoutMs: 3 * HEARTBEAT_MS + 1000 + 500, intervalMs: 50 });
    const took = Date.now() - t0;
    assert.ok(took <= 3 * HEARTBEAT_MS + 1000, `took ${took} ms`);
    assert.equal((await api(`/hosts/${host.id}`)).json.status.hostStatus.indicator, 'error');
    sim.resume(SILENT);
    await until(async () => (await api(`/hosts/${host.id}`)).json.status.hostStatus?.message === 'running', 'running again', { timeoutMs: 10_000, intervalMs: 50 });
  });

  test("a hardware change produces exactly the child resources' events, and a user watching sees them", async () => {
    const host = await hostOf(CHURNER);
    const head = (await api('/hosts?pageSize=1')).json.revision;
    const frames: SseFrame[] = [];
    const stream = await openSse(`${base}/watch?since=${head}&kinds=host-nics,host-storages,host-gpus,host-usbs`, { token }, (f) => frames.push(f));
    const children = async () => {
      const out: any[] = [];
      for (const k of ['host-nics', 'host-storages', 'host-gpus', 'host-usbs']) out.push(...(await all(`/${k}?filter=${encodeURIComponent(`status.hostId = ${host.id}`)}`)));
      return out;
    };
    const before = await children();
    sim.churn(CHURNER);
    const mine = () => frames.filter((f) => f.event !== 'BOOKMARK' && JSON.parse(f.data).object.status.hostId === host.id);
    await until(async () => mine().length > 0, 'the change reaches the watcher', { timeoutMs: 10_000, intervalMs: 50 });
    await new Promise((r) => setTimeout(r, 1000)); // more rescans: an unchanged report writes nothing
    stream.close();
    const after = await children();
    const key = (r: any) => `${r.kind}/${r.status.deviceName}`;
    const beforeMap = new Map(before.map((r) => [key(r), r]));
    const afterMap = new Map(after.map((r) => [key(r), r]));
    const expected: string[] = [];
    for (const [k, r] of afterMap) if (!beforeMap.has(k)) expected.push(`CREATED ${k}`);
    else if (JSON.stringify(beforeMap.get(k).status) !== JSON.stringify(r.status)) expected.push(`UPDATED ${k}`);
    for (const k of beforeMap.keys()) if (!afterMap.has(k)) expected.push(`DELETED ${k}`);
    const seen = mine().map((f) => {
      const e = JSON.parse(f.data);
      return `${e.type} ${e.kind}/${e.object.status.deviceName}`;
    });
    assert.equal(expected.length, 1, `one device changed: ${expected}`);
    assert.deepEqual(seen, expected, 'exactly the child events');
  });

  test('a forced delete of an offline host completes', async () => {
    const host = await hostOf(0);
    await sim.pause(0);
    const t0 = Date.now();
    const r = await api(`/hosts/${host.id}?force=true`, { method: 'DELETE' });
    assert.equal(r.status, 200, r.body);
    assert.ok(Date.now() - t0 < 2000, 'at once');
    assert.equal((await api(`/hosts/${host.id}`)).status, 404);
    assert.equal((await all(`/host-nics?filter=${encodeURIComponent(`status.hostId = ${host.id}`)}`)).length, 0, 'its discovered children went with it');
    assert.equal((await all(`/instances?filter=${encodeURIComponent(`spec.hostId = ${host.id}`)}`)).length, 0, 'and its instance');
  });

  test('the real agent runs on this machine with the linux executor and reports its real CPU, memory and NICs', async (t) => {
    const enrollment = await api('/tokens', { method: 'POST', body: { role: 'enrollment', autoRegister: true } });
    const dir = join(tmp.dir, 'agent');
    const tokenFile = join(tmp.dir, 'enroll.token');
    writeFileSync(tokenFile, enrollment.json.token, { mode: 0o600 });
    const agent = spawn(process.execPath, [EIM_BIN, 'agent', '--server', server.url, '--enrollment-token-file', tokenFile, '--data-dir', dir, '--heartbeat', '1s', '--executor', 'linux'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    agent.stdout.on('data', (b) => (out += b));
    agent.stderr.on('data', (b) => (out += b));
    t.after(() => agent.kill('SIGTERM'));
    const agentJson = await until(async () => {
      try {
        return JSON.parse(readFileSync(join(dir, 'agent.json'), 'utf8'));
      } catch {
        return undefined;
      }
    }, 'agent.json', { timeoutMs: 30_000, intervalMs: 200 }).catch((e) => {
      throw new Error(`${(e as Error).message}\n${out}`);
    });
    const host = await until(async () => {
      const h = (await api(`/hosts/${agentJson.hostId}`)).json;
      return h.status?.hardware?.memoryBytes && h.status.hostStatus?.message === 'running' && h;
    }, 'its hardware report', POLL);
    const cpuModel = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].trim();
    const memKb = Number(/MemTotal:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);
    assert.equal(host.status.hardware.cpuModel, cpuModel);
    assert.equal(host.status.hardware.memoryBytes, memKb * 1024);
    const nics = await all(`/host-nics?filter=${encodeURIComponent(`status.hostId = ${host.id}`)}`);
    const macs = new Set(Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((a) => a.mac)));
    assert.ok(nics.length > 0, 'at least one NIC');
    for (const n of nics) assert.ok(macs.has(n.status.macAddress), `${n.status.deviceName} (${n.status.macAddress}) is a NIC of this machine`);
  });
});

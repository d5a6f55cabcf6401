import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { test } from 'node:test';
import { FleetSimulator } from '../sim/fleet-simulator.ts';
import { call } from '../testing/http-client.ts';
import { EIM_BIN, spawnServer } from '../testing/server-process.ts';
import { tempDir } from '../testing/test-stores.ts';

// The Inventory-interface seam: the same managers run in a separate process against the server's
// HTTP API (`eim server --managers none` + `eim managers`), and the loop still closes.

test('eim server --managers none + eim managers in another process: hosts onboard and instances run', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.remove());
  const server = await spawnServer(['--data-dir', tmp.dir, '--managers', 'none']);
  t.after(() => server.kill());
  assert.match(server.output(), /managers: none in this process/);
  const base = `${server.url}/v1/projects/default`;
  const api = (path: string, o: { method?: string; body?: unknown } = {}) => call(`${base}${path}`, { token: server.token, ...o });
  const managerToken = (await call(`${server.url}/v1/projects/*/tokens`, { method: 'POST', token: server.token, body: { role: 'manager' } })).json.token;
  assert.ok(managerToken);

  await api('/operating-systems', {
    method: 'POST',
    body: { name: 'os', labels: { default: 'true' }, spec: { imageUrl: 'https://i.example/os.img', sha256: 'b'.repeat(64), profileName: 'os', profileVersion: '1', osType: 'immutable', architecture: 'x86_64' } },
  });
  const sim = new FleetSimulator({ server: server.url, enrollmentToken: (await api('/tokens', { method: 'POST', body: { role: 'enrollment' } })).json.token, nodes: 3, seed: 'topo', heartbeatMs: 1000, provisionTimeMs: 100 });
  for (const n of sim.identities()) {
    const r = await api('/hosts', { method: 'POST', body: { name: n.hostname, spec: { uuid: n.uuid, desiredState: 'onboarded', autoProvision: true } } });
    assert.equal(r.status, 201);
  }
  await sim.start();
  t.after(() => sim.stop());

  // Without managers nothing reconciles: the hosts stay as registered.
  await new Promise((r) => setTimeout(r, 1500));
  const before = (await api('/hosts')).json.items;
  assert.ok(before.every((h: { status: { currentState?: string } }) => h.status.currentState === undefined), 'no manager has acted yet');

  const managers: ChildProcess = spawn(process.execPath, [EIM_BIN, 'managers', '--inventory', server.url, '--token', managerToken, '--stats-every', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  managers.stdout!.on('data', (b) => (out += b));
  managers.stderr!.on('data', (b) => (out += b));
  t.after(() => managers.kill('SIGTERM'));

  const deadline = Date.now() + 30_000;
  for (;;) {
    const instances = (await api('/instances')).json.items as { status: { currentState?: string } }[];
    if (instances.length === 3 && instances.every((i) => i.status.currentState === 'running')) break;
    assert.ok(Date.now() < deadline, `instances did not reach running through the out-of-process managers:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const hosts = (await api('/hosts')).json.items as { status: { currentState?: string } }[];
  assert.ok(hosts.every((h) => h.status.currentState === 'onboarded'));
  const ev = (await api('/events?kinds=instances&limit=1000')).json.events as { actor: string }[];
  assert.ok(ev.some((e) => e.actor.includes('manager')), 'the writes came from the manager token');
});

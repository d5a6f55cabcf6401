import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { LOCAL_RECEIVERS_REFUSED } from '../managers/index.ts';
import { call } from '../testing/http-client.ts';
import { EIM_BIN, spawnServer } from '../testing/server-process.ts';
import { tempDir } from '../testing/test-stores.ts';

// Server-side request forgery: an editor's alert receiver pointing at the server's own host
// (a Docker API on 127.0.0.1:2375, a cloud's metadata service) must not make the server call it.

const REFUSED_LINE = LOCAL_RECEIVERS_REFUSED;

test('eim server --alert-local-receivers deny: an editor\'s receiver on 127.0.0.1 and on localhost is refused by the test notification, and the listener gets nothing', async () => {
  let reached = 0;
  const listener = createServer((req, res) => {
    reached++;
    req.resume();
    res.writeHead(200).end('secret of the host');
  });
  listener.on('connection', () => reached++);
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const port = (listener.address() as { port: number }).port;
  const tmp = tempDir();
  const server = await spawnServer(['--data-dir', tmp.dir, '--alert-local-receivers', 'deny']);
  try {
    assert.ok(server.output().includes(REFUSED_LINE), server.output());
    const api = (path: string, token: string, method = 'GET', body?: unknown) => call(`${server.url}/v1/projects/default${path}`, { method, token, body });
    const editor = (await api('/tokens', server.token, 'POST', { role: 'editor' })).json.token as string;
    for (const [name, host] of [['docker', '127.0.0.1'], ['by-name', 'localhost']]) {
      const created = await api('/alert-receivers', editor, 'POST', { name, spec: { webhook: { url: `http://${host}:${port}/containers/x/kill` } } });
      assert.equal(created.status, 201, created.body);
      const r = await api(`/alert-receivers/${created.json.id}:test`, editor, 'POST');
      assert.equal(r.status, 200, r.body);
      assert.equal(r.json.ok, false);
      assert.match(r.json.detail, /^refused: (127\.0\.0\.1|::1) is a loopback address: this server does not deliver to its own host or link \(--alert-local-receivers allow/);
      assert.ok(!r.body.includes('secret of the host'));
    }
    assert.equal(reached, 0, 'nothing reached the listener');
  } finally {
    await server.kill();
    await new Promise((r) => listener.close(r));
    tmp.remove();
  }
});

test('eim server allows local receivers by default on loopback only (the refusal line otherwise); a bad --alert-local-receivers is a usage error', async () => {
  const tmp = tempDir();
  const server = await spawnServer(['--data-dir', tmp.dir]);
  try {
    assert.ok(!server.output().includes(REFUSED_LINE), server.output());
  } finally {
    await server.kill();
    tmp.remove();
  }
  const wide = tempDir();
  const everywhere = await spawnServer(['--data-dir', wide.dir, '--host', '0.0.0.0']);
  try {
    assert.ok(everywhere.output().includes(REFUSED_LINE), everywhere.output());
  } finally {
    await everywhere.kill();
    wide.remove();
  }
  const bad = spawnSync(process.execPath, [EIM_BIN, 'server', '--alert-local-receivers', 'maybe'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--alert-local-receivers <mode>' argument 'maybe' is invalid\. Allowed choices are allow, deny/);
  const badManagers = spawnSync(process.execPath, [EIM_BIN, 'managers', '--alert-local-receivers', 'yes'], { encoding: 'utf8', env: { ...process.env, EIM_INVENTORY: 'http://127.0.0.1:1', EIM_TOKEN: 'x' } });
  assert.equal(badManagers.status, 2);
  assert.match(badManagers.stderr, /Allowed choices are allow, deny/);
});

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { saveConfig } from '../cli/cli-config.ts';
import { call } from '../testing/http-client.ts';
import { EIM_BIN, type ServerProcess, spawnServer } from '../testing/server-process.ts';
import { tempDir } from '../testing/test-stores.ts';
import { until } from '../testing/until.ts';

// End to end: a real server process (managers in it), `eim sim` as a process, the CLI, and a
// webhook receiver in this test. The simulator is killed (its hosts go dark), started again (they
// come back); the server is killed with SIGKILL while a notification is in flight.

const NODES = 4;
const POLL = { timeoutMs: 40_000, intervalMs: 100 };
const HMAC = 'e2e-hmac-secret-7f3a91';
const HEADER = 'Bearer e2e-header-secret-55d1';

interface Post {
  body: any;
  key: string;
  signature?: string;
  answered: boolean;
}

describe('alerts end to end: eim sim goes dark and comes back; the server dies mid-delivery', () => {
  const tmp = tempDir();
  const dataDir = join(tmp.dir, 'data');
  const config = join(tmp.dir, 'config.json');
  const stateDir = join(tmp.dir, 'sim');
  let server: ServerProcess;
  let serverLogs = '';
  let sim: ChildProcess | undefined;
  const posts: Post[] = [];
  /** 'ok' answers at once; 'hold' keeps the request open (the server is killed meanwhile). */
  let mode: 'ok' | 'hold' = 'ok';
  const held: ServerResponse[] = [];
  const hook = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const post: Post = { body: JSON.parse(raw), key: String(req.headers['idempotency-key']), signature: req.headers['x-eim-signature'] as string | undefined, answered: mode === 'ok' };
      posts.push(post);
      if (mode === 'ok') res.writeHead(200).end('thanks');
      else held.push(res);
    });
  });
  let hookUrl = '';
  const cliOutputs: string[] = [];

  const start = async () => {
    server = await spawnServer(['--data-dir', dataDir, '--alert-tick', '100']);
    server.proc.stdout!.on('data', (b) => (serverLogs += b));
    server.proc.stderr!.on('data', (b) => (serverLogs += b));
    saveConfig({ server: server.url, token: server.token, project: 'default' }, config);
  };
  const eim = (args: string[]) =>
    new Promise<{ code: number; out: string }>((resolve) => {
      const p = spawn(process.execPath, [EIM_BIN, ...args], { env: { ...process.env, EIM_CONFIG: config, NO_COLOR: '1', EIM_SERVER: undefined, EIM_TOKEN: undefined }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (b) => (out += b));
      p.stderr.on('data', (b) => (out += b));
      p.on('close', (code) => {
        cliOutputs.push(out);
        resolve({ code: code ?? -1, out });
      });
    });
  const startSim = () => {
    sim = spawn(process.execPath, [EIM_BIN, 'sim', '--nodes', String(NODES), '--prefix', 'e2e', '--heartbeat', '1s', '--auto-register', '--state-dir', stateDir], {
      env: { ...process.env, EIM_CONFIG: config, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'ignore'],
    });
  };
  const killSim = async () => {
    const s = sim!;
    if (s.exitCode === null && s.signalCode === null) {
      const gone = new Promise((r) => s.once('exit', r));
      s.kill('SIGKILL');
      await gone;
    }
  };
  const api = (path: string, o: { method?: string; body?: unknown } = {}) => call(`${server.url}/v1/projects/default${path}`, { token: server.token, ...o });
  const alerts = async (filter: string) => (await api(`/alerts?pageSize=1000&filter=${encodeURIComponent(filter)}`)).json.items as any[];

  after(async () => {
    if (sim) await killSim();
    await server?.kill('SIGKILL');
    for (const r of held) r.destroy();
    await new Promise((r) => hook.close(r));
    tmp.remove();
  });

  test('connection lost: every host fires after forSeconds in one grouped, signed POST; back: one resolve POST; SIGKILL mid-delivery: resent once, nothing acknowledged twice', async () => {
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/alerts`;
    await start();
    startSim();
    await until(async () => {
      const hosts = (await api('/hosts?pageSize=100')).json.items as any[];
      return hosts.length === NODES && hosts.every((h) => h.status.hostStatus?.message === 'running');
    }, 'every simulated host running', POLL);

    // A receiver with secrets; the default rule, shortened and pointed at it.
    const created = await eim(['create', 'alert-receiver', 'ops', '--set', `spec.webhook.url=${hookUrl}`, '--set', `spec.webhook.hmacSecret=${HMAC}`, '--set', `spec.webhook.headers.Authorization=${HEADER}`, '--set', 'spec.groupWaitSeconds=1', '--set', 'spec.groupIntervalSeconds=3']);
    assert.equal(created.code, 0, created.out);
    const receiver = (await api('/alert-receivers?filter=name%20%3D%20ops')).json.items[0];
    assert.equal(receiver.spec.webhook.hmacSecret, '(set)');
    const rule = (await api('/alert-rules?filter=name%20%3D%20host-connection-lost')).json.items[0];
    assert.ok(rule, 'the default rule exists');
    const patched = await api(`/alert-rules/${rule.id}`, { method: 'PATCH', body: { spec: { forSeconds: 1, receiverIds: [receiver.id] } } });
    assert.equal(patched.status, 200, patched.body);

    const tested = await eim(['alert-receiver', 'test', 'ops']);
    assert.equal(tested.code, 0, tested.out);
    assert.match(tested.out, /^delivered to ops: HTTP 200: thanks$/m);
    assert.equal(posts.length, 1);
    assert.equal(posts[0].body.alerts[0].labels.alertname, 'eim-test');

    // Dark: the simulator dies.
    await killSim();
    await until(async () => (await alerts('status.state = firing')).length === NODES, 'every host firing', POLL);
    await until(() => posts.length === 2, 'the firing notification', POLL);
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(posts.length, 2, `one grouped POST, not one per host: ${posts.map((p) => p.body.alerts.length).join(', ')}`);
    const firing = posts[1];
    assert.equal(firing.body.status, 'firing');
    assert.equal(firing.body.alerts.length, NODES);
    assert.equal(firing.body.commonLabels.alertname, 'host-connection-lost');
    assert.match(firing.signature ?? '', /^sha256=[0-9a-f]{64}$/);
    const metrics = (await call(`${server.url}/metrics`)).body;
    assert.match(metrics, new RegExp(`^eim_alerts\\{project="default",state="firing",severity="critical"\\} ${NODES}$`, 'm'));
    assert.match(metrics, /^eim_alert_notifications_total\{receiver="ops",result="ok"\} [1-9]/m);
    const got = await eim(['get', 'alerts', '--filter', 'status.state = firing']);
    assert.equal(got.code, 0, got.out);
    assert.equal((got.out.match(/firing/g) ?? []).length, NODES, got.out);
    assert.match(got.out, /critical/);
    assert.match(got.out, /lost its connection/);

    // Back, with the receiver holding the first resolve notification open; the server is killed meanwhile.
    mode = 'hold';
    startSim();
    await until(() => posts.length === 3, 'a resolve notification (held open)', POLL);
    const heldPost = posts[2];
    assert.equal(heldPost.body.status, 'resolved');
    await server.kill('SIGKILL');
    for (const r of held.splice(0)) r.destroy();
    mode = 'ok';
    await start();
    const resolvedOf = (ps: Post[]) => ps.flatMap((p) => p.body.alerts.filter((a: any) => a.status === 'resolved').map((a: any) => a.fingerprint));
    await until(() => new Set(resolvedOf(posts.slice(3))).size === NODES, 'every host resolved, delivered', POLL);
    // What the killed server sent but never heard acknowledged goes out again (with what resolved since; the same content would carry the same idempotency key).
    for (const fp of resolvedOf([heldPost])) assert.equal(resolvedOf(posts.slice(3)).filter((x) => x === fp).length, 1, `${fp} resolved, delivered once after the restart`);
    await until(async () => (await alerts('status.state = resolved')).every((a) => a.status.notified?.[receiver.id]?.state === 'resolved'), 'acknowledged', POLL);
    await new Promise((r) => setTimeout(r, 3000));
    const answered = posts.filter((p) => p.answered && p.body.groupLabels.alertname !== 'eim-test').flatMap((p) => p.body.alerts.map((a: any) => `${a.fingerprint}:${a.status}`));
    assert.equal(new Set(answered).size, answered.length, `nothing acknowledged is sent twice: ${answered.join(' ')}`);
    assert.equal(answered.length, 2 * NODES, 'each host fired once and resolved once');

    // A silence made and expired from the CLI.
    const silence = await eim(['silence', 'create', '--filter', 'labels.alertname = host-connection-lost', '--duration', '1h', '--comment', 'e2e', '--name', 'quiet']);
    assert.equal(silence.code, 0, silence.out);
    assert.match(silence.out, /^silence\/quiet \(silence-[0-9a-f]{8}\) until /m);
    const expired = await eim(['silence', 'expire', 'quiet']);
    assert.match(expired.out, /silence\/quiet expired/);
    const bad = await eim(['silence', 'create', '--filter', 'labels.site = ', '--comment', 'x']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.out, /filter/);

    // The secrets: in no response, event, log line or CLI output.
    const everything = JSON.stringify([(await api('/events?limit=1000')).body, (await api('/alert-receivers')).body, (await api(`/alert-receivers/${receiver.id}`)).body]) + serverLogs + cliOutputs.join('\n');
    for (const secret of [HMAC, HEADER]) assert.ok(!everything.includes(secret), `the secret ${secret} leaked`);
    const secretsAsUser = await api(`/alert-receivers/${receiver.id}/secrets`);
    assert.equal(secretsAsUser.status, 403, 'an admin token does not read the secrets');
    assert.ok(!secretsAsUser.body.includes(HMAC));
  });
});

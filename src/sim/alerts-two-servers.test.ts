import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import { after, test } from 'node:test';
import { call } from '../testing/http-client.ts';
import { ServerCluster } from '../testing/server-cluster.ts';
import { EIM_BIN } from '../testing/server-process.ts';
import { createTestDatabase, PG_URL, pgReachable, tempDir } from '../testing/test-stores.ts';
import { until } from '../testing/until.ts';

// Issue 13 with two servers (issue 10): two real `eim server` processes on one PostgreSQL
// database, `eim sim` given both URLs. The alert manager runs in the server holding the managers
// lock; the other is standby. The fleet goes dark; the holder is killed with SIGKILL while the
// receiver holds its firing notification open; the standby takes over the managers and sends what
// was never acknowledged, once; nothing acknowledged is ever sent twice, by either server.

const NODES = 4;
const POLL = { timeoutMs: 60_000, intervalMs: 100 };

interface Post {
  body: any;
  answered: boolean;
}

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
});

test('two servers on PostgreSQL: one sends, the standby takes over after a kill -9 mid-delivery; nothing acknowledged is sent twice', async (t) => {
  if (!(await pgReachable())) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  const tmp = tempDir();
  cleanups.push(() => tmp.remove());

  const posts: Post[] = [];
  let mode: 'ok' | 'hold' = 'ok';
  const held: ServerResponse[] = [];
  const hook = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      posts.push({ body: JSON.parse(raw), answered: mode === 'ok' });
      if (mode === 'ok') res.writeHead(200).end('thanks');
      else held.push(res);
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => { for (const h of held) h.destroy(); hook.close(() => r()); }));
  const hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/alerts`;

  const cluster = await ServerCluster.start(2, { store: db.url, dataDir: tmp.dir, args: ['--alert-tick', '100'] });
  cleanups.push(() => cluster.close());
  const token = cluster.token;
  const api = (path: string, o: { method?: string; body?: unknown } = {}) => call(`${cluster.live.url}/v1/projects/default${path}`, { token, ...o });

  let sim: ChildProcess | undefined;
  let simOut = '';
  const startSim = () => {
    sim = spawn(process.execPath, [EIM_BIN, 'sim', '--server', cluster.urls.join(','), '--token', token, '--nodes', String(NODES), '--prefix', 'two', '--heartbeat', '1s', '--auto-register', '--state-dir', `${tmp.dir}/sim`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    sim.stdout!.on('data', (b: Buffer) => (simOut += b.toString()));
    sim.stderr!.on('data', (b: Buffer) => (simOut += b.toString()));
  };
  const killSim = async () => {
    const s = sim!;
    if (s.exitCode === null && s.signalCode === null) {
      const gone = new Promise((r) => s.once('exit', r));
      s.kill('SIGKILL');
      await gone;
    }
  };
  cleanups.push(() => (sim ? killSim() : undefined));
  const hosts = async () => (await api('/hosts?pageSize=100')).json.items as any[];
  startSim();
  await until(async () => (await hosts()).filter((h) => h.status.hostStatus?.message === 'running').length === NODES, 'every simulated host running', POLL);

  // Which server runs the managers (the alert manager with them): it says so in its log.
  const holder = await until(() => {
    const i = cluster.servers.findIndex((s) => s !== undefined && /managers: running in this process/.test(s.output()));
    return i >= 0 ? { i } : undefined;
  }, 'a server running the managers', POLL);
  const standby = 1 - holder.i;
  assert.match(cluster.servers[standby]!.output(), /managers: standby/);

  const receiver = (await api('/alert-receivers', { method: 'POST', body: { name: 'ops', spec: { webhook: { url: hookUrl }, groupWaitSeconds: 1, groupIntervalSeconds: 3 } } })).json;
  assert.ok(receiver.id, JSON.stringify(receiver));
  const rule = (await api('/alert-rules?filter=name%20%3D%20host-connection-lost')).json.items[0];
  assert.equal((await api(`/alert-rules/${rule.id}`, { method: 'PATCH', body: { spec: { forSeconds: 1, receiverIds: [receiver.id] } } })).status, 200);

  // Dark, with the receiver holding the firing notification open: the holder dies meanwhile.
  mode = 'hold';
  await killSim();
  await until(() => posts.length >= 1, 'the firing notification (held open)', POLL);
  const heldPost = posts[0];
  assert.equal(heldPost.body.status, 'firing');
  await cluster.kill(holder.i);
  for (const r of held.splice(0)) r.destroy();
  mode = 'ok';

  const firingOf = (ps: Post[]) => ps.flatMap((p) => p.body.alerts.filter((a: any) => a.status === 'firing').map((a: any) => a.fingerprint as string));
  await until(() => new Set(firingOf(posts.slice(1))).size === NODES, 'every host firing, delivered by the server that took over', POLL);
  const survivor = cluster.servers[standby]!;
  assert.match(survivor.output(), /managers: running in this process/, 'the standby took the managers over');
  for (const fp of firingOf([heldPost])) assert.equal(firingOf(posts.slice(1)).filter((x) => x === fp).length, 1, `${fp}: never acknowledged, sent again once`);
  const alertsNow = async (filter: string) => (await api(`/alerts?pageSize=100&filter=${encodeURIComponent(filter)}`)).json.items as any[];
  await until(async () => (await alertsNow('status.state = firing')).filter((a) => a.status.notified?.[receiver.id]?.state === 'firing').length === NODES, 'the firing states acknowledged', POLL);

  // Back: the agents find the surviving server; each alert resolves, delivered once.
  startSim();
  try {
    await until(() => posts.flatMap((p) => p.body.alerts.filter((a: any) => a.status === 'resolved')).length >= NODES, 'every host resolved, delivered', POLL);
  } catch (e) {
    const state = { hosts: (await hosts()).map((h) => `${h.name} ${h.status.hostStatus?.message}`), alerts: (await alertsNow('')).map((a) => `${a.name} ${a.status.state} ${JSON.stringify(a.status.notified)}`), posts: posts.map((p) => `${p.body.status} ${p.body.alerts.length}`) };
    throw new Error(`${(e as Error).message}\n${JSON.stringify(state, null, 1)}\n--- sim ---\n${simOut.slice(-3000)}\n${cluster.output()}`);
  }
  await until(async () => (await alertsNow('status.state = resolved')).filter((a) => a.status.notified?.[receiver.id]?.state === 'resolved').length === NODES, 'the resolved states acknowledged', POLL);
  // Longer than a groupInterval: anything either server would send twice has had its chance.
  await new Promise((r) => setTimeout(r, 4000));
  const answered = posts.filter((p) => p.answered).flatMap((p) => p.body.alerts.map((a: any) => `${a.fingerprint}:${a.status}`));
  assert.equal(new Set(answered).size, answered.length, `nothing acknowledged is sent twice: ${answered.join(' ')}`);
  assert.equal(answered.length, 2 * NODES, 'each host fired once and resolved once, acknowledged');
});

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { test, type TestContext } from 'node:test';
import { ALL_PROJECTS, type Caller, type Inventory } from '../../api/index.ts';
import { Informer } from '../../client/index.ts';
import { InventoryService } from '../../inventory/index.ts';
import { DIALECTS, type Dialect, openTestStore, PG_URL, pgReachable } from '../../testing/test-stores.ts';
import { until } from '../../testing/until.ts';
import type { Host, Instance, Region, Site } from '../shared/manager-deps.ts';
import { AlertManager } from './alert-manager.ts';

const P = 'default';
const ADMIN: Caller = { subject: 'admin', grants: [{ project: '*', role: 'admin' }] };
const MANAGER: Caller = { subject: 'managers', grants: [{ project: '*', role: 'manager' }] };
const SECRET = 's3cret-hmac-key-0001';
const POLL = { timeoutMs: 15_000, intervalMs: 50 };

interface Hook {
  url: string;
  posts: { body: any; raw: string; headers: Record<string, string | string[] | undefined> }[];
  /** Answer with this status (503: down). */
  status: number;
  close(): Promise<void>;
}

async function webhookServer(): Promise<Hook> {
  const hook: Hook = { url: '', posts: [], status: 200, close: async () => {} };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      if (hook.status === 200) hook.posts.push({ body: JSON.parse(raw), raw, headers: req.headers });
      res.writeHead(hook.status).end(hook.status === 200 ? '{"ok":true}' : 'down');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hook.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  hook.close = () => new Promise((r) => server.close(() => r()));
  return hook;
}

interface World {
  svc: InventoryService;
  admin: Inventory;
  mgr: Inventory;
  hook: Hook;
  start(extra?: Partial<ConstructorParameters<typeof AlertManager>[0]>): Promise<AlertManager>;
}

async function withWorld(t: TestContext, dialect: Dialect, body: (w: World) => Promise<void>): Promise<void> {
  if (dialect === 'postgres' && !(await pgReachable())) return void t.skip(`PostgreSQL not reachable at ${PG_URL}`);
  const ts = await openTestStore(dialect);
  const svc = new InventoryService(ts.store);
  const hook = await webhookServer();
  const running: { m: AlertManager; informers: Informer<string, any>[] }[] = [];
  try {
    await svc.start();
    await svc.ensureProject(P);
    const mgr = svc.as(MANAGER);
    const start = async (extra: Partial<ConstructorParameters<typeof AlertManager>[0]> = {}) => {
      const base = { inventory: mgr, project: ALL_PROJECTS };
      const hosts = new Informer<'Host', Host>({ ...base, kind: 'Host' });
      const instances = new Informer<'Instance', Instance>({ ...base, kind: 'Instance' });
      const regions = new Informer<'Region', Region>({ ...base, kind: 'Region' });
      const sites = new Informer<'Site', Site>({ ...base, kind: 'Site' });
      const informers = [hosts, instances, regions, sites];
      for (const i of informers) i.start();
      const m = new AlertManager({
        ...base, hosts, instances, regions, sites, tickMs: 50, externalUrl: 'https://eim.example', allowLocalReceivers: true,
        revealSpec: (p, k, id) => svc.revealSpec(MANAGER, p, k, id), deliveryBackoff: { baseMs: 100, maxMs: 400 }, ...extra,
      }).start();
      running.push({ m, informers });
      await m.synced;
      return m;
    };
    await body({ svc, admin: svc.as(ADMIN), mgr, hook, start });
  } finally {
    for (const r of running) {
      await r.m.stop();
      await Promise.all(r.informers.map((i) => i.stop()));
    }
    await hook.close();
    await svc.stop();
    await ts.cleanup();
  }
}

const lost = { hostStatus: { indicator: 'error', message: 'no connection', timestamp: new Date().toISOString() } };
const back = { hostStatus: { indicator: 'idle', message: 'running', timestamp: new Date().toISOString() } };

for (const dialect of DIALECTS) {
  test(`${dialect}: hosts losing their connection: pending, firing after forSeconds, one grouped signed POST; resolved, one more; nothing twice after a restart`, async (t) => {
    await withWorld(t, dialect, async ({ admin, mgr, hook, start }) => {
      const region = await admin.create(P, 'Region', { name: 'eu', spec: {} });
      const site = await admin.create(P, 'Site', { name: 'berlin-1', spec: { regionId: region.id } });
      const other = await admin.create(P, 'Site', { name: 'paris-1', spec: { regionId: region.id } });
      const hosts = [];
      for (let i = 0; i < 3; i++) hosts.push(await admin.create(P, 'Host', { name: `edge-${i}`, spec: { siteId: i < 2 ? site.id : other.id, serialNumber: `SN${i}` } }));
      const receiver = await admin.create(P, 'AlertReceiver', {
        name: 'ops', spec: { webhook: { url: hook.url, hmacSecret: SECRET }, groupWaitSeconds: 3, groupIntervalSeconds: 1, repeatIntervalSeconds: 3600 },
      });
      const rule = await admin.create(P, 'AlertRule', {
        name: 'lost', spec: { kind: 'hosts', filter: 'status.hostStatus.message = "no connection"', forSeconds: 1, severity: 'critical', summary: '{{name}} at {{site.name}} lost', receiverIds: [receiver.id], target: { regionId: region.id } },
      });
      let m = await start();
      for (const h of hosts.slice(0, 2)) await mgr.updateStatus(P, 'Host', h.id, lost);
      const pending = await until(async () => {
        const items = (await admin.list(P, 'Alert', { filter: `status.ruleId = ${rule.id}` })).items;
        return items.length === 2 && items;
      }, 'two alerts', POLL);
      assert.ok(pending.every((a: any) => a.status.state === 'pending' || a.status.state === 'firing'));
      await until(async () => (await admin.list(P, 'Alert', { filter: 'status.state = firing' })).items.length === 2, 'both firing', POLL);
      await until(() => hook.posts.length === 1, 'one POST', POLL);
      const post = hook.posts[0];
      assert.equal(post.body.version, '4');
      assert.equal(post.body.status, 'firing');
      assert.equal(post.body.receiver, 'ops');
      assert.equal(post.body.alerts.length, 2, 'both hosts of berlin-1 in one notification');
      assert.deepEqual(post.body.groupLabels, { alertname: 'lost', site: 'berlin-1' });
      assert.equal(post.body.commonLabels.site, 'berlin-1');
      assert.equal(post.body.commonLabels.severity, 'critical');
      assert.match(post.body.alerts[0].annotations.summary, /^edge-[01] at berlin-1 lost$/);
      assert.match(post.body.alerts[0].generatorURL, /^https:\/\/eim\.example\/#\/hosts\/host-/);
      assert.equal(post.headers['x-eim-signature'], `sha256=${createHmac('sha256', SECRET).update(post.raw).digest('hex')}`);
      assert.ok(post.headers['idempotency-key']);
      const firing = (await admin.list(P, 'Alert', { filter: 'status.state = firing' })).items[0] as any;
      await until(async () => (await admin.get(P, 'Alert', firing.id) as any).status.notified?.[receiver.id]?.state === 'firing', 'acknowledged on the alert', POLL);

      // A restart: the new manager finds everything acknowledged and sends nothing.
      await m.stop();
      m = await start();
      await new Promise((r) => setTimeout(r, 800));
      assert.equal(hook.posts.length, 1, 'nothing sent twice after a restart');

      // Back: resolved (the group is open, so each resolve goes out at the next groupInterval), each once.
      for (const h of hosts.slice(0, 2)) await mgr.updateStatus(P, 'Host', h.id, back);
      const resolved = () => hook.posts.slice(1).flatMap((p) => p.body.alerts);
      await until(() => resolved().length === 2, 'the resolve notifications', POLL);
      assert.ok(hook.posts.slice(1).every((p) => p.body.status === 'resolved'));
      assert.ok(resolved().every((a: any) => a.status === 'resolved' && a.endsAt > a.startsAt));
      assert.equal(new Set(resolved().map((a: any) => a.fingerprint)).size, 2);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(resolved().length, 2, 'nothing twice');
      void m;
    });
  });

  test(`${dialect}: a silence mutes, maintenance suppresses, a receiver down then up gets everything once`, async (t) => {
    await withWorld(t, dialect, async ({ admin, mgr, hook, start }) => {
      const region = await admin.create(P, 'Region', { name: 'eu', spec: {} });
      const site = await admin.create(P, 'Site', { name: 'berlin-1', spec: { regionId: region.id } });
      const a = await admin.create(P, 'Host', { name: 'a', spec: { siteId: site.id, serialNumber: 'A' } });
      const b = await admin.create(P, 'Host', { name: 'b', spec: { siteId: site.id, serialNumber: 'B' } });
      const receiver = await admin.create(P, 'AlertReceiver', { name: 'ops', spec: { webhook: { url: hook.url }, groupWaitSeconds: 0, groupIntervalSeconds: 1, repeatIntervalSeconds: 3600 } });
      await admin.create(P, 'AlertRule', { name: 'err', spec: { kind: 'hosts', filter: 'status.hostStatus.indicator = error', forSeconds: 0, severity: 'warning', receiverIds: [receiver.id] } });
      await start();
      // In maintenance: nothing fires.
      await mgr.updateStatus(P, 'Host', b.id, { maintenance: { inWindow: true, purposes: ['maintenance'], scheduleIds: [] } });
      // Silenced: firing, nothing sent.
      await admin.create(P, 'Silence', { name: 'quiet', spec: { filter: 'labels.resource = a', endsAt: new Date(Date.now() + 3600_000).toISOString(), comment: 'fixing it' } });
      await mgr.updateStatus(P, 'Host', a.id, lost);
      await mgr.updateStatus(P, 'Host', b.id, lost);
      const alert = await until(async () => (await admin.list(P, 'Alert', { filter: 'status.state = firing' })).items[0] as any, 'a fires', POLL);
      assert.equal(alert.labels.resource, 'a');
      await until(async () => ((await admin.get(P, 'Alert', alert.id)) as any).status.silencedBy?.length === 1, 'shown silenced', POLL);
      await new Promise((r) => setTimeout(r, 600));
      assert.equal((await admin.list(P, 'Alert', { filter: 'labels.resource = b' })).items.length, 0, 'b in maintenance: no alert');
      assert.equal(hook.posts.length, 0, 'silenced: nothing sent');
      // The receiver goes down; b leaves maintenance and fires; deliveries fail and are retried.
      hook.status = 503;
      await mgr.updateStatus(P, 'Host', b.id, { maintenance: { inWindow: false, purposes: [], scheduleIds: [] } });
      await until(async () => ((await admin.get(P, 'AlertReceiver', receiver.id)) as any).status.lastDelivery?.attempt >= 2, 'retried', POLL);
      const failed = (await admin.list(P, 'Alert', { filter: 'labels.resource = b' })).items[0] as any;
      assert.equal(failed.status.deliveries[0].ok, false);
      assert.match(failed.status.deliveries[0].error, /HTTP 503/);
      hook.status = 200;
      await until(() => hook.posts.length === 1, 'delivered once back up', POLL);
      assert.deepEqual(hook.posts[0].body.alerts.map((x: any) => x.labels.resource), ['b']);
      await new Promise((r) => setTimeout(r, 800));
      assert.equal(hook.posts.length, 1, 'once');
    });
  });
}

test('sqlite: a metric condition fires from the latest values after forSeconds and resolves when the value drops; a rule edited re-evaluates, deleted resolves', async (t) => {
  await withWorld(t, 'sqlite', async ({ admin, start }) => {
    const full = await admin.create(P, 'Host', { name: 'full', spec: { serialNumber: 'F' } });
    await admin.create(P, 'Host', { name: 'roomy', spec: { serialNumber: 'R' } });
    const disk = new Map<string, number>([[full.id, 95]]);
    await start({ metricValue: async (hostId, name) => (name === 'disk_used_percent' ? (disk.get(hostId) ?? 40) : undefined), metricEveryMs: 100 });
    const rule = await admin.create(P, 'AlertRule', { name: 'disk', spec: { kind: 'hosts', metric: 'disk_used_percent > 90', forSeconds: 1, severity: 'warning', summary: '{{name}} disk at {{value}} %' } });
    const fired = await until(async () => (await admin.list(P, 'Alert', { filter: 'status.state = firing' })).items[0] as any, 'the full host fires', POLL);
    assert.equal(fired.labels.resource, 'full');
    assert.equal(fired.status.annotations.summary, 'full disk at 95 %');
    assert.equal((await admin.list(P, 'Alert')).items.length, 1, 'the roomy host does not');
    disk.set(full.id, 50);
    await until(async () => ((await admin.get(P, 'Alert', fired.id)) as any).status.state === 'resolved', 'resolved when the disk has room', POLL);
    disk.set(full.id, 99);
    await until(async () => ((await admin.get(P, 'Alert', fired.id)) as any).status.state === 'firing', 'the same alert fires again', POLL);
    // A rule edited to a threshold the host does not reach: resolved; disabled, deleted: nothing fires.
    await admin.update(P, 'AlertRule', rule.id, { spec: { metric: 'disk_used_percent > 99.5' } });
    await until(async () => ((await admin.get(P, 'Alert', fired.id)) as any).status.state === 'resolved', 'resolved by the edit', POLL);
    await until(async () => ((await admin.get(P, 'AlertRule', rule.id)) as any).status.firing === 0, 'the rule counts its alerts', { timeoutMs: 15_000, intervalMs: 200 });
    await admin.update(P, 'AlertRule', rule.id, { spec: { metric: 'disk_used_percent > 90' } });
    await until(async () => ((await admin.get(P, 'Alert', fired.id)) as any).status.state === 'firing', 'fires again', POLL);
    await admin.delete(P, 'AlertRule', rule.id);
    await until(async () => ((await admin.get(P, 'Alert', fired.id)) as any).status.state === 'resolved', 'a deleted rule resolves its alerts', POLL);
  });
});

test('sqlite: a metric alert a new manager cannot read yet stays as it is, but a disabled rule resolves it whatever its value', async (t) => {
  await withWorld(t, 'sqlite', async ({ admin, start }) => {
    await admin.create(P, 'Host', { name: 'full', spec: { serialNumber: 'F' } });
    const first = await start({ metricValue: async (_host, name) => (name === 'disk_used_percent' ? 95 : undefined), metricEveryMs: 100 });
    const rule = await admin.create(P, 'AlertRule', { name: 'disk', spec: { kind: 'hosts', metric: 'disk_used_percent > 90', forSeconds: 0, severity: 'warning', summary: '{{name}} disk full' } });
    const fired = await until(async () => (await admin.list(P, 'Alert', { filter: 'status.state = firing' })).items[0] as any, 'the full host fires', POLL);
    await first.stop();
    // Another manager takes over and cannot read the metric: the alert is kept as it is…
    await start({ metricValue: async () => Promise.reject(new Error('no telemetry here')), metricEveryMs: 100 });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(((await admin.get(P, 'Alert', fired.id)) as any).status.state, 'firing', 'an unknown value changes nothing');
    // …until what does not depend on the value says otherwise.
    await admin.update(P, 'AlertRule', rule.id, { spec: { enabled: false } });
    await until(async () => ((await admin.get(P, 'Alert', fired.id)) as any).status.state === 'resolved', 'a disabled rule resolves its alert, value or not', POLL);
  });
});

test('sqlite: an alert the receiver was told fires, that resolves, fires again and resolves between two notifications, is sent resolved', async (t) => {
  await withWorld(t, 'sqlite', async ({ admin, mgr, hook, start }) => {
    const host = await admin.create(P, 'Host', { name: 'flappy', spec: { serialNumber: 'SN-FLAP' } });
    const receiver = await admin.create(P, 'AlertReceiver', { name: 'ops', spec: { webhook: { url: hook.url }, groupWaitSeconds: 0, groupIntervalSeconds: 4, repeatIntervalSeconds: 3600 } });
    const rule = await admin.create(P, 'AlertRule', { name: 'lost', spec: { kind: 'hosts', filter: 'status.hostStatus.message = "no connection"', forSeconds: 0, severity: 'critical', summary: '{{name}} lost', receiverIds: [receiver.id] } });
    await start();
    const alert = async () => (await admin.list(P, 'Alert', { filter: `status.ruleId = ${rule.id}` })).items[0] as any;
    await mgr.updateStatus(P, 'Host', host.id, lost);
    await until(() => hook.posts.length === 1, 'the firing notification', POLL);
    const first = hook.posts[0].body.alerts[0];
    assert.equal(first.status, 'firing');
    await until(async () => (await alert())?.status.notified?.[receiver.id]?.state === 'firing', 'acknowledged', POLL);
    // Within the group's interval: back, dark again (a new startsAt), back again.
    await mgr.updateStatus(P, 'Host', host.id, back);
    await until(async () => (await alert()).status.state === 'resolved', 'resolved', POLL);
    await mgr.updateStatus(P, 'Host', host.id, lost);
    await until(async () => (await alert()).status.state === 'firing' && (await alert()).status.startsAt !== first.startsAt, 'firing again, from a new start', POLL);
    await mgr.updateStatus(P, 'Host', host.id, back);
    await until(async () => (await alert()).status.state === 'resolved', 'resolved again', POLL);
    assert.equal(hook.posts.length, 1, 'all of it inside one group interval');
    await until(() => hook.posts.some((p) => p.body.alerts.some((a: any) => a.fingerprint === first.fingerprint && a.status === 'resolved')), 'the receiver told it resolved', POLL);
    await until(async () => (await alert()).status.notified?.[receiver.id]?.state === 'resolved', 'acknowledged resolved', POLL);
  });
});

test('sqlite: a manager taking over (a restart, the standby) does not resolve firing metric alerts before it has read the metrics, nor when a read fails', async (t) => {
  await withWorld(t, 'sqlite', async ({ admin, start }) => {
    const full = await admin.create(P, 'Host', { name: 'full', spec: { serialNumber: 'F2' } });
    let m = await start({ metricValue: async () => 95, metricEveryMs: 100 });
    await admin.create(P, 'AlertRule', { name: 'disk', spec: { kind: 'hosts', metric: 'disk_used_percent > 90', forSeconds: 0, severity: 'warning', summary: '{{name}} disk' } });
    const fired = await until(async () => (await admin.list(P, 'Alert', { filter: 'status.state = firing' })).items[0] as any, 'the full host fires', POLL);
    assert.equal(fired.labels.resource, full.name);
    await m.stop();
    // The new manager's first read of the metrics takes a while, then every read fails.
    let open!: () => void;
    const slow = new Promise<void>((r) => (open = r));
    m = await start({ metricValue: async () => (await slow, Promise.reject(new Error('telemetry store unavailable'))), metricEveryMs: 100 });
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(((await admin.get(P, 'Alert', fired.id)) as any).status.state, 'firing', 'not judged before its first read');
    open();
    await new Promise((r) => setTimeout(r, 800));
    const after = (await admin.get(P, 'Alert', fired.id)) as any;
    assert.equal(after.status.state, 'firing', 'a failed read is no value below the threshold');
    assert.equal(after.status.startsAt, fired.status.startsAt, 'the same firing, not a resolve and a new one');
    void m;
  });
});

test('sqlite: a notification carries at most 1,000 alerts (truncatedAlerts says how many wait); the rest go in the group\'s next one, each once', async (t) => {
  await withWorld(t, 'sqlite', async ({ admin, mgr, hook, start }) => {
    const N = 1005;
    const ids: string[] = [];
    for (let i = 0; i < N; i += 100) ids.push(...(await Promise.all(Array.from({ length: Math.min(100, N - i) }, async (_, k) => (await admin.create(P, 'Host', { name: `many-${i + k}`, spec: { serialNumber: `M${i + k}` } })).id))));
    const receiver = await admin.create(P, 'AlertReceiver', { name: 'ops', spec: { webhook: { url: hook.url }, groupWaitSeconds: 4, groupIntervalSeconds: 1, repeatIntervalSeconds: 3600 } });
    await admin.create(P, 'AlertRule', { name: 'lost', spec: { kind: 'hosts', filter: 'status.hostStatus.message = "no connection"', forSeconds: 0, severity: 'critical', summary: '{{name}} lost', receiverIds: [receiver.id] } });
    await start();
    // All of them dark within the group's wait: its first notification would hold all 1,005.
    for (let i = 0; i < N; i += 100) await Promise.all(ids.slice(i, i + 100).map((id) => mgr.updateStatus(P, 'Host', id, lost)));
    await until(() => new Set(hook.posts.flatMap((p) => p.body.alerts.map((a: any) => a.fingerprint))).size === N, 'every alert delivered', { timeoutMs: 30_000, intervalMs: 50 });
    assert.deepEqual(hook.posts.map((p) => [p.body.alerts.length, p.body.truncatedAlerts]), [[1000, 5], [5, 0]]);
    const sent = hook.posts.flatMap((p) => p.body.alerts.map((a: any) => a.fingerprint));
    assert.equal(sent.length, N, 'each once');
  });
});

test('sqlite: a pending wait is written once it has lasted pendingWrittenAfterMs (activeSince its start), not before: a condition that holds for moments writes no Alert', async (t) => {
  await withWorld(t, 'sqlite', async ({ admin, mgr, start }) => {
    const hosts = [];
    for (let i = 0; i < 2; i++) hosts.push(await admin.create(P, 'Host', { name: `blip-${i}`, spec: { serialNumber: `SNB${i}` } }));
    const rule = await admin.create(P, 'AlertRule', { name: 'lost-long', spec: { kind: 'hosts', filter: 'status.hostStatus.message = "no connection"', forSeconds: 3, severity: 'warning', summary: '{{name}} lost' } });
    const m = await start({ pendingWrittenAfterMs: 1000 });
    const alerts = async () => (await admin.list(P, 'Alert', { filter: `status.ruleId = ${rule.id}` })).items as any[];
    // A blip: lost for 300 ms, then back. Nothing is written for it.
    await mgr.updateStatus(P, 'Host', hosts[0].id, lost);
    await new Promise((r) => setTimeout(r, 300));
    await mgr.updateStatus(P, 'Host', hosts[0].id, back);
    // A real loss: pending in memory for its first second, then a pending Alert dated from its start.
    const lostAt = Date.now();
    await mgr.updateStatus(P, 'Host', hosts[1].id, lost);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await alerts(), [], 'no Alert within the first pendingWrittenAfterMs');
    const [pending] = await until(async () => {
      const items = await alerts();
      return items.length === 1 && items;
    }, 'a pending Alert', POLL);
    assert.equal(pending.status.resourceId, hosts[1].id);
    assert.equal(pending.status.state, 'pending');
    const since = Date.parse(pending.status.activeSince);
    assert.ok(Math.abs(since - lostAt) < 500, `activeSince is when the condition began (${since - lostAt} ms after the write)`);
    assert.ok(Date.now() - lostAt >= 1000, 'written after a second, not before');
    const firing = await until(async () => {
      const a = (await alerts())[0];
      return a?.status.state === 'firing' && a;
    }, 'firing', POLL);
    assert.ok(Date.parse(firing.status.startsAt) - since >= 3000, 'it fires forSeconds after the condition began');
    assert.equal((await alerts()).length, 1, 'the blip never had an Alert');
    assert.ok(m.stats().evaluations > 0);
  });
});

test('sqlite: local receivers not allowed: a firing alert to a webhook on 127.0.0.1 is refused, retried, and the refusal shows on the alert and the receiver; nothing reaches it', async (t) => {
  await withWorld(t, 'sqlite', async ({ admin, mgr, hook, start }) => {
    const host = await admin.create(P, 'Host', { name: 'dark', spec: { serialNumber: 'SN-DARK' } });
    const receiver = await admin.create(P, 'AlertReceiver', { name: 'own-host', spec: { webhook: { url: hook.url }, groupWaitSeconds: 0, groupIntervalSeconds: 1, repeatIntervalSeconds: 3600 } });
    await admin.create(P, 'AlertRule', { name: 'lost', spec: { kind: 'hosts', filter: 'status.hostStatus.message = "no connection"', forSeconds: 0, severity: 'critical', summary: '{{name}} lost', receiverIds: [receiver.id] } });
    await start({ allowLocalReceivers: false });
    await mgr.updateStatus(P, 'Host', host.id, lost);
    const refusal = /^refused: 127\.0\.0\.1 is a loopback address/;
    await until(async () => ((await admin.get(P, 'AlertReceiver', receiver.id)) as any).status?.lastDelivery?.attempt >= 2, 'retried', POLL);
    const last = ((await admin.get(P, 'AlertReceiver', receiver.id)) as any).status.lastDelivery;
    assert.equal(last.ok, false);
    assert.match(last.error, refusal);
    const alert = (await admin.list(P, 'Alert', { filter: 'status.state = firing' })).items[0] as any;
    assert.match(alert.status.deliveries[0].error, refusal);
    assert.equal(alert.status.notified?.[receiver.id], undefined, 'not acknowledged');
    assert.equal(hook.posts.length, 0);
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Caller, DEFAULT_ALERT_RULES, isEimError, SECRET_SET } from '../api/index.ts';
import { DIALECTS, openTestStore, PG_URL, pgReachable } from '../testing/test-stores.ts';
import { InventoryService } from './inventory-service.ts';

const P = 'default';
const EDITOR: Caller = { subject: 'ed', grants: [{ project: P, role: 'editor' }] };
const ADMIN: Caller = { subject: 'admin', grants: [{ project: '*', role: 'admin' }] };
const MANAGER: Caller = { subject: 'mgr', grants: [{ project: '*', role: 'manager' }] };
const SECRET = 'hunter2-0123456789abcdef';
const HEADER = 'Bearer tok-9876543210';

for (const dialect of DIALECTS) {
  test(`${dialect}: write-only fields are stored apart: never in responses, events or errors; the manager reads them`, async (t) => {
    if (dialect === 'postgres' && !(await pgReachable())) return void t.skip(`PostgreSQL not reachable at ${PG_URL}`);
    const ts = await openTestStore(dialect);
    const svc = new InventoryService(ts.store);
    try {
      await svc.start();
      await svc.ensureProject(P);
      const ed = svc.as(EDITOR);
      const r = await ed.create(P, 'AlertReceiver', { name: 'ops', spec: { webhook: { url: 'https://hooks.example/x', hmacSecret: SECRET, headers: { Authorization: HEADER } } } });
      assert.equal((r.spec as any).webhook.hmacSecret, SECRET_SET);
      assert.equal((r.spec as any).webhook.headers.Authorization, SECRET_SET);
      assert.equal((r.spec as any).groupWaitSeconds, 30, 'defaults filled');
      // A patch of another field keeps the secrets; a manifest sent back with "(set)" too.
      await ed.update(P, 'AlertReceiver', r.id, { spec: { webhook: { url: 'https://hooks.example/y' } } });
      await ed.update(P, 'AlertReceiver', r.id, { spec: (await ed.get(P, 'AlertReceiver', r.id)).spec as any });
      let revealed = (await svc.revealSpec(MANAGER, P, 'AlertReceiver', r.id)) as any;
      assert.equal(revealed.webhook.hmacSecret, SECRET);
      assert.equal(revealed.webhook.headers.Authorization, HEADER);
      assert.equal(revealed.webhook.url, 'https://hooks.example/y');
      // A new secret alone is a change (a generation, an event saying who), without the value.
      const before = (await ed.get(P, 'AlertReceiver', r.id)).generation;
      const changed = await ed.update(P, 'AlertReceiver', r.id, { spec: { webhook: { hmacSecret: `${SECRET}-2` } } });
      assert.equal(changed.generation, before + 1);
      revealed = (await svc.revealSpec(MANAGER, P, 'AlertReceiver', r.id)) as any;
      assert.equal(revealed.webhook.hmacSecret, `${SECRET}-2`);
      // Only managers read them.
      await assert.rejects(svc.revealSpec(EDITOR, P, 'AlertReceiver', r.id), (e) => isEimError(e) && e.code === 'permission_denied');
      await assert.rejects(svc.revealSpec(ADMIN, P, 'AlertReceiver', r.id), (e) => isEimError(e) && e.code === 'permission_denied');
      // Errors never show them: a too-long secret, a bad header value type.
      const errors: string[] = [];
      for (const spec of [
        { webhook: { url: 'https://h.example', hmacSecret: SECRET.repeat(100) } },
        { webhook: { url: 'https://h.example', headers: { X: 12 } } },
        { webhook: { url: 'ftp://h.example', hmacSecret: SECRET } },
        { webhook: { url: 'https://h.example', hmacSecret: SECRET_SET } },
        { webhook: { url: 'http://h.example:25/hook', hmacSecret: SECRET } },
      ]) {
        await assert.rejects(ed.create(P, 'AlertReceiver', { name: 'bad', spec }), (e) => (isEimError(e) && e.code === 'invalid_argument' && errors.push(JSON.stringify((e as any).toJSON())) > 0));
      }
      assert.match(errors[2], /http/);
      assert.match(errors[3], /write-only/);
      assert.match(errors[4], /port 25 is one HTTP clients refuse/, 'a port fetch would refuse at every delivery');
      // A stored secret: every event and every response of the resource is free of it.
      const events = await ed.events({ project: P, limit: 1000 });
      const all = JSON.stringify([events, await ed.list(P, 'AlertReceiver'), errors]);
      for (const s of [SECRET, HEADER, SECRET.repeat(2)]) assert.ok(!all.includes(s), `"${s}" leaked`);
      // Removing the secret removes it; deleting the resource removes its row.
      await ed.update(P, 'AlertReceiver', r.id, { spec: { webhook: { hmacSecret: null, headers: null } } });
      revealed = (await svc.revealSpec(MANAGER, P, 'AlertReceiver', r.id)) as any;
      assert.equal(revealed.webhook.hmacSecret, undefined);
      await ed.update(P, 'AlertReceiver', r.id, { spec: { webhook: { hmacSecret: SECRET } } });
      assert.ok(await ts.store.getSecrets(P, r.id), 'stored for its project');
      assert.equal(await ts.store.getSecrets('other-project', r.id), undefined, 'and read only with it');
      await ed.delete(P, 'AlertReceiver', r.id);
      assert.equal(await ts.store.getSecrets(P, r.id), undefined);
    } finally {
      await svc.stop();
      await ts.cleanup();
    }
  });

  test(`${dialect}: alert kinds: bad input is invalid_argument saying what; a new project starts with the default rules`, async (t) => {
    if (dialect === 'postgres' && !(await pgReachable())) return void t.skip(`PostgreSQL not reachable at ${PG_URL}`);
    const ts = await openTestStore(dialect);
    const svc = new InventoryService(ts.store);
    try {
      await svc.start();
      await svc.createProject(ADMIN, 'acme');
      const admin = svc.as(ADMIN);
      const rules = (await admin.list('acme', 'AlertRule', { pageSize: 100 })).items;
      assert.deepEqual(rules.map((r) => r.name).sort(), DEFAULT_ALERT_RULES.map((r) => r.name).sort());
      const bad = async (kind: string, spec: unknown, message: RegExp) =>
        assert.rejects(admin.create('acme', kind, { name: 'x', spec }), (e) => isEimError(e) && e.code === 'invalid_argument' && message.test(e.message));
      const rule = { kind: 'hosts', filter: 'status.hostStatus.indicator = error' };
      await bad('AlertRule', { ...rule, filter: 'status.hostStatus.indicator = ' }, /spec\.filter/);
      await bad('AlertRule', { ...rule, filter: 'spec.nope = 1' }, /spec\.filter/);
      await bad('AlertRule', { ...rule, kind: 'alerts' }, /spec\.kind/);
      await bad('AlertRule', { ...rule, summary: '{{name' }, /spec\.summary.*never closed/);
      await bad('AlertRule', { ...rule, description: '{{secrets.x}}' }, /spec\.description/);
      await bad('AlertRule', { ...rule, target: {} }, /spec\.target/);
      await bad('AlertRule', { ...rule, target: { siteId: 'site-00000000' } }, /site-00000000 does not exist/);
      await bad('AlertRule', { ...rule, receiverIds: ['alertreceiver-00000000'] }, /alertreceiver-00000000 does not exist/);
      await bad('AlertRule', { ...rule, metric: 'disk_used_percent >> 9' }, /spec\.metric/);
      await bad('AlertReceiver', { webhook: { url: 'file:///etc/passwd' } }, /http/);
      await bad('AlertReceiver', { email: { smtpHost: 'mail', smtpPort: 25, starttls: false, from: 'eim@example.com', to: [] } }, /at least one recipient/);
      await bad('AlertReceiver', {}, /exactly one of webhook, email/);
      await bad('Silence', { filter: 'labels.site = ', endsAt: new Date().toISOString(), comment: '' }, /spec\.filter/);
      // Alerts are the manager's: a user may neither create nor change nor delete one.
      await assert.rejects(admin.create('acme', 'Alert', { name: 'a', status: {} }), (e) => isEimError(e) && e.code === 'permission_denied');
    } finally {
      await svc.stop();
      await ts.cleanup();
    }
  });
}

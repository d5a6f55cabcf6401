import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Caller, isEimError } from '../api/index.ts';
import { testEd25519Key } from '../testing/ssh-keys.ts';
import { DIALECTS, openTestStore, PG_URL, pgReachable } from '../testing/test-stores.ts';
import { InventoryService } from './inventory-service.ts';

// Issue 14: one username per target, checked on both stores; other projects do not count; viewers cannot write accounts.

const ADMIN: Caller = { subject: 'admin', grants: [{ project: '*', role: 'admin' }] };
const VIEWER: Caller = { subject: 'v', grants: [{ project: 'default', role: 'viewer' }] };

for (const dialect of DIALECTS) {
  test(`${dialect}: a second account with one username for one target is a conflict naming the first; another target, project or username is not`, async (t) => {
    if (dialect === 'postgres' && !(await pgReachable())) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
    const ts = await openTestStore(dialect);
    const svc = new InventoryService(ts.store);
    t.after(async () => {
      await svc.stop();
      await ts.cleanup();
    });
    await svc.start();
    await svc.ensureProject('default');
    await svc.ensureProject('other');
    const inv = svc.as(ADMIN);
    const key = testEd25519Key('k');
    const region = await inv.create('default', 'Region', { name: 'eu', spec: {} });
    const site = await inv.create('default', 'Site', { name: 'paris', spec: { regionId: region.id } });
    const first = await inv.create('default', 'LocalAccount', { name: 'ops-eu', spec: { username: 'ops', sshKeys: [key], target: { regionId: region.id } } });
    assert.deepEqual([first.spec.sudo, first.spec.state], ['none', 'present'], 'defaults filled in');
    await assert.rejects(inv.create('default', 'LocalAccount', { name: 'ops-eu-2', spec: { username: 'ops', target: { regionId: region.id } } }), (e: unknown) => {
      assert.ok(isEimError(e) && e.code === 'conflict', String(e));
      assert.ok(e.message.includes(first.id) && e.message.includes('ops-eu-2'), e.message);
      return true;
    });
    // A more specific target is an override; another username or project is independent.
    const site1 = await inv.create('default', 'LocalAccount', { name: 'ops-paris', spec: { username: 'ops', state: 'absent', target: { siteId: site.id } } });
    await inv.create('default', 'LocalAccount', { name: 'dev-eu', spec: { username: 'dev', target: { regionId: region.id } } });
    const r2 = await inv.create('other', 'Region', { name: 'eu', spec: {} });
    await inv.create('other', 'LocalAccount', { name: 'ops-eu', spec: { username: 'ops', target: { regionId: r2.id } } });
    // Moving onto a taken (username, target) is refused; editing keys of an account is not.
    await assert.rejects(inv.update('default', 'LocalAccount', site1.id, { spec: { target: { regionId: region.id, siteId: null } } }), (e: unknown) => isEimError(e) && e.code === 'conflict');
    await inv.update('default', 'LocalAccount', first.id, { spec: { sshKeys: [testEd25519Key('new')] } });
    // A custom config with a broken document, and a viewer writing an account, are refused.
    await assert.rejects(inv.create('default', 'CustomConfig', { name: 'bad', spec: { config: '#cloud-config\nrun_cmd: [ls]\n' } }), (e: unknown) => isEimError(e) && e.code === 'invalid_argument' && /run_cmd/.test(e.message));
    await assert.rejects(svc.as(VIEWER).create('default', 'LocalAccount', { name: 'x', spec: { username: 'x' } }), (e: unknown) => isEimError(e) && e.code === 'permission_denied');
  });
}

for (const dialect of DIALECTS) {
  test(`${dialect}: the check reads every account of the username, page by page, when a page holds fewer than asked (a byte budget)`, async (t) => {
    if (dialect === 'postgres' && !(await pgReachable())) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
    const ts = await openTestStore(dialect);
    // One resource per list page: the account in the way is on the third.
    const svc = new InventoryService(ts.store, { listPageBytes: 1 });
    t.after(async () => {
      await svc.stop();
      await ts.cleanup();
    });
    await svc.start();
    await svc.ensureProject('default');
    const inv = svc.as(ADMIN);
    const regions = [];
    for (const name of ['eu', 'us', 'asia']) regions.push(await inv.create('default', 'Region', { name, spec: {} }));
    for (const [i, r] of regions.entries()) await inv.create('default', 'LocalAccount', { name: `ops-${i}`, spec: { username: 'ops', target: { regionId: r.id } } });
    const third = (await inv.list('default', 'LocalAccount', { filter: 'name = "ops-2"' })).items[0];
    await assert.rejects(inv.create('default', 'LocalAccount', { name: 'ops-3', spec: { username: 'ops', target: { regionId: regions[2].id } } }), (e: unknown) => {
      assert.ok(isEimError(e) && e.code === 'conflict', String(e));
      assert.ok(e.message.includes(third.id), e.message);
      return true;
    });
  });
}

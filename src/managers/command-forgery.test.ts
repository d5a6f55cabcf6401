import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALL_PROJECTS, newId } from '../api/index.ts';
import { openTestApp } from '../testing/test-app.ts';
import { startManagers } from './start-managers.ts';
import { sleep, until } from './testing/manager-harness.ts';

// Issue 9 item 3: a tenant must not forge another tenant's command answers. Commands match owners
// only in their own project and on their own host, and a manager token of one project may create
// commands only for owners of that project on the command's host.

test("cross-tenant status forgery: tenant B's manager token cannot create, or answer, a command for tenant A's host", async () => {
  const srv = await openTestApp({ projects: ['a', 'b'] });
  const mgr = srv.inventory.as({ subject: 'managers', grants: [{ project: ALL_PROJECTS, role: 'manager' }] });
  const managers = await startManagers(mgr, { backoff: { baseMs: 50, maxMs: 500 } });
  try {
    await managers.synced;
    // Tenant A: an enrolled, connected host that should power off; its agent has not answered yet.
    const hostA = (await srv.call('POST', '/v1/projects/a/hosts', srv.admin, { name: 'a-1', spec: { desiredState: 'onboarded', serialNumber: 'SN-A1', desiredPowerState: 'off' } })).json;
    const at = new Date().toISOString();
    await mgr.updateStatus('a', 'Host', hostA.id, {
      registrationStatus: { indicator: 'idle', message: 'agent enrolled from a-1', timestamp: at },
      hostStatus: { indicator: 'idle', message: 'running', timestamp: at },
      currentPowerState: 'on',
    });
    await until(async () => (await mgr.list('a', 'Command')).totalSize === 1, 'the power command for host A');
    await until(async () => (await mgr.get('a', 'Host', hostA.id)).status.powerStatus?.message === 'powering off: sent to the agent', 'A waits for its agent');

    // Tenant B's admin mints a manager token for B and forges an answer for A's host.
    const b = await srv.call('POST', '/v1/projects/b/tokens', srv.admin, { role: 'admin' });
    const bManager = (await srv.call('POST', '/v1/projects/b/tokens', b.json.token, { role: 'manager' })).json.token as string;
    assert.ok(bManager, 'a project admin may mint a manager token for its project');
    const hostB = (await srv.call('POST', '/v1/projects/b/hosts', b.json.token, { name: 'b-1', spec: { desiredState: 'onboarded' } })).json;
    const forged = (ownerId: string, name: string) => ({
      name,
      spec: { hostId: hostB.id, type: 'power', params: { state: 'off' }, ownerId },
      status: { state: 'succeeded', message: 'forged' },
    });
    const refused = await srv.call('POST', '/v1/projects/b/commands', bManager, forged(hostA.id, `${hostA.id}-power`));
    assert.equal(refused.status, 409, JSON.stringify(refused.json));
    assert.equal(refused.json.error.code, 'failed_precondition');
    // Within B too, a command serves a resource of the host it runs on.
    const hostB2 = (await srv.call('POST', '/v1/projects/b/hosts', b.json.token, { name: 'b-2', spec: { desiredState: 'onboarded' } })).json;
    const mismatch = await srv.call('POST', '/v1/projects/b/commands', bManager, forged(hostB2.id, 'x-power'));
    assert.equal(mismatch.status, 400);
    const region = (await srv.call('POST', '/v1/projects/b/regions', b.json.token, { name: 'r', spec: {} })).json;
    assert.equal((await srv.call('POST', '/v1/projects/b/commands', bManager, forged(region.id, 'y-power'))).status, 400, 'a region owns no commands');
    assert.equal((await srv.call('POST', '/v1/projects/b/commands', bManager, forged(hostB.id, 'ok-power'))).status, 201, 'its own host: fine');
    // Moving a command onto another owner later is checked the same way.
    const own = (await srv.call('GET', '/v1/projects/b/commands?filter=name%3D%22ok-power%22', bManager)).json.items[0];
    assert.equal((await srv.call('PATCH', `/v1/projects/b/commands/${own.id}`, bManager, { spec: { ownerId: hostA.id } })).status, 409);

    // A forged command that got into the store anyway (written before the rule existed) is still
    // not A's: the managers match commands by project and host.
    await srv.store.store.write(async (tx) => {
      const f = forged(hostA.id, `${hostA.id}-power-old`);
      await tx.insertIfFree({ kind: 'Command', id: newId('cmd'), project: 'b', name: f.name, labels: {}, generation: 1, spec: f.spec, status: f.status }, 'test');
    });
    await sleep(300);
    const a = await mgr.get('a', 'Host', hostA.id);
    assert.equal(a.status.currentPowerState, 'on', 'A shows no forged power state');
    assert.equal(a.status.powerStatus?.message, 'powering off: sent to the agent');
    const cmdsA = (await mgr.list('a', 'Command')).items;
    assert.equal(cmdsA.length, 1);
    assert.equal(cmdsA[0].status.state, 'pending', "A's own command is untouched");
  } finally {
    await managers.stop();
    await srv.close();
  }
});

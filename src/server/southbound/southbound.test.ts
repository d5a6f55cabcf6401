import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openSse, type SseFrame } from '../../testing/http-client.ts';
import { openTestApp, type TestApp } from '../../testing/test-app.ts';
import { until } from '../../testing/until.ts';
import { enrolAgent } from '../../testing/enrol-agent.ts';
import { untilHostWas } from '../../testing/host-states.ts';

const UUID = '11111111-2222-3333-4444-555555555555';
const report = (nics: { deviceName: string; macAddress: string }[]) => ({ hardware: { cpuModel: 'Test CPU', memoryBytes: 1 << 30 }, nics, storages: [], gpus: [], usbs: [] });

describe('southbound', () => {
  let srv: TestApp;
  const manager = { subject: 'test-manager', grants: [{ project: '*', role: 'manager' as const }] };

  before(async () => {
    srv = await openTestApp({ projects: ['default', 'other'], southbound: { leaseCheckMs: 50 }, listen: true });
  });
  after(() => srv.close());

  const call: TestApp['call'] = (...args) => srv.call(...args);
  const enrollmentToken = async (project = 'default', autoRegister = false) =>
    (await call('POST', `/v1/projects/${project}/tokens`, srv.admin, { role: 'enrollment', ...(autoRegister ? { autoRegister } : {}) })).json.token as string;
  const register = async (name: string, spec: Record<string, unknown>, project = 'default') => (await call('POST', `/v1/projects/${project}/hosts`, srv.admin, { name, spec })).json;
  const getHost = async (id: string, project = 'default') => (await call('GET', `/v1/projects/${project}/hosts/${id}`, srv.admin)).json;

  test('enrolment matches a registered host by uuid, refuses unknown machines and wrong tokens', async () => {
    const host = await register('edge-1', { uuid: UUID, desiredState: 'onboarded' });
    const et = await enrollmentToken();
    assert.equal((await call('POST', '/southbound/v1/enroll', undefined, { uuid: UUID, hostname: 'edge-1' })).status, 401);
    assert.equal((await call('POST', '/southbound/v1/enroll', srv.admin, { uuid: UUID, hostname: 'edge-1' })).status, 403, 'an admin token is not an enrollment token');
    const unknown = await call('POST', '/southbound/v1/enroll', et, { uuid: '99999999-2222-3333-4444-555555555555', hostname: 'x' });
    assert.equal(unknown.status, 404);
    assert.match(unknown.json.error.message, /register it first/);
    assert.equal((await call('POST', '/southbound/v1/enroll', et, { hostname: 'x' })).status, 400, 'uuid or serial needed');
    const ok = await call('POST', '/southbound/v1/enroll', et, { uuid: UUID, hostname: 'edge-1', macs: ['aa:bb:cc:dd:ee:ff'] });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.hostId, host.id);
    assert.equal(ok.json.project, 'default');
    assert.match((await getHost(host.id)).status.registrationStatus.message, /^agent enrolled from edge-1/);
    // The agent token is for /southbound only.
    assert.equal((await call('GET', '/v1/projects/default/hosts', ok.json.token)).status, 403);
  });

  test('autoRegister registers an unknown machine as onboarded, named after its hostname', async () => {
    const et = await enrollmentToken('default', true);
    const r = await call('POST', '/southbound/v1/enroll', et, { serialNumber: 'SN-AUTO-1', hostname: 'auto-node' });
    assert.equal(r.status, 200);
    const host = await getHost(r.json.hostId);
    assert.equal(host.name, 'auto-node');
    assert.equal(host.spec.desiredState, 'onboarded');
    assert.equal(host.spec.serialNumber, 'SN-AUTO-1');
  });

  test('heartbeats write running once, then no connection after 3 missed intervals, then running again', async () => {
    const host = await register('edge-hb', { serialNumber: 'SN-HB', desiredState: 'onboarded' });
    const agent = (await call('POST', '/southbound/v1/enroll', await enrollmentToken(), { serialNumber: 'SN-HB', hostname: 'edge-hb' })).json.token;
    const revBefore = (await getHost(host.id)).revision;
    for (let i = 0; i < 5; i++) assert.equal((await call('POST', '/southbound/v1/heartbeat', agent, { seq: i, intervalSeconds: 0.1 })).status, 204);
    await new Promise((r) => setTimeout(r, 100));
    const running = await getHost(host.id);
    assert.equal(running.status.hostStatus.message, 'running');
    assert.equal(running.revision, revBefore + 1, 'five heartbeats, one store write');
    const t0 = Date.now();
    while ((await getHost(host.id)).status.hostStatus.message !== 'no connection') {
      assert.ok(Date.now() - t0 < 2000, 'no connection within 3 intervals + 1 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal((await getHost(host.id)).status.hostStatus.indicator, 'error');
    const lostAt = (await getHost(host.id)).revision;
    await call('POST', '/southbound/v1/heartbeat', agent, { intervalSeconds: 0.1 });
    // Running again, read from the event log: with a 0.1 s interval the host is lost again 0.3 s
    // later, which a poll on a loaded machine (CI) missed.
    assert.equal((await untilHostWas(srv, 'default', host.id, lostAt, 'running'))[0], 'running', 'running again after a heartbeat');
  });

  test('a silent host inside a maintenance window shows "maintenance", not "no connection", and follows its window', async () => {
    const host = await register('edge-mw', { serialNumber: 'SN-MW', desiredState: 'onboarded' });
    const agent = (await call('POST', '/southbound/v1/enroll', await enrollmentToken(), { serialNumber: 'SN-MW', hostname: 'edge-mw' })).json.token;
    // What the maintenance manager writes when the host's window opens.
    const setWindow = (inWindow: boolean) =>
      srv.inventory.as(manager).updateStatus('default', 'Host', host.id, { maintenance: { inWindow, purposes: inWindow ? ['maintenance'] : [], scheduleIds: [] } });
    await setWindow(true);
    const since = (await getHost(host.id)).revision;
    assert.equal((await call('POST', '/southbound/v1/heartbeat', agent, { intervalSeconds: 0.1 })).status, 204);
    const waitFor = async (message: string) => {
      const t0 = Date.now();
      for (;;) {
        const s = (await getHost(host.id)).status.hostStatus;
        if (s?.message === message) return s;
        assert.ok(Date.now() - t0 < 3000, `hostStatus "${message}" within 3 s (it says "${s?.message}")`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    // Running for 0.3 s only: read from the event log, which a slow poll cannot miss.
    await untilHostWas(srv, 'default', host.id, since, 'running');
    assert.equal((await waitFor('maintenance')).indicator, 'idle', 'silence in a window is expected, not an error');
    await setWindow(false);
    assert.equal((await waitFor('no connection')).indicator, 'error', 'the window closed and the host is still silent');
    await setWindow(true);
    await waitFor('maintenance');
    const silentAt = (await getHost(host.id)).revision;
    await call('POST', '/southbound/v1/heartbeat', agent, { intervalSeconds: 0.1 });
    await untilHostWas(srv, 'default', host.id, silentAt, 'running');
  });

  test('a hardware report writes only what changed, as child resources', async () => {
    const host = await register('edge-hw', { serialNumber: 'SN-HW', desiredState: 'onboarded' });
    const agent = (await call('POST', '/southbound/v1/enroll', await enrollmentToken(), { serialNumber: 'SN-HW', hostname: 'edge-hw' })).json.token;
    const first = await call('POST', '/southbound/v1/hardware', agent, report([{ deviceName: 'eth0', macAddress: 'aa:00' }, { deviceName: 'eth1', macAddress: 'aa:01' }]));
    assert.deepEqual(first.json, { writes: 3 }, 'hardware + 2 NICs');
    assert.deepEqual((await call('POST', '/southbound/v1/hardware', agent, report([{ deviceName: 'eth0', macAddress: 'aa:00' }, { deviceName: 'eth1', macAddress: 'aa:01' }]))).json, { writes: 0 });
    const since = (await call('GET', '/v1/projects/default/hosts?pageSize=1', srv.admin)).json.revision;
    const changed = await call('POST', '/southbound/v1/hardware', agent, report([{ deviceName: 'eth0', macAddress: 'aa:99' }, { deviceName: 'wlan0', macAddress: 'bb:00' }]));
    assert.deepEqual(changed.json, { writes: 3 }, 'eth0 updated, wlan0 created, eth1 deleted');
    // This host's events only: the hosts of the tests before may still change connection state.
    const events = ((await call('GET', `/v1/projects/default/events?since=${since}`, srv.admin)).json.events as { type: string; kind: string; id: string; object: { status: { deviceName: string; hostId?: string } } }[])
      .filter((e) => e.id === host.id || e.object.status.hostId === host.id);
    assert.deepEqual(events.map((e) => `${e.type} ${e.kind} ${e.object.status.deviceName}`).sort(), ['CREATED HostNic wlan0', 'DELETED HostNic eth1', 'UPDATED HostNic eth0']);
    const nics = (await call('GET', `/v1/projects/default/host-nics?filter=${encodeURIComponent(`status.hostId = ${host.id}`)}`, srv.admin)).json.items;
    assert.deepEqual(nics.map((n: { status: { deviceName: string } }) => n.status.deviceName).sort(), ['eth0', 'wlan0']);
  });

  test('commands reach the agent stream, are resent on reconnect until finished, and take results only from their host', async () => {
    const host = await register('edge-cmd', { serialNumber: 'SN-CMD', desiredState: 'onboarded' });
    const other = await register('edge-other', { serialNumber: 'SN-OTHER', desiredState: 'onboarded' });
    const et = await enrollmentToken();
    const agent = (await call('POST', '/southbound/v1/enroll', et, { serialNumber: 'SN-CMD', hostname: 'edge-cmd' })).json.token;
    const otherAgent = (await call('POST', '/southbound/v1/enroll', et, { serialNumber: 'SN-OTHER', hostname: 'edge-other' })).json.token;
    const frames: SseFrame[] = [];
    const s1 = await openSse(`${srv.url}/southbound/v1/stream`, { token: agent }, (f) => frames.push(f));
    const mgr = srv.inventory.as(manager);
    const cmd = await mgr.create('default', 'Command', { name: 'power-1', spec: { hostId: host.id, type: 'power', params: { state: 'off' } }, status: { state: 'pending' } });
    await mgr.create('default', 'Command', { name: 'power-other', spec: { hostId: other.id, type: 'power', params: { state: 'off' } }, status: { state: 'pending' } });
    const t0 = Date.now();
    while (!frames.some((f) => f.event === 'command')) {
      assert.ok(Date.now() - t0 < 2000, 'command delivered');
      await new Promise((r) => setTimeout(r, 10));
    }
    const got = frames.filter((f) => f.event === 'command').map((f) => JSON.parse(f.data));
    assert.deepEqual(got.map((c) => c.id), [cmd.id], 'only this host’s command');
    assert.deepEqual(got[0].params, { state: 'off' });
    s1.close();
    // Reconnect before answering: the unfinished command comes again.
    const again: SseFrame[] = [];
    const s2 = await openSse(`${srv.url}/southbound/v1/stream`, { token: agent }, (f) => again.push(f));
    while (!again.some((f) => f.event === 'command')) await new Promise((r) => setTimeout(r, 10));
    s2.close();
    assert.equal((await call('POST', `/southbound/v1/commands/${cmd.id}/result`, otherAgent, { state: 'succeeded' })).status, 404, 'another host cannot answer it');
    assert.equal((await call('POST', `/southbound/v1/commands/${cmd.id}/result`, agent, { state: 'running', progress: 50 })).status, 204);
    assert.equal((await call('POST', `/southbound/v1/commands/${cmd.id}/result`, agent, { state: 'failed', recoverable: false, message: 'no BMC' })).status, 204);
    const done = await mgr.get('default', 'Command', cmd.id);
    assert.equal(done.status.state, 'failed');
    assert.equal(done.status.recoverable, false);
    assert.equal(done.status.message, 'no BMC');
    assert.ok(done.status.startedAt && done.status.endedAt);
  });

  test('invalidating a host revokes its agent token at once and tells its stream', async () => {
    const host = await register('edge-inv', { serialNumber: 'SN-INV', desiredState: 'onboarded' });
    const agent = (await call('POST', '/southbound/v1/enroll', await enrollmentToken(), { serialNumber: 'SN-INV', hostname: 'edge-inv' })).json.token;
    const frames: SseFrame[] = [];
    const s = await openSse(`${srv.url}/southbound/v1/stream`, { token: agent }, (f) => frames.push(f));
    assert.equal((await call('POST', '/southbound/v1/heartbeat', agent, {})).status, 204);
    assert.equal((await call('PATCH', `/v1/projects/default/hosts/${host.id}`, srv.admin, { spec: { desiredState: 'untrusted' } })).status, 200);
    await s.ended;
    assert.ok(frames.some((f) => f.event === 'revoked'));
    const r = await call('POST', '/southbound/v1/heartbeat', agent, {});
    assert.equal(r.status, 401);
    const again = await call('POST', '/southbound/v1/enroll', await enrollmentToken(), { serialNumber: 'SN-INV', hostname: 'edge-inv' });
    assert.equal(again.status, 403, 'an untrusted host cannot enrol again');
  });

  test('an agent token of one project cannot reach another project’s host', async () => {
    await register('edge-p2', { serialNumber: 'SN-P2', desiredState: 'onboarded' }, 'other');
    const agent = (await call('POST', '/southbound/v1/enroll', await enrollmentToken('other'), { serialNumber: 'SN-P2', hostname: 'edge-p2' })).json.token;
    const mgr = srv.inventory.as(manager);
    const host = (await mgr.list('default', 'Host', { filter: 'name = edge-cmd' })).items[0];
    const cmd = await mgr.create('default', 'Command', { name: 'wipe-x', spec: { hostId: host.id, type: 'wipe', params: {} }, status: { state: 'pending' } });
    assert.equal((await call('POST', `/southbound/v1/commands/${cmd.id}/result`, agent, { state: 'succeeded' })).status, 404);
    const enrollDefault = await call('POST', '/southbound/v1/enroll', await enrollmentToken('other'), { serialNumber: 'SN-HB', hostname: 'edge-hb' });
    assert.equal(enrollDefault.status, 404, "an enrollment token of 'other' does not match 'default' hosts");
  });
});

describe('southbound: lastSeenAt on reads', () => {
  let srv: TestApp;
  before(async () => {
    srv = await openTestApp({ projects: ['default'], southbound: { leaseCheckMs: 50, leaseFlushMs: 100 }, listen: true });
  });
  after(() => srv.close());

  test('a REST read of a host shows the last heartbeat the servers flushed, while the stored lastSeenAt is written at most once a minute', async () => {
    const host = (await srv.call('POST', '/v1/projects/default/hosts', srv.admin, { name: 'edge-seen', spec: { serialNumber: 'SN-SEEN', desiredState: 'onboarded' } })).json;
    const et = (await srv.call('POST', '/v1/projects/default/tokens', srv.admin, { role: 'enrollment' })).json.token;
    const agent = (await srv.call('POST', '/southbound/v1/enroll', et, { serialNumber: 'SN-SEEN', hostname: 'edge-seen' })).json.token;
    assert.equal((await srv.call('POST', '/southbound/v1/heartbeat', agent, { intervalSeconds: 1 })).status, 204);
    const stored = async () => (await srv.inventory.as({ subject: 't', grants: [{ project: '*', role: 'admin' }] }).get('default', 'Host', host.id)).status.lastSeenAt as string;
    const first = await until(stored, 'running, with a lastSeenAt', { timeoutMs: 5000, intervalMs: 20 });
    await new Promise((r) => setTimeout(r, 1200));
    const t = Date.now();
    assert.equal((await srv.call('POST', '/southbound/v1/heartbeat', agent, { intervalSeconds: 1 })).status, 204);
    const read = async () => (await srv.call('GET', `/v1/projects/default/hosts/${host.id}`, srv.admin)).json.status.lastSeenAt as string;
    await until(async () => Date.parse(await read()) >= t - 50, 'the read shows the new heartbeat', { timeoutMs: 3000, intervalMs: 20 });
    const listed = (await srv.call('GET', `/v1/projects/default/hosts?filter=${encodeURIComponent('name = "edge-seen"')}`, srv.admin)).json.items[0];
    assert.ok(Date.parse(listed.status.lastSeenAt) >= t - 50, 'a list shows it too');
    assert.equal(await stored(), first, 'the stored value did not move: no store write per heartbeat');
  });
});

describe('a connecting agent gets every unfinished command of its host, oldest first, however many it has', () => {
  for (const readAtOnce of [undefined, 2]) {
    test(`reading ${readAtOnce ?? 'the default number of'} commands at once`, async () => {
      const srv = await openTestApp({ southbound: { commandsReadAtOnce: readAtOnce }, listen: true });
      try {
        const manager = { subject: 'test-manager', grants: [{ project: '*', role: 'manager' as const }] };
        const mgr = srv.inventory.as(manager);
        const { host, token: agent } = await enrolAgent(srv, 'SN-MANY');
        const other = (await srv.call('POST', '/v1/projects/default/hosts', srv.admin, { name: 'edge-else', spec: { serialNumber: 'SN-ELSE', desiredState: 'onboarded' } })).json;
        const made: { id: string; state: string }[] = [];
        for (const [i, state] of ['succeeded', 'pending', 'failed', 'running', 'succeeded', 'pending'].entries()) {
          const c = await mgr.create('default', 'Command', { name: `c-${i}`, spec: { hostId: host.id, type: 'power', params: { state: 'off' } }, status: { state } });
          made.push({ id: c.id, state });
          await new Promise((r) => setTimeout(r, 2)); // distinct createdAt
        }
        await mgr.create('default', 'Command', { name: 'c-else', spec: { hostId: other.id, type: 'power', params: { state: 'off' } }, status: { state: 'pending' } });
        const frames: SseFrame[] = [];
        const s = await openSse(`${srv.url}/southbound/v1/stream`, { token: agent }, (f) => frames.push(f));
        const want = made.filter((c) => c.state === 'pending' || c.state === 'running').map((c) => c.id);
        await until(() => frames.filter((f) => f.event === 'command').length >= want.length, 'the unfinished commands', { timeoutMs: 3000 });
        await new Promise((r) => setTimeout(r, 100)); // nothing more follows
        s.close();
        assert.deepEqual(frames.filter((f) => f.event === 'command').map((f) => JSON.parse(f.data).id), want);
      } finally {
        await srv.close();
      }
    });
  }
});

describe('a host revocation that fails stops nothing else', () => {
  test("the invalidated host's stream still hears revoked, and commands still reach the other hosts' streams", async () => {
    const errors: unknown[] = [];
    const srv = await openTestApp({ southbound: { onError: (e) => errors.push(e) }, listen: true });
    try {
      const bad = await enrolAgent(srv, 'SN-BAD');
      const good = await enrolAgent(srv, 'SN-GOOD');
      const badFrames: SseFrame[] = [];
      const goodFrames: SseFrame[] = [];
      const s1 = await openSse(`${srv.url}/southbound/v1/stream`, { token: bad.token }, (f) => badFrames.push(f));
      const s2 = await openSse(`${srv.url}/southbound/v1/stream`, { token: good.token }, (f) => goodFrames.push(f));
      // The database refuses the revocation once (an outage).
      const revoke = srv.tokens.revoke.bind(srv.tokens);
      let failures = 0;
      srv.tokens.revoke = async (where) => {
        if ('hostId' in where && failures++ === 0) throw new Error('the database is down');
        return revoke(where);
      };
      assert.equal((await srv.call('PATCH', `/v1/projects/default/hosts/${bad.host.id}`, srv.admin, { spec: { desiredState: 'untrusted' } })).status, 200);
      await until(() => badFrames.some((f) => f.event === 'revoked'), 'the invalidated host hears revoked', { timeoutMs: 3000 });
      await s1.ended;
      await until(() => errors.some((e) => /database is down/.test(String(e))), 'the failure reported');
      const mgr = srv.inventory.as({ subject: 'test-manager', grants: [{ project: '*', role: 'manager' }] });
      const cmd = await mgr.create('default', 'Command', { name: 'after-failure', spec: { hostId: good.host.id, type: 'power', params: { state: 'off' } }, status: { state: 'pending' } });
      await until(() => goodFrames.some((f) => f.event === 'command' && JSON.parse(f.data).id === cmd.id), 'the command after the failed revocation delivered', { timeoutMs: 3000 });
      s2.close();
    } finally {
      await srv.close();
    }
  });
});

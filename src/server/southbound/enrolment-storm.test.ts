import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openTestApp, type TestApp } from '../../testing/test-app.ts';
import { DIALECTS, PG_URL, pgReachable } from '../../testing/test-stores.ts';

// Issue 10, "Enrolment storms": a site's machines powering on at once, each agent retrying an
// enrolment whose answer was slow, must end with every agent holding a token that works.

const uuidOf = (i: number) => `cccccccc-0000-4000-8000-${String(i).padStart(12, '0')}`;

for (const dialect of DIALECTS) {
  describe(`enrolment storms (${dialect})`, () => {
    let srv: TestApp;
    const P = '/v1/projects/default';
    const open = async (t: { skip: (m: string) => void }, southbound: Record<string, unknown> = {}) => {
      if (dialect === 'postgres' && !(await pgReachable())) {
        t.skip(`PostgreSQL not reachable at ${PG_URL}; these PostgreSQL checks did NOT run`);
        return false;
      }
      srv = await openTestApp({ dialect, southbound: { leaseCheckMs: 60_000, ...southbound } });
      return true;
    };
    const enrollmentToken = async (autoRegister = false) =>
      (await srv.call('POST', `${P}/tokens`, srv.admin, { role: 'enrollment', ...(autoRegister ? { autoRegister } : {}) })).json.token as string;

    for (const autoRegister of [false, true]) {
      test(`concurrent duplicate enrolments of many machines (${autoRegister ? 'autoRegister' : 'registered first'}): every answer's token works, one host per machine`, async (t) => {
        if (!(await open(t))) return;
        try {
          const machines = 40;
          const copies = 3;
          if (!autoRegister) {
            for (let i = 0; i < machines; i++) assert.equal((await srv.call('POST', `${P}/hosts`, srv.admin, { name: `m-${i}`, spec: { desiredState: 'onboarded', uuid: uuidOf(i) } })).status, 201);
          }
          const et = await enrollmentToken(autoRegister);
          // Every machine enrols `copies` times at once (a retry racing its original), all machines together.
          const calls = [];
          for (let c = 0; c < copies; c++) for (let i = 0; i < machines; i++) calls.push(srv.call('POST', '/southbound/v1/enroll', et, { uuid: uuidOf(i), hostname: `m-${i}` }).then((r) => ({ i, r })));
          const answers = await Promise.all(calls);
          const hostOf = new Map<number, Set<string>>();
          for (const { i, r } of answers) {
            assert.equal(r.status, 200, JSON.stringify(r.json));
            if (!hostOf.has(i)) hostOf.set(i, new Set());
            hostOf.get(i)!.add(r.json.hostId);
          }
          for (const [i, ids] of hostOf) assert.equal(ids.size, 1, `machine ${i} ended on ${[...ids].join(', ')}`);
          assert.equal((await srv.call('GET', `${P}/hosts`, srv.admin)).json.totalSize, machines);
          // Whichever answer an agent ends up keeping, its token works: now, and after this process
          // re-read the revocation list from the store.
          await (srv.tokens as unknown as { refreshRevocations(): Promise<void> }).refreshRevocations();
          for (const { r } of answers) assert.equal((await srv.call('POST', '/southbound/v1/heartbeat', r.json.token, {})).status, 204);
          for (const id of new Set(answers.map((a) => a.r.json.hostId))) {
            const host = (await srv.call('GET', `${P}/hosts/${id}`, srv.admin)).json;
            assert.match(host.status.registrationStatus.message, /^agent enrolled/);
          }
          const rows = (await srv.store.store.auth.listTokens('default')).items;
          const agentRows = rows.filter((r) => r.role === 'agent');
          assert.equal(agentRows.length, answers.length, 'one token record per answer, none left over from a failed attempt');
          assert.equal(agentRows.filter((r) => r.revokedAt).length, 0, 'no agent token revoked');
        } finally {
          await srv.close();
        }
      });
    }

    test('past its enrolments in flight the server answers 429 with Retry-After at once, and every machine enrols on retrying', async (t) => {
      if (!(await open(t, { limits: { enrollInFlight: 2 } }))) return;
      try {
        const machines = 30;
        for (let i = 0; i < machines; i++) assert.equal((await srv.call('POST', `${P}/hosts`, srv.admin, { name: `s-${i}`, spec: { desiredState: 'onboarded', uuid: uuidOf(100 + i) } })).status, 201);
        const et = await enrollmentToken();
        const enrol = (i: number) => srv.inject('POST', '/southbound/v1/enroll', et, { uuid: uuidOf(100 + i), hostname: `s-${i}` });
        const first = await Promise.all(Array.from({ length: machines }, (_, i) => enrol(i)));
        const shed = first.filter((r) => r.statusCode === 429);
        assert.ok(shed.length > 0, 'some were shed');
        for (const r of shed) {
          assert.equal(JSON.parse(r.body).error.code, 'rate_limited');
          assert.ok(Number(r.headers['retry-after']) >= 1, `Retry-After ${r.headers['retry-after']}`);
        }
        assert.ok(first.every((r) => r.statusCode === 200 || r.statusCode === 429), first.map((r) => r.statusCode).join(','));
        // The ones turned away come back (here at once, one at a time) and enrol.
        for (let i = 0; i < machines; i++) {
          if (first[i].statusCode === 200) continue;
          const again = await enrol(i);
          assert.equal(again.statusCode, 200, again.body);
        }
      } finally {
        await srv.close();
      }
    });

    test('an enrolment that fails after its token was signed leaves no token behind, and the retry works', async (t) => {
      if (!(await open(t))) return;
      try {
        const host = (await srv.call('POST', `${P}/hosts`, srv.admin, { name: 'inv', spec: { desiredState: 'onboarded', uuid: uuidOf(900) } })).json;
        const et = await enrollmentToken();
        // Invalidated while its enrolments are in flight: each is refused or its token is revoked with the host's.
        const racing = Array.from({ length: 4 }, () => srv.call('POST', '/southbound/v1/enroll', et, { uuid: uuidOf(900), hostname: 'inv' }));
        const invalidate = srv.call('PATCH', `${P}/hosts/${host.id}`, srv.admin, { spec: { desiredState: 'untrusted' } });
        const [rs, inv] = [await Promise.all(racing), await invalidate];
        assert.equal(inv.status, 200);
        await new Promise((r) => setTimeout(r, 200)); // the southbound revokes on the UPDATED event
        for (const r of rs) {
          if (r.status === 200) assert.equal((await srv.call('POST', '/southbound/v1/heartbeat', r.json.token, {})).status, 401, 'an untrusted host keeps no working token');
          else assert.equal(r.status, 403);
        }
        assert.equal((await srv.call('POST', '/southbound/v1/enroll', et, { uuid: uuidOf(900), hostname: 'inv' })).status, 403);
      } finally {
        await srv.close();
      }
    });
  });
}

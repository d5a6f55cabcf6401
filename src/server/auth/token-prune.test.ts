import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { DIALECTS, openTestStore, PG_URL, pgReachable } from '../../testing/test-stores.ts';
import { TokenService } from './token-service.ts';

const DAY = 86_400;

for (const dialect of DIALECTS) {
  test(`${dialect}: the records of tokens expired for longer than keepExpiredMs are deleted, the others kept; a pruned token still fails as expired`, async (t) => {
    if (dialect === 'postgres' && !(await pgReachable())) return void t.skip(`no PG at ${PG_URL}`);
    const ts = await openTestStore(dialect);
    const svc = await TokenService.open({ auth: ts.store.auth, keepExpiredMs: 7 * DAY * 1000, pruneEveryMs: 3_600_000 });
    try {
      const grants = [{ project: 'acme', role: 'agent' as const }];
      const issue = (subject: string, ttlSeconds?: number, hostId?: string) => svc.issue({ subject, grants, ...(ttlSeconds === undefined ? {} : { ttlSeconds }), ...(hostId ? { hostId } : {}) });
      const longGone = await issue('expired 10 days ago', -10 * DAY, 'host-0000000a');
      const gone = await issue('expired 8 days ago', -8 * DAY);
      const recent = await issue('expired a day ago', -1 * DAY);
      const valid = await issue('valid', DAY, 'host-0000000b');
      const forever = await svc.issue({ subject: 'no expiry', grants: [{ project: 'acme', role: 'viewer' }] });
      const otherProject = await svc.issue({ subject: 'expired 9 days ago, other project', grants: [{ project: 'beta', role: 'viewer' }], ttlSeconds: -9 * DAY });
      await svc.revoke({ hostId: 'host-0000000a' });

      assert.equal(await svc.pruneExpired(), 3);
      const left = new Set([...(await ts.store.auth.listTokens('acme')).items, ...(await ts.store.auth.listTokens('beta')).items].map((r) => r.id));
      assert.deepEqual(left, new Set([recent.id, valid.id, forever.id]));
      for (const gone1 of [longGone, gone, otherProject]) await assert.rejects(svc.verify(gone1.token), { code: 'unauthenticated', message: /expired/ });
      assert.equal((await svc.verify(valid.token)).subject, 'valid');
      assert.equal(await svc.pruneExpired(), 0, 'nothing more to delete');
    } finally {
      svc.stop();
      await ts.cleanup();
    }
  });

  test(`${dialect}: deleteExpired deletes at most its limit per call, and refuses a limit that is not a whole number ≥ 1`, async (t) => {
    if (dialect === 'postgres' && !(await pgReachable())) return void t.skip(`no PG at ${PG_URL}`);
    const ts = await openTestStore(dialect);
    const svc = await TokenService.open({ auth: ts.store.auth });
    try {
      for (let i = 0; i < 5; i++) await svc.issue({ subject: `old-${i}`, grants: [{ project: 'acme', role: 'viewer' }], ttlSeconds: -30 * DAY });
      const before = new Date(Date.now() - DAY * 1000).toISOString();
      assert.deepEqual([await ts.store.auth.deleteExpired(before, 2), await ts.store.auth.deleteExpired(before, 2), await ts.store.auth.deleteExpired(before, 2)], [2, 2, 1]);
      assert.equal((await ts.store.auth.listTokens('acme')).items.length, 0);
      for (const bad of [0, -1, 1.5, Number.NaN]) await assert.rejects(ts.store.auth.deleteExpired(before, bad), RangeError);
    } finally {
      svc.stop();
      await ts.cleanup();
    }
  });
}

test('the first prune runs within 5 minutes of start, then once per pruneEveryMs: a server restarted every few minutes still prunes', async (t) => {
  const ts = await openTestStore('sqlite');
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const svc = await TokenService.open({ auth: ts.store.auth, pruneEveryMs: 3_600_000 });
  try {
    const runs = mock.method(svc, 'pruneExpired', async () => 0);
    t.mock.timers.tick(59_000);
    assert.equal(runs.mock.callCount(), 0, 'not in the first minute');
    t.mock.timers.tick(5 * 60_000 - 59_000);
    assert.equal(runs.mock.callCount(), 1, 'once within 5 minutes of start');
    // The first came at 1–5 minutes: the next an hour after it, at 61–65 minutes.
    t.mock.timers.tick(60 * 60_000 + 59_000 - 5 * 60_000);
    assert.equal(runs.mock.callCount(), 1, 'not again before the period');
    t.mock.timers.tick(5 * 60_000);
    assert.equal(runs.mock.callCount(), 2, 'then once per period');
    svc.stop();
    t.mock.timers.tick(2 * 3_600_000);
    assert.equal(runs.mock.callCount(), 2, 'none after stop');
  } finally {
    svc.stop();
    t.mock.timers.reset();
    await ts.cleanup();
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isEimError } from '../../api/index.ts';
import { FakeClock } from '../../reconcile/index.ts';
import { openHarness, until } from '../testing/manager-harness.ts';

const T = (iso: string) => Date.parse(iso);

test('the maintenance manager shows each host its windows (through site and nested regions) and each schedule its window, as they open and close', async () => {
  const clock = new FakeClock(T('2026-11-26T01:00:00Z'));
  const h = await openHarness({ clock });
  try {
    const { user } = h;
    const outer = await user.create('default', 'Region', { name: 'eu', spec: {} });
    const inner = await user.create('default', 'Region', { name: 'eu-west', spec: { parentRegionId: outer.id } });
    const site = await user.create('default', 'Site', { name: 'dublin-1', spec: { regionId: inner.id } });
    const other = await user.create('default', 'Site', { name: 'oslo-1', spec: { regionId: (await user.create('default', 'Region', { name: 'north', spec: {} })).id } });
    const inside = await h.host('in-eu', { siteId: site.id });
    const outside = await h.host('in-north', { siteId: other.id });
    const nightly = await user.create('default', 'Schedule', {
      name: 'eu-nightly',
      spec: { purpose: 'maintenance', target: { regionId: outer.id }, repeated: { cron: '0 2 * * *', durationSeconds: 3600 } },
    });

    const maintenanceOf = async (id: string) => (await h.get('Host', id)).status.maintenance;
    // Before the window: the next opening, nothing open; the host outside the region hears nothing.
    assert.deepEqual(
      await until(async () => (await maintenanceOf(inside.id))?.nextWindowAt && maintenanceOf(inside.id), 'next window of the host under the region'),
      { inWindow: false, purposes: [], scheduleIds: [], nextWindowAt: '2026-11-26T02:00:00.000Z' },
    );
    const closed = await until(async () => {
      const s = await user.get('default', 'Schedule', nightly.id);
      return s.status.nextOpenAt && s;
    }, 'schedule status');
    assert.deepEqual([closed.status.open, closed.status.nextOpenAt, closed.status.scheduleStatus?.message], [false, '2026-11-26T02:00:00.000Z', 'closed; opens 2026-11-26T02:00:00.000Z']);

    // 02:00: the window opens for the host under the region, and a filter selects hosts in maintenance.
    clock.advance(3600_000);
    const open = await until(async () => {
      const m = await maintenanceOf(inside.id);
      return m?.inWindow && m;
    }, 'the window to open');
    assert.deepEqual(open, { inWindow: true, purposes: ['maintenance'], scheduleIds: [nightly.id], windowEndsAt: '2026-11-26T03:00:00.000Z', nextWindowAt: '2026-11-27T02:00:00.000Z' });
    const selected = await user.list('default', 'Host', { filter: 'status.maintenance.inWindow = true' });
    assert.deepEqual(selected.items.map((x) => x.id), [inside.id]);
    assert.equal(await maintenanceOf(outside.id), undefined, 'a host no schedule covers gets no maintenance field');
    await until(async () => (await user.get('default', 'Schedule', nightly.id)).status.open === true, 'schedule status open');

    // A host-level os-update window adds to the region's: both purposes, both schedules.
    const own = await user.create('default', 'Schedule', {
      name: 'one-host-now',
      spec: { purpose: 'os-update', target: { hostId: inside.id }, single: { startAt: '2026-11-26T01:30:00Z', endAt: '2026-11-26T04:00:00Z' } },
    });
    const both = await until(async () => {
      const m = await maintenanceOf(inside.id);
      return m?.scheduleIds.length === 2 && m;
    }, 'both windows');
    assert.deepEqual([both.purposes, both.windowEndsAt], [['maintenance', 'os-update'], '2026-11-26T04:00:00.000Z']);

    // 03:00: the region's window closes; the host's own stays open until 04:00.
    clock.advance(3600_000);
    const one = await until(async () => {
      const m = await maintenanceOf(inside.id);
      return m?.scheduleIds.length === 1 && m;
    }, 'the region window to close');
    assert.deepEqual(one, { inWindow: true, purposes: ['os-update'], scheduleIds: [own.id], windowEndsAt: '2026-11-26T04:00:00.000Z', nextWindowAt: '2026-11-27T02:00:00.000Z' });

    // Moving the host out of the region and deleting its own schedule leaves it out of every window.
    await user.delete('default', 'Schedule', own.id);
    await user.update('default', 'Host', inside.id, { spec: { siteId: other.id } });
    const none = await until(async () => {
      const m = await maintenanceOf(inside.id);
      return m && !m.inWindow && m.nextWindowAt === undefined && m;
    }, 'no window left');
    assert.deepEqual(none, { inWindow: false, purposes: [], scheduleIds: [] });
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

test('schedules with a bad cron, time zone, target or window are refused with invalid_argument', async () => {
  const h = await openHarness();
  try {
    const site = await h.user.create('default', 'Site', { name: 's', spec: { regionId: (await h.user.create('default', 'Region', { name: 'r', spec: {} })).id } });
    const bad = [
      { purpose: 'maintenance', target: { siteId: site.id }, repeated: { cron: '0 25 * * *', durationSeconds: 60 } },
      { purpose: 'maintenance', target: { siteId: site.id }, repeated: { cron: '0 2 * * *', durationSeconds: 60, timezone: 'Nowhere/Land' } },
      { purpose: 'maintenance', target: {}, repeated: { cron: '0 2 * * *', durationSeconds: 60 } },
      { purpose: 'maintenance', target: { siteId: site.id }, single: { startAt: '2026-11-26T10:00:00Z', endAt: '2026-11-26T10:00:00Z' } },
      { purpose: 'maintenance', target: { siteId: site.id } },
      { purpose: 'reboot', target: { siteId: site.id }, single: { startAt: '2026-11-26T10:00:00Z' } },
    ];
    for (const spec of bad) {
      await assert.rejects(
        h.user.create('default', 'Schedule', { name: 'bad', spec: spec as never }),
        (e) => isEimError(e) && e.code === 'invalid_argument' && e.message.length > 20,
        JSON.stringify(spec),
      );
    }
  } finally {
    await h.close();
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALL_PROJECTS, type Caller, type Resource, type ResourceOf } from '../api/index.ts';
import { InventoryService } from '../inventory/index.ts';
import { openTestStore } from '../testing/test-stores.ts';
import { until } from '../testing/until.ts';
import { FakeClock } from './clock.ts';
import { Controller, type ReconcileContext } from './controller.ts';
import { done, type Result, retry, terminal } from './result.ts';
import { TERMINAL_SUFFIX } from './status-reporter.ts';

const MANAGER: Caller = { subject: 'test-manager', grants: [{ project: '*', role: 'manager' }] };
type Host = ResourceOf<'Host'> & Resource;
const USER: Caller = { subject: 'alice', grants: [{ project: '*', role: 'admin' }] };

/** For `until` (real time): an in-process SQLite inventory answers within a millisecond or two. */
const POLL = { intervalMs: 2 };

const settle = () => new Promise((r) => setTimeout(r, 50));

test('end to end over the real in-process Inventory (SQLite): retry, terminal, parked, spec change, success', async () => {
  const ts = await openTestStore('sqlite');
  const svc = new InventoryService(ts.store);
  const clock = new FakeClock(Date.UTC(2026, 10, 26, 10));
  let controller: Controller<'Host'> | undefined;
  try {
    await svc.start();
    await svc.ensureProject('default');
    const user = svc.as(USER);
    const mgr = svc.as(MANAGER);
    const host = await user.create('default', 'Host', { name: 'edge-01', spec: { desiredState: 'registered' } });
    const calls: ReconcileContext<Host>[] = [];

    const reconcile = async (ctx: ReconcileContext<Host>): Promise<Result> => {
      calls.push(ctx);
      const h = ctx.object;
      if (!h) return done();
      if (h.generation === 1) {
        return ctx.attempt === 1 ? retry(new Error('the agent of edge-01 has not connected yet')) : terminal(new Error('serial number SN-1 belongs to another host: change spec.serialNumber'));
      }
      if (h.status.observedGeneration === h.generation) return done(); // level-based: nothing to do
      await mgr.updateStatus(h.project, 'Host', h.id, {
        currentState: h.spec.desiredState,
        hostStatus: { indicator: 'idle', message: h.spec.desiredState, timestamp: new Date(clock.now()).toISOString() },
        observedGeneration: h.generation,
      }, { ifMatch: h.revision });
      return done();
    };
    controller = new Controller({ name: 'host', inventory: mgr, project: ALL_PROJECTS, kind: 'Host', statusField: 'hostStatus', clock, reconcile, backoff: { random: () => 0.5 } }).start();
    await controller.synced;

    // 1. Recoverable: in_progress with the attempt number and reason.
    await until(async () => (await user.get('default', 'Host', host.id)).status.hostStatus?.indicator === 'in_progress', 'retry status', POLL);
    let h = await user.get('default', 'Host', host.id);
    assert.equal(h.status.hostStatus?.message, 'retrying (attempt 1): the agent of edge-01 has not connected yet');
    assert.equal(h.status.hostStatus?.timestamp, '2026-11-26T10:00:00.000Z');
    await until(() => controller!.queue.waiting === 1, 'backoff scheduled', POLL);
    assert.equal(clock.nextDelay(), 1000);
    await settle();
    assert.equal(calls.length, 1, 'our own status write does not bypass the backoff');

    // 2. Unrecoverable on the second attempt: error triple with the message as is, observedGeneration.
    clock.advance(1000);
    await until(async () => (await user.get('default', 'Host', host.id)).status.hostStatus?.indicator === 'error', 'terminal status', POLL);
    h = await user.get('default', 'Host', host.id);
    assert.equal(h.status.hostStatus?.message, `serial number SN-1 belongs to another host: change spec.serialNumber${TERMINAL_SUFFIX}`);
    assert.equal(h.status.observedGeneration, 1);

    // 3. Parked: resyncs do not reconcile it; the terminal triple was written once.
    await settle();
    clock.advance(600_000);
    clock.advance(600_000);
    await until(() => controller!.stats().skipped >= 2, 'resyncs skipped it', POLL);
    await settle();
    assert.equal(calls.length, 2);
    const events = await user.events({ project: 'default', id: host.id });
    assert.deepEqual(events.events.map((e) => `${e.type} ${e.actor}`), ['CREATED alice (admin)', 'UPDATED test-manager (manager)', 'UPDATED test-manager (manager)']);

    // 4. The user changes the spec: reconciled again, and this time it succeeds.
    await user.update('default', 'Host', host.id, { spec: { desiredState: 'onboarded' } });
    await until(async () => (await user.get('default', 'Host', host.id)).status.currentState === 'onboarded', 'reconciled after the spec change', POLL);
    h = await user.get('default', 'Host', host.id);
    assert.deepEqual([h.status.hostStatus?.indicator, h.status.hostStatus?.message, h.status.observedGeneration], ['idle', 'onboarded', 2]);
    assert.equal(calls[2].object?.generation, 2);
    assert.equal(calls[2].attempt, 1, 'terminal forgot the backoff');
    await until(() => controller!.stats().inFlight === 0 && controller!.queue.len === 0 && controller!.stats().done >= 1, 'quiet', POLL);

    // 5. Deletion reaches reconcile with no object.
    await user.delete('default', 'Host', host.id, { force: true });
    await until(() => calls.at(-1)?.object === undefined, 'deletion reconciled', POLL);
    assert.equal(controller.stats().terminals, 1);
    assert.equal(controller.stats().retries, 1);
  } finally {
    await controller?.stop();
    assert.equal(clock.pending, 0);
    await svc.stop();
    await ts.cleanup();
  }
});

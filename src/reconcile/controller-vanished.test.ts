import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALL_PROJECTS, type Caller, type Resource, type ResourceOf } from '../api/index.ts';
import { InventoryService } from '../inventory/index.ts';
import { openTestStore } from '../testing/test-stores.ts';
import { FakeClock } from './clock.ts';
import { Controller, type ReconcileContext } from './controller.ts';
import { done, type Result } from './result.ts';

const MANAGER: Caller = { subject: 'test-manager', grants: [{ project: '*', role: 'manager' }] };
const USER: Caller = { subject: 'alice', grants: [{ project: '*', role: 'admin' }] };
type Host = ResourceOf<'Host'> & Resource;

const poll = async (cond: () => boolean, what: string) => {
  for (const end = Date.now() + 5000; !cond(); await new Promise((r) => setTimeout(r, 5))) assert.ok(Date.now() < end, `timed out waiting for ${what}`);
};

test('reconciles wait for waitFor; a throw for a resource removed meanwhile is done, a throw for one still there is a retry', async () => {
  const ts = await openTestStore('sqlite');
  const svc = new InventoryService(ts.store);
  const clock = new FakeClock();
  let controller: Controller<'Host'> | undefined;
  try {
    await svc.start();
    await svc.ensureProject('default');
    const user = svc.as(USER);
    const doomed = await user.create('default', 'Host', { name: 'doomed', spec: { desiredState: 'registered' } });
    const stays = await user.create('default', 'Host', { name: 'stays', spec: { desiredState: 'registered' } });
    let open!: () => void;
    const waitFor = new Promise<void>((r) => (open = r));
    const calls: string[] = [];
    const errors: unknown[] = [];
    const reconcile = async ({ object }: ReconcileContext<Host>): Promise<Result> => {
      if (!object) return done();
      calls.push(object.name);
      if (object.id === doomed.id) await user.delete('default', 'Host', doomed.id, { force: true });
      throw new Error(`cannot reconcile ${object.name}`);
    };
    controller = new Controller({ name: 'test', inventory: svc.as(MANAGER), project: ALL_PROJECTS, kind: 'Host', clock, reconcile, waitFor, onError: (e) => errors.push(e) }).start();
    await controller.synced;
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(calls, [], 'nothing reconciles before waitFor resolves');

    open();
    await poll(() => calls.length === 2 && controller!.queue.waiting === 1, 'both reconciled, one retry scheduled');
    assert.deepEqual([...calls].sort(), ['doomed', 'stays']);
    assert.deepEqual(errors.map((e) => (e as Error).message), ['cannot reconcile stays'], 'only the host still there failed');
    assert.equal(controller.stats().retries, 1);
    assert.ok((await user.list('default', 'Host')).items.every((h) => h.id === stays.id));
  } finally {
    await controller?.stop();
    await svc.stop();
    await ts.cleanup();
  }
});

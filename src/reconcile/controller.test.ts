import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { ALL_PROJECTS, type Inventory, type InventoryEvent, type Resource, type WatchItem, type WatchOptions } from '../api/index.ts';
import { FakeClock } from './clock.ts';
import { Informer } from '../client/index.ts';
import { until } from '../testing/until.ts';
import { Controller, type ControllerOptions, type ReconcileContext } from './controller.ts';
import { ReconcileTimeoutError } from './errors.ts';
import { done, requeueAfter, type Result, retry, terminal } from './result.ts';
import { TERMINAL_SUFFIX } from './status-reporter.ts';

/**
 * Just enough Inventory for a controller: list, watch (replay after `since`, then live) and a
 * status merge patch; the test changes specs with `setSpec`.
 */
class FakeInventory {
  private readonly objects = new Map<string, Resource>();
  private readonly log: InventoryEvent[] = [];
  private readonly listeners = new Set<() => void>();
  private revision = 0;
  private seq = 0;
  readonly statusWrites: { id: string; status: Record<string, unknown> }[] = [];

  add(spec: Record<string, unknown> = {}, status: Record<string, unknown> = {}): Resource {
    const id = `host-${(++this.seq).toString(16).padStart(8, '0')}`;
    const now = new Date(0).toISOString();
    const r: Resource = { kind: 'Host', id, project: 'default', name: `h${this.seq}`, labels: {}, revision: 0, generation: 1, createdAt: now, updatedAt: now, spec, status };
    return this.commit('CREATED', r);
  }

  setSpec(id: string, spec: Record<string, unknown>): Resource {
    const cur = this.objects.get(id)!;
    return this.commit('UPDATED', { ...cur, spec, generation: cur.generation + 1 });
  }

  remove(id: string): void {
    this.commit('DELETED', this.objects.get(id)!);
  }

  current(id: string): Resource | undefined {
    return this.objects.get(id);
  }

  asInventory(): Inventory {
    return this as unknown as Inventory;
  }

  async list(): Promise<{ items: Resource[]; revision: number; totalSize: number }> {
    const items = [...this.objects.values()].map((r) => structuredClone(r));
    return { items, revision: this.revision, totalSize: items.length };
  }

  async updateStatus(project: string, kind: string, id: string, status: Record<string, unknown>): Promise<Resource> {
    const cur = this.objects.get(id);
    assert.ok(cur && cur.project === project && cur.kind === kind, `updateStatus of unknown ${kind} ${id}`);
    this.statusWrites.push({ id, status: structuredClone(status) });
    return this.commit('UPDATED', { ...cur, status: { ...cur.status, ...status } });
  }

  async *watch(o: WatchOptions): AsyncGenerator<WatchItem> {
    let next = o.since ?? this.revision;
    let wake: (() => void) | undefined;
    const listener = () => wake?.();
    this.listeners.add(listener);
    o.signal?.addEventListener('abort', listener);
    try {
      while (!o.signal?.aborted) {
        const ev = this.log.find((e) => e.revision > next);
        if (!ev) {
          await new Promise<void>((r) => (wake = r));
          continue;
        }
        next = ev.revision;
        const json = JSON.stringify(ev);
        yield { type: 'event', revision: ev.revision, json, event: () => JSON.parse(json) as InventoryEvent };
      }
    } finally {
      this.listeners.delete(listener);
      o.signal?.removeEventListener('abort', listener);
    }
  }

  private commit(type: InventoryEvent['type'], r: Resource): Resource {
    const next = { ...r, revision: ++this.revision };
    if (type === 'DELETED') this.objects.delete(r.id);
    else this.objects.set(r.id, next);
    this.log.push({ type, revision: next.revision, kind: r.kind, id: r.id, project: r.project, object: structuredClone(next), actor: 'test', at: new Date(0).toISOString() });
    for (const l of this.listeners) l();
    return next;
  }
}

/** For `until` (real time): the checks read in-memory counters, so poll every millisecond. */
const POLL = { intervalMs: 1 };

/** Lets pending I/O and promise continuations run, to show that nothing more happens. */
const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

interface Harness {
  inv: FakeInventory;
  clock: FakeClock;
  controller: Controller;
  calls: (ReconcileContext<Resource> & { at: number })[];
}

/** A started controller over a FakeInventory, stopped after the test (which then must leave no timer). */
async function harness(t: TestContext, reconcile: (ctx: ReconcileContext<Resource>, call: number) => Promise<Result>, options: Partial<ControllerOptions> & { inv?: FakeInventory; clock?: FakeClock } = {}): Promise<Harness> {
  const inv = options.inv ?? new FakeInventory();
  const clock = options.clock ?? new FakeClock(0);
  const calls: Harness['calls'] = [];
  const controller = new Controller({
    name: 'test',
    inventory: inv.asInventory(),
    project: ALL_PROJECTS,
    kind: 'Host',
    statusField: 'hostStatus',
    clock,
    backoff: { random: () => 0.9 },
    onError: () => {},
    ...options,
    reconcile: (ctx) => (calls.push({ ...ctx, at: clock.now() }), reconcile(ctx, calls.length)),
  });
  t.after(async () => {
    await controller.stop();
    assert.equal(clock.pending, 0, 'stop leaves no timer behind');
  });
  controller.start();
  await controller.synced;
  return { inv, clock, controller, calls };
}

test('a reconcile that fails twice then succeeds is called 3 times, 1 s then 2 s apart (±20 %), and ends done', async (t) => {
  const inv = new FakeInventory();
  const host = inv.add({ desiredState: 'registered' });
  const { clock, controller, calls } = await harness(t, async (_ctx, n) => (n <= 2 ? retry(new Error('agent not connected')) : done()), { inv });
  await until(() => controller.queue.waiting === 1, 'first retry scheduled', POLL);
  await settle();
  assert.equal(calls.length, 1, 'the echo of our own status write must not bypass the backoff');
  clock.advance(clock.nextDelay()!);
  await until(() => calls.length === 2 && controller.queue.waiting === 1, 'second retry scheduled', POLL);
  clock.advance(clock.nextDelay()!);
  await until(() => controller.stats().done === 1, 'done', POLL);
  await settle();
  assert.equal(calls.length, 3);
  assert.deepEqual(calls.map((c) => [c.key, c.attempt]), [[host.id, 1], [host.id, 2], [host.id, 3]]);
  const gaps = [calls[1].at - calls[0].at, calls[2].at - calls[1].at];
  assert.ok(gaps[0] >= 800 && gaps[0] <= 1200, `first delay ${gaps[0]} ms is not 1 s ±20 %`);
  assert.ok(gaps[1] >= 1600 && gaps[1] <= 2400, `second delay ${gaps[1]} ms is not 2 s ±20 %`);
  assert.ok(gaps[1] > gaps[0]);
  assert.equal(controller.queue.attempts(host.id), 0, 'success forgets the backoff');
  assert.deepEqual({ ...controller.stats(), queueLength: 0 }, { reconciles: 3, done: 1, requeues: 0, retries: 2, timeouts: 0, terminals: 0, skipped: 0, errors: 0, resyncs: 0, queueLength: 0, queueDelayed: 0, inFlight: 0 });
});

test('retry writes in_progress with the attempt number and reason, and skips a write that changes nothing', async (t) => {
  const inv = new FakeInventory();
  const host = inv.add({ desiredState: 'registered' });
  const first = await harness(t, async () => retry(new Error('agent not connected')), { inv });
  await until(() => inv.statusWrites.length === 1, 'first status write', POLL);
  const triple = inv.current(host.id)!.status.hostStatus as Record<string, string>;
  assert.equal(triple.indicator, 'in_progress');
  assert.equal(triple.message, 'retrying (attempt 1): agent not connected');
  assert.equal(triple.timestamp, new Date(0).toISOString());
  first.clock.advance(first.clock.nextDelay()!);
  await until(() => inv.statusWrites.length === 2, 'second status write', POLL);
  assert.equal((inv.current(host.id)!.status.hostStatus as Record<string, string>).message, 'retrying (attempt 2): agent not connected');
  assert.deepEqual(Object.keys(inv.statusWrites[1].status), ['hostStatus'], 'retry touches only the owned triple');
  await first.controller.stop();

  // A restarted controller counts from 1 again: "attempt 2" is there, so it writes "attempt 1"…
  const second = await harness(t, async () => retry(new Error('agent not connected')), { inv });
  await until(() => inv.statusWrites.length === 3, 'restart status write', POLL);
  await second.controller.stop();
  // …and a third restart finds exactly its message there already: no write.
  const third = await harness(t, async () => retry(new Error('agent not connected')), { inv });
  await until(() => third.controller.stats().retries === 1, 'third retry', POLL);
  await settle();
  assert.equal(inv.statusWrites.length, 3);
});

test('terminal writes the error triple once and parks the resource until its generation changes', async (t) => {
  const inv = new FakeInventory();
  const host = inv.add({ desiredState: 'registered' });
  const other = inv.add({ desiredState: 'registered' });
  const message = 'OS image checksum mismatch for os-0a1b2c3d: correct its sha256 or upload the image again';
  const { clock, controller, calls } = await harness(t, async ({ object }) => (object?.id === host.id && object.generation === 1 ? terminal(new Error(message)) : done()), { inv, resyncMs: 60_000 });
  await until(() => inv.statusWrites.length === 1 && controller.stats().done === 1, 'terminal write', POLL);
  const status = inv.current(host.id)!.status as { hostStatus: Record<string, string>; observedGeneration: number };
  assert.equal(status.hostStatus.indicator, 'error');
  assert.equal(status.hostStatus.message, message + TERMINAL_SUFFIX);
  assert.ok(status.hostStatus.message.startsWith(message), 'the error message is used as is');
  assert.equal(status.observedGeneration, 1);

  // Resyncs and unrelated writes do not bring it back.
  for (let i = 0; i < 3; i++) {
    clock.advance(60_000);
    await until(() => controller.stats().resyncs === i + 1 && controller.stats().done === i + 2, 'resync', POLL);
  }
  await inv.updateStatus('default', 'Host', host.id, { lastSeenAt: new Date(0).toISOString() });
  await settle();
  assert.equal(calls.filter((c) => c.key === host.id).length, 1);
  assert.equal(inv.statusWrites.length, 2, 'the terminal triple was written once (the other write is the test\'s)');
  assert.ok(controller.stats().skipped >= 3);
  assert.equal(controller.stats().terminals, 1);

  // The user changes the spec: generation 2 is reconciled again.
  inv.setSpec(host.id, { desiredState: 'onboarded' });
  await until(() => calls.filter((c) => c.key === host.id).length === 2, 'reconciled after the spec change', POLL);
  const again = calls.filter((c) => c.key === host.id)[1];
  assert.equal(again.object?.generation, 2);
  assert.equal(again.attempt, 1);
  void other;
});

test('the terminal mark survives a restart; an error triple without the mark does not park', async (t) => {
  const inv = new FakeInventory();
  const parked = inv.add({ desiredState: 'registered' }, { hostStatus: { indicator: 'error', message: `bad spec${TERMINAL_SUFFIX}`, timestamp: new Date(0).toISOString() }, observedGeneration: 1 });
  const offline = inv.add({ desiredState: 'registered' }, { hostStatus: { indicator: 'error', message: 'no connection', timestamp: new Date(0).toISOString() }, observedGeneration: 1 });
  const stale = inv.add({ desiredState: 'registered' }, { hostStatus: { indicator: 'error', message: `bad spec${TERMINAL_SUFFIX}`, timestamp: new Date(0).toISOString() }, observedGeneration: 0 });
  const { controller, calls } = await harness(t, async () => done(), { inv });
  await until(() => controller.stats().done + controller.stats().skipped === 3, 'all three handled', POLL);
  assert.deepEqual(calls.map((c) => c.key).sort(), [offline.id, stale.id].sort());
  assert.equal(controller.stats().skipped, 1);
  void parked;
});

test('a failed terminal write is retried without reconciling again', async (t) => {
  const inv = new FakeInventory();
  const host = inv.add({ desiredState: 'registered' });
  const real = inv.updateStatus.bind(inv);
  let failures = 1;
  inv.updateStatus = async (...args) => (failures-- > 0 ? Promise.reject(new Error('inventory unavailable')) : real(...args));
  const errors: unknown[] = [];
  const { clock, controller, calls } = await harness(t, async () => terminal(new Error('unrecoverable: fix the spec')), { inv, onError: (e) => errors.push(e) });
  await until(() => controller.queue.waiting === 1, 'write retry scheduled', POLL);
  assert.match(String(errors[0]), /inventory unavailable/);
  clock.advance(clock.nextDelay()!);
  await until(() => inv.statusWrites.length === 1, 'terminal written', POLL);
  await settle();
  assert.equal(calls.length, 1);
  assert.equal((inv.current(host.id)!.status.hostStatus as Record<string, string>).indicator, 'error');
});

test('resync enqueues every cached resource every resyncMs', async (t) => {
  const inv = new FakeInventory();
  inv.add();
  inv.add();
  const { clock, controller, calls } = await harness(t, async () => done(), { inv, resyncMs: 10_000 });
  await until(() => calls.length === 2, 'initial list', POLL);
  clock.advance(9_999);
  await settle();
  assert.equal(calls.length, 2);
  clock.advance(1);
  await until(() => calls.length === 4, 'first resync', POLL);
  clock.advance(10_000);
  await until(() => calls.length === 6, 'second resync', POLL);
  assert.equal(controller.stats().resyncs, 2);
});

test('a reconcile past timeoutMs is aborted and counts as retry', async (t) => {
  const inv = new FakeInventory();
  const host = inv.add();
  let signal: AbortSignal | undefined;
  const { clock, controller, calls } = await harness(
    t,
    (ctx, n) => (n === 1 ? ((signal = ctx.signal), new Promise<Result>((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)))) : Promise.resolve(done())),
    { inv, timeoutMs: 5_000 },
  );
  await until(() => calls.length === 1, 'first call', POLL);
  clock.advance(4_999);
  await settle();
  assert.equal(signal?.aborted, false);
  clock.advance(1);
  await until(() => inv.statusWrites.length === 1, 'retry status', POLL);
  assert.ok(signal?.reason instanceof ReconcileTimeoutError);
  assert.equal((inv.current(host.id)!.status.hostStatus as Record<string, string>).message, 'retrying (attempt 1): reconcile timed out after 5000 ms');
  assert.equal(controller.stats().timeouts, 1);
  clock.advance(clock.nextDelay()!);
  await until(() => controller.stats().done === 1, 'second try done', POLL);
  assert.equal(calls[1].attempt, 2);
});

test('a reconcile that ignores its timeout keeps its key: no second reconcile of it until it returns', async (t) => {
  const inv = new FakeInventory();
  inv.add();
  let release!: () => void;
  let running = 0;
  let maxRunning = 0;
  const { clock, calls } = await harness(
    t,
    async (_ctx, n) => {
      maxRunning = Math.max(maxRunning, ++running);
      if (n === 1) await new Promise<void>((r) => (release = r));
      running--;
      return done();
    },
    { inv, timeoutMs: 1_000 },
  );
  await until(() => calls.length === 1, 'first call', POLL);
  clock.advance(1_000); // timeout → retry, re-added after ~1 s of backoff
  await settle();
  clock.advance(5_000);
  await settle();
  assert.equal(calls.length, 1, 'the key is still held by the timed-out reconcile');
  release();
  await until(() => calls.length === 2, 'taken again once the first returned', POLL);
  assert.equal(maxRunning, 1);
});

test('updates, deletes, requeueAfter, and never two reconciles of one key with several workers', async (t) => {
  const inv = new FakeInventory();
  const host = inv.add({ desiredState: 'registered' });
  let running = 0;
  let maxRunning = 0;
  const seen: (number | undefined)[] = [];
  const { clock, controller, calls } = await harness(
    t,
    async ({ object }) => {
      maxRunning = Math.max(maxRunning, ++running);
      await new Promise((r) => setTimeout(r, 2));
      running--;
      seen.push(object?.generation);
      return object ? requeueAfter(30_000) : done();
    },
    { inv, workers: 4 },
  );
  await until(() => calls.length === 1, 'first call', POLL);
  for (let i = 0; i < 10; i++) inv.setSpec(host.id, { desiredState: 'registered', n: i });
  await until(() => controller.stats().requeues >= 2 && controller.queue.len === 0 && controller.stats().inFlight === 0, 'updates handled', POLL);
  assert.equal(maxRunning, 1);
  assert.equal(seen.at(-1), 11, 'the last reconcile saw the newest generation');
  const before = calls.length;
  clock.advance(30_000);
  await until(() => calls.length === before + 1, 'requeueAfter fired', POLL);
  assert.ok(Object.isFrozen(calls[0].object), 'the cached object is handed out frozen');
  inv.remove(host.id);
  await until(() => seen.at(-1) === undefined && controller.stats().done === 1, 'deletion reconciled', POLL);
});

test('a throwing reconcile is a retry and is reported', async (t) => {
  const inv = new FakeInventory();
  const host = inv.add();
  const errors: unknown[] = [];
  const { controller } = await harness(t, async () => {
    throw new Error('boom');
  }, { inv, onError: (e) => errors.push(e) });
  await until(() => controller.stats().retries === 1 && inv.statusWrites.length === 1, 'retry', POLL);
  assert.equal((inv.current(host.id)!.status.hostStatus as Record<string, string>).message, 'retrying (attempt 1): boom');
  assert.match(String(errors[0]), /boom/);
});

test('stop aborts in-flight reconciles, waits for them and leaves no timers', async () => {
  const inv = new FakeInventory();
  inv.add();
  const clock = new FakeClock(0);
  let aborted = false;
  const controller = new Controller({
    name: 't', inventory: inv.asInventory(), project: ALL_PROJECTS, kind: 'Host', clock,
    reconcile: ({ signal }) => new Promise<Result>((resolve) => signal.addEventListener('abort', () => ((aborted = true), resolve(done())))),
  }).start();
  await until(() => controller.stats().inFlight === 1, 'in flight', POLL);
  assert.ok(clock.pending >= 2, 'resync and timeout timers are set');
  await controller.stop();
  assert.equal(aborted, true);
  assert.equal(clock.pending, 0);
  assert.equal(controller.stats().done, 0, 'a result after stop is not acted on');
});

test('a shared informer that synced before the controller started: its resources are reconciled; stop leaves it running', async (t) => {
  const inv = new FakeInventory();
  const host = inv.add();
  const informer = new Informer<string, Resource>({ inventory: inv.asInventory(), project: ALL_PROJECTS, kind: 'Host' }).start();
  t.after(() => informer.stop());
  await informer.synced;
  const { controller, calls } = await harness(t, async () => done(), { inv, informer });
  await until(() => calls.length === 1, 'existing resource reconciled', POLL);
  assert.equal(calls[0].key, host.id);
  await controller.stop();
  inv.add();
  await until(() => informer.size === 2, 'the shared informer still follows the inventory', POLL);
});

test('with reads, an update is reconciled only when what reads picks out changed (status included); a delete always is', async (t) => {
  const inv = new FakeInventory();
  const host = inv.add({ desiredState: 'registered', siteId: 'site-a' }, { telemetry: { version: 'v1' } });
  const { controller, calls } = await harness(t, async () => done(), {
    inv,
    reads: (h) => [(h.spec as { siteId?: string }).siteId, (h.status as { telemetry?: unknown }).telemetry],
  });
  await until(() => calls.length === 1 && controller.stats().inFlight === 0, 'first reconcile', POLL);
  // Noise to this controller: another spec field (a new generation) and another status field.
  inv.setSpec(host.id, { desiredState: 'registered', siteId: 'site-a', desiredPowerState: 'off' });
  await inv.updateStatus('default', 'Host', host.id, { currentPowerState: 'off', powerStatus: { indicator: 'idle', message: 'power off' } });
  await settle();
  assert.equal(calls.length, 1, 'no reconcile for fields it does not read');
  await inv.updateStatus('default', 'Host', host.id, { telemetry: { version: 'v2' } });
  await until(() => calls.length === 2, 'a status field it reads', POLL);
  inv.setSpec(host.id, { desiredState: 'registered', siteId: 'site-b', desiredPowerState: 'off' });
  await until(() => calls.length === 3, 'a spec field it reads', POLL);
  assert.equal(calls[2].object?.spec.siteId, 'site-b');
  inv.remove(host.id);
  await until(() => calls.length === 4 && calls[3].object === undefined, 'the delete', POLL);
});

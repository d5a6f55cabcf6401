import assert from 'node:assert/strict';
import { loadavg } from 'node:os';
import { after, test } from 'node:test';
import { call, openSse, type SseFrame } from '../testing/http-client.ts';
import { type ServerProcess, spawnServer } from '../testing/server-process.ts';
import { createTestDatabase, PG_URL, pgReachable, queryDatabase, tempDir } from '../testing/test-stores.ts';

// Two real server processes on one PostgreSQL database (ARCHITECTURE.md §3): a write acknowledged
// by one reaches the other's watchers through LISTEN/NOTIFY, in order, fast.

const WRITES = 50;
const WARMUP = 5;
// The requirement is 100 ms; p90 keeps one scheduling hiccup of a loaded CI machine from failing the
// suite, and the benchmark reports p99 and max on a quiet machine.
const P90_LIMIT_MS = 100;

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
});

/** A test database and data directory for servers to share (removed after the file): their `eim server` arguments. */
async function sharedStore(): Promise<{ db: { url: string }; args: string[] }> {
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  const tmp = tempDir();
  cleanups.push(() => tmp.remove());
  return { db, args: ['--store', db.url, '--data-dir', tmp.dir] };
}

/** The q-quantile of `sorted` (nearest rank). */
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];

test('two server processes on one PostgreSQL database: a write on A reaches a watch on B in order, p90 ≤ 100 ms', async (t) => {
  if (!(await pgReachable())) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
  const { args } = await sharedStore();

  // A first: it creates the signing key and admin.token that B then reads from the shared data dir.
  const a: ServerProcess = await spawnServer(args);
  cleanups.push(() => a.kill('SIGKILL'));
  assert.ok(a.token, `server A wrote no admin.token:\n${a.output()}`);
  const b: ServerProcess = await spawnServer(args);
  cleanups.push(() => b.kill('SIGKILL'));
  assert.equal(b.token, a.token, 'both servers share the admin token');
  assert.notEqual(a.url, b.url);
  const token = a.token;
  t.diagnostic(`A: ${a.url}  B: ${b.url}`);

  // B verifies A's token (shared signing key), and both see the same store.
  const ready = await Promise.all([a, b].map((s) => call(`${s.url}/readyz`)));
  assert.deepEqual(ready.map((r) => r.status), [200, 200]);
  assert.equal(ready[0].json.revision, ready[1].json.revision);

  const arrived = new Map<string, { at: number; frame: SseFrame }>();
  const order: string[] = [];
  let wake: (() => void) | undefined;
  const watch = await openSse(`${b.url}/v1/projects/default/watch?kinds=regions`, { token }, (f) => {
    if (f.event === 'BOOKMARK') return;
    const e = JSON.parse(f.data) as { id: string; revision: number };
    order.push(e.id);
    arrived.set(e.id, { at: performance.now(), frame: f });
    wake?.();
  });
  cleanups.push(() => watch.close());
  const waitFor = async (id: string, timeoutMs: number) => {
    const deadline = performance.now() + timeoutMs;
    while (!arrived.has(id)) {
      const left = deadline - performance.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
    return arrived.get(id)!;
  };

  // Warm-up, not measured: first queries on fresh pool connections, JIT.
  for (let i = 0; i < WARMUP; i++) {
    const r = await call(`${a.url}/v1/projects/default/regions`, { method: 'POST', token, body: { name: `warmup-${i}`, spec: {} } });
    assert.equal(r.status, 201, r.body);
    assert.ok(await waitFor(r.json.id, 5000), `warm-up event ${i} never reached B`);
  }
  order.length = 0;

  const latencies: number[] = [];
  const roundTrips: number[] = [];
  const controls: number[] = [];
  const written: { id: string; revision: number }[] = [];
  const missing: string[] = [];
  for (let i = 0; i < WRITES; i++) {
    const sent = performance.now();
    const r = await call(`${a.url}/v1/projects/default/regions`, { method: 'POST', token, body: { name: `mp-${i}`, spec: {} } });
    const acked = performance.now();
    roundTrips.push(acked - sent);
    assert.equal(r.status, 201, r.body);
    written.push({ id: r.json.id, revision: r.json.revision });
    const got = await waitFor(r.json.id, 2000);
    if (!got) {
      missing.push(r.json.id);
      continue;
    }
    assert.equal(Number(got.frame.id), r.json.revision, 'the frame id is the revision A acknowledged');
    assert.equal(got.frame.event, 'CREATED');
    // An event may beat A's response to this test: that counts as 0.
    latencies.push(Math.max(0, got.at - acked));
    // A control with about as many hops (test → B → PostgreSQL → B → test) and no NOTIFY: it shows what the machine's load alone costs.
    const probe = performance.now();
    await call(`${b.url}/readyz`);
    controls.push(performance.now() - probe);
  }

  const sorted = [...latencies].sort((x, y) => x - y);
  const ms = (v: number | undefined) => (v === undefined ? 'n/a' : `${v.toFixed(1)} ms`);
  const trips = [...roundTrips].sort((x, y) => x - y);
  t.diagnostic(`A→B event latency over ${latencies.length} writes: p50 ${ms(quantile(sorted, 0.5))}, p99 ${ms(quantile(sorted, 0.99))}, max ${ms(sorted.at(-1))}`);
  // For context when the limit is missed: a slow machine shows in A's own write round trip too.
  const control = [...controls].sort((x, y) => x - y);
  t.diagnostic(`A's POST round trip: p50 ${ms(quantile(trips, 0.5))}, max ${ms(trips.at(-1))}; B's /readyz (control): p50 ${ms(quantile(control, 0.5))}, max ${ms(control.at(-1))}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

  assert.deepEqual(missing, [], `${missing.length} of ${WRITES} events never reached B within 2 s`);
  assert.deepEqual(order, written.map((w) => w.id), 'B streams the events in commit order, each once');
  const revisions = written.map((w) => w.revision);
  assert.ok(revisions.every((r, i) => i === 0 || r > revisions[i - 1]), 'A acknowledged increasing revisions');
  assert.ok(quantile(sorted, 0.9) <= P90_LIMIT_MS, `p90 ${ms(quantile(sorted, 0.9))} exceeds ${P90_LIMIT_MS} ms (control max ${ms(control.at(-1))}, A's round trip max ${ms(trips.at(-1))}, load ${loadavg()[0].toFixed(1)})`);

  // The other way round too: a write on B reaches a watch on A, and A lists it at once.
  const back: string[] = [];
  const watchA = await openSse(`${a.url}/v1/projects/default/watch?kinds=hosts`, { token }, (f) => {
    // CREATED only: the host manager in A (in-process by default) may write the host's status too.
    if (f.event === 'CREATED') back.push((JSON.parse(f.data) as { id: string }).id);
  });
  cleanups.push(() => watchA.close());
  const host = await call(`${b.url}/v1/projects/default/hosts`, { method: 'POST', token, body: { name: 'mp-host', spec: {} } });
  assert.equal(host.status, 201, host.body);
  const listed = await call(`${a.url}/v1/projects/default/hosts?filter=${encodeURIComponent(`id = ${host.json.id}`)}`, { token });
  assert.deepEqual(listed.json.items.map((h: { id: string }) => h.id), [host.json.id], 'A reads what B acknowledged');
  const deadline = Date.now() + 2000;
  while (back.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(back, [host.json.id]);

  // Both converge on the same revision. A's host manager may still be writing the new host's status
  // at this point, so the two can differ for a moment; they must agree once writes stop.
  let converged: number[] = [];
  const settle = Date.now() + 5000;
  do {
    await new Promise((r) => setTimeout(r, 50));
    converged = (await Promise.all([a, b].map((s) => call(`${s.url}/readyz`)))).map((r) => r.json.revision as number);
  } while (converged[0] !== converged[1] && Date.now() < settle);
  assert.equal(converged[0], converged[1], 'A and B agree on the revision once writes stop');
});

test('several servers on one PostgreSQL database run the managers in one of them at a time; another takes over when it dies', async (t) => {
  if (!(await pgReachable())) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
  const { args } = await sharedStore();
  const a = await spawnServer(args);
  cleanups.push(() => a.kill('SIGKILL'));
  const b = await spawnServer(args);
  cleanups.push(() => b.kill('SIGKILL'));
  const running = /managers: running in this process/;
  const standby = /managers: standby/;
  assert.match(a.output(), running, a.output());
  assert.match(b.output(), standby, b.output());
  assert.doesNotMatch(b.output(), running);

  // A host created through B is reconciled by A's host manager.
  const waiting = async (server: ServerProcess, name: string) => {
    const r = await call(`${server.url}/v1/projects/default/hosts`, { method: 'POST', token: a.token, body: { name, spec: { serialNumber: name, desiredState: 'onboarded' } } });
    assert.equal(r.status, 201, r.body);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const h = await call(`${server.url}/v1/projects/default/hosts/${r.json.id}`, { token: a.token });
      if (/waiting for the agent to enroll/.test(h.json.status?.onboardingStatus?.message ?? '')) return;
      assert.ok(Date.now() < deadline, `${name}: no manager reconciled it within 10 s`);
      await new Promise((res) => setTimeout(res, 50));
    }
  };
  await waiting(b, 'before-failover');

  // A dies: PostgreSQL ends its session and releases the lock; B takes it at its next try.
  await a.kill('SIGKILL');
  const deadline = Date.now() + 15_000;
  while (!running.test(b.output())) {
    assert.ok(Date.now() < deadline, `B did not take over the managers within 15 s:\n${b.output()}`);
    await new Promise((res) => setTimeout(res, 100));
  }
  await waiting(b, 'after-failover');
});

test('a leader that hangs (its session stays open, as after a power loss on another machine) hands the managers over', async (t) => {
  if (!(await pgReachable())) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
  const { db, args } = await sharedStore();
  const a = await spawnServer(args);
  cleanups.push(async () => {
    a.proc.kill('SIGCONT');
    await a.kill('SIGKILL');
  });
  const b = await spawnServer(args);
  cleanups.push(() => b.kill('SIGKILL'));
  const running = /managers: running in this process/;
  assert.match(a.output(), running, a.output());

  // A stops answering but its TCP connections stay up: PostgreSQL keeps its session (and so the
  // lock) until something ends it. B must take over all the same, within the lock's idle limit.
  const stoppedAt = Date.now();
  a.proc.kill('SIGSTOP');
  while (!running.test(b.output())) {
    assert.ok(Date.now() - stoppedAt < 12_000, `B did not take over the managers within 12 s of A hanging:\n${b.output()}`);
    await new Promise((res) => setTimeout(res, 100));
  }
  t.diagnostic(`B took over ${Date.now() - stoppedAt} ms after A hung`);
  // Each took a leader epoch with the lock (A the first, B the second): what A's managers still
  // write once resumed is refused by the store (src/store/leader-fence.test.ts).
  assert.deepEqual((await queryDatabase(db.url, 'select leader_epoch from eim_meta')).map((r) => Number(r.leader_epoch)), [2]);
  // A, resumed, finds its session gone and stops its managers instead of running them beside B's.
  a.proc.kill('SIGCONT');
  const deadline = Date.now() + 5000;
  while (!/managers: stopping them here/.test(a.output())) {
    assert.ok(Date.now() < deadline, `A did not notice it lost the managers lock within 5 s of resuming:\n${a.output()}`);
    await new Promise((res) => setTimeout(res, 100));
  }
});

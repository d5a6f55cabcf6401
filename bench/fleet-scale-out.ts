// Scale-out scenario of bench:fleet (issue 10): three `eim server` processes on one PostgreSQL
// database, a simulated fleet spread across them (the simulator given the three URLs), each server
// restarted in turn, then one killed with SIGKILL. Reported: false "no connection", the time until
// every node heartbeats to a live server again after the kill, commands issued meanwhile that were
// answered. Plus the cost of the lease table and of lastSeenAt at 10,000 hosts, in-process, on both
// stores. Run: npm run bench:fleet -- --scenario scale-out
import pg from 'pg';
import { ALL_PROJECTS } from '../src/api/index.ts';
import { InventoryService } from '../src/inventory/index.ts';
import { openPostgresStore, openSqliteStore, type Store } from '../src/store/index.ts';
import { call } from '../src/testing/http-client.ts';
import { ServerCluster } from '../src/testing/server-cluster.ts';
import { createTestDatabase, pgReachable, tempDir } from '../src/testing/test-stores.ts';
import { monoMs, sleep } from './lib/clock.ts';
import { distribution } from './lib/percentiles.ts';
import { type ResultRow } from './lib/result-row.ts';
import { SimProcess } from './lib/sim-process.ts';

export interface ScaleOutOptions {
  /** Simulated nodes, spread across the servers. @default 3000 */
  nodes: number;
  /** @default 10000 */
  heartbeatMs: number;
  /** Nodes started per second. @default 100 */
  startRate: number;
  /** Hosts whose lastSeenAt and leases are costed in-process. @default 10000 */
  costHosts: number;
}

const SERVERS = 3;
const RECONNECT_TARGET_S = 30;

/** The scale-out rows: the three-server run, then the in-process lease and lastSeenAt costs. */
export async function scaleOutRows(o: ScaleOutOptions): Promise<{ rows: ResultRow[]; details: string[] }> {
  if (!(await pgReachable())) return { rows: [], details: ['Scale-out: SKIPPED, PostgreSQL is not reachable (EIM_TEST_PG_URL)'] };
  const run = await threeServers(o);
  const cost = await leaseCosts(o.costHosts);
  return { rows: [...run.rows, ...cost.rows], details: [...run.details, ...cost.details] };
}

const say = (m: string) => process.stderr.write(`[scale-out] ${m}\n`);

async function threeServers(o: ScaleOutOptions): Promise<{ rows: ResultRow[]; details: string[] }> {
  const db = await createTestDatabase();
  const tmp = tempDir('eim-bench-scale-');
  const cluster = await ServerCluster.start(SERVERS, { store: db.url, dataDir: tmp.dir });
  const sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  let sim: SimProcess | undefined;
  try {
    const token = cluster.token;
    const api = (path: string, init: { method?: string; body?: unknown } = {}) => call(`${cluster.live.url}/v1/projects/default${path}`, { token, ...init });
    const enrollment = (await api('/tokens', { method: 'POST', body: { role: 'enrollment', autoRegister: true } })).json.token as string;
    const count = async (filter: string) => (await api(`/hosts?pageSize=1&filter=${encodeURIComponent(filter)}`)).json.totalSize as number;
    say(`${SERVERS} servers on ${cluster.urls.join(', ')}; starting ${o.nodes} nodes at ${o.startRate}/s`);
    const t0 = monoMs();
    sim = await SimProcess.spawn({ server: cluster.urls, enrollmentToken: enrollment, nodes: o.nodes, seed: 'scale', heartbeatMs: o.heartbeatMs, startRate: o.startRate, label: 'scale-out-sim' });
    while ((await count('status.hostStatus.message = "running"')) < o.nodes) {
      if (monoMs() - t0 > 600_000) throw new Error('the nodes did not all show running within 10 min');
      await sleep(2000);
    }
    const upS = (monoMs() - t0) / 1000;
    say(`all ${o.nodes} running after ${upS.toFixed(0)} s`);
    await sleep(o.heartbeatMs);
    const since = await cluster.revision();
    const hostIds = ((await api(`/hosts?pageSize=1000&orderBy=name`)).json.items as { id: string }[]).map((h) => h.id);

    // Commands during the restarts and after the kill: desired power off on some hosts (the
    // simulated machines answer and keep heartbeating), each delivered by whichever server holds
    // the host's stream, created by whichever runs the managers.
    let issued = 0;
    const issue = async (n: number) => {
      for (const id of hostIds.slice(issued, issued + n)) {
        const r = await call(`${cluster.live.url}/v1/projects/default/hosts/${id}`, { method: 'PATCH', token, body: { spec: { desiredPowerState: 'off' } } }).catch(() => undefined);
        if (r?.status === 200) issued++;
      }
    };
    const restartS: number[] = [];
    for (let i = 0; i < SERVERS; i++) {
      const tr = monoMs();
      const restarting = cluster.restart(i);
      await sleep(200);
      await issue(20);
      await restarting;
      restartS.push((monoMs() - tr) / 1000);
      say(`server ${i} restarted in ${restartS[i].toFixed(1)} s`);
      await sleep(o.heartbeatMs);
    }
    const killedAt = Date.now();
    const tk = monoMs();
    await cluster.kill(1);
    say('server 1 killed (SIGKILL)');
    await issue(20);
    // Every node heartbeating to a live server since the kill: its lease row renewed by a survivor.
    let reconnectS = Number.NaN;
    for (;;) {
      const r = await sql.query<{ n: string }>('select count(*) as n from eim_leases where last_seen > $1', [killedAt]);
      if (Number(r.rows[0].n) >= o.nodes) {
        reconnectS = (monoMs() - tk) / 1000;
        break;
      }
      if (monoMs() - tk > 120_000) break;
      await sleep(250);
    }
    say(`all nodes heartbeating to a live server ${reconnectS.toFixed(1)} s after the kill`);
    // Past any lease that would still expire: 3 intervals + the flush period + a judge's takeover.
    await sleep(Math.max(0, 3 * o.heartbeatMs + 6000 - (monoMs() - tk)));
    const hostEvents = await cluster.events(since);
    const falseLost = new Set(hostEvents.filter((e) => e.type !== 'DELETED' && (e.object.status.hostStatus?.message ?? 'running') !== 'running').map((e) => e.id));
    const commandEvents = await cluster.events(since, 'commands');
    const created = new Set(commandEvents.filter((e) => e.type === 'CREATED' && e.object.spec.type === 'power').map((e) => e.id));
    const answered = new Set(commandEvents.filter((e) => created.has(e.id) && e.object.status.state === 'succeeded').map((e) => e.id));
    const runningNow = await count('status.hostStatus.message = "running"');
    const rows: ResultRow[] = [
      { metric: `false "no connection" (${o.nodes.toLocaleString('en-US')} nodes, ${SERVERS} servers, each restarted, one killed -9)`, dialect: 'postgres', value: falseLost.size, unit: 'hosts', target: { op: '<=', value: 0, label: '0' }, notes: `${runningNow.toLocaleString('en-US')} of ${o.nodes.toLocaleString('en-US')} running at the end; Host events since the first restart` },
      { metric: 'all nodes heartbeating to a live server after the kill -9', dialect: 'postgres', value: reconnectS, unit: 's', baseline: { value: o.heartbeatMs / 1000, label: 'one heartbeat interval' }, target: { op: '<=', value: RECONNECT_TARGET_S, label: `${RECONNECT_TARGET_S} s` }, notes: 'lease rows renewed by a surviving server since the kill (flushed every 2 s)' },
      { metric: 'power commands issued during the restarts and after the kill, answered', dialect: 'postgres', value: answered.size, unit: `of ${created.size}`, target: { op: '>=', value: created.size, label: 'all' }, notes: `${issued} desired power changes PATCHed; each command created by the managers' server, delivered by the server holding the host's stream` },
      { metric: 'server restart (SIGTERM → listening again)', dialect: 'postgres', value: distribution(restartS).p50, unit: 's', notes: restartS.map((s) => s.toFixed(1)).join(', ') },
    ];
    return { rows, details: [`Scale-out: ${o.nodes} nodes showed running ${upS.toFixed(0)} s after the simulator started; simulator RSS ${sim.peakMb.toFixed(0)} MiB`] };
  } finally {
    await sim?.stop().catch(() => {});
    await sql.end().catch(() => {});
    await cluster.close();
    await db.drop();
    tmp.remove();
  }
}

/**
 * What leases cost the store at `hosts` hosts heartbeating every 10 s: one flush (a fifth of them,
 * 2 s of heartbeats, in one statement), and a minute's lastSeenAt writes (every host once, through
 * the Inventory, 256 in flight as the lease judge sends them).
 */
async function leaseCosts(hosts: number): Promise<{ rows: ResultRow[]; details: string[] }> {
  const rows: ResultRow[] = [];
  for (const dialect of ['sqlite', 'postgres'] as const) {
    const tmp = tempDir('eim-bench-lease-');
    const db = dialect === 'postgres' ? await createTestDatabase() : undefined;
    const store: Store = db ? await openPostgresStore(db.url) : await openSqliteStore(`${tmp.dir}/eim.db`);
    const inventory = new InventoryService(store);
    try {
      await inventory.start();
      await store.ensureProject('default');
      await inventory.ensureProject('default');
      const admin = inventory.as({ subject: 'bench', grants: [{ project: ALL_PROJECTS, role: 'admin' }] });
      const manager = inventory.as({ subject: 'bench-judge', grants: [{ project: ALL_PROJECTS, role: 'manager' }] });
      say(`${dialect}: creating ${hosts} hosts`);
      const ids: string[] = [];
      for (let i = 0; i < hosts; i += 500) {
        const batch = await Promise.all(Array.from({ length: Math.min(500, hosts - i) }, (_, j) => admin.create('default', 'Host', { name: `lease-${i + j}`, spec: { desiredState: 'onboarded' } })));
        ids.push(...batch.map((h) => h.id));
      }
      const now = Date.now();
      const flushRows = ids.slice(0, Math.ceil(hosts / 5)).map((id) => ({ hostId: id, project: 'default', lastSeen: now, intervalMs: 10_000, expiresAt: now + 32_000 }));
      await store.leases.renew('bench', flushRows);
      const flushMs: number[] = [];
      for (let k = 0; k < 10; k++) {
        const t = monoMs();
        await store.leases.renew('bench', flushRows.map((r) => ({ ...r, lastSeen: r.lastSeen + k + 1 })));
        flushMs.push(monoMs() - t);
      }
      const t = monoMs();
      let next = 0;
      const worker = async () => {
        while (next < ids.length) {
          const id = ids[next++];
          await manager.updateStatus('default', 'Host', id, { lastSeenAt: new Date().toISOString() });
        }
      };
      await Promise.all(Array.from({ length: 256 }, worker));
      const minuteMs = monoMs() - t;
      const flushP50 = distribution(flushMs).p50;
      rows.push({ metric: `lease flush: ${flushRows.length.toLocaleString('en-US')} heartbeats in one statement (${hosts.toLocaleString('en-US')} hosts, every 2 s)`, dialect, value: flushP50, unit: 'ms', notes: `${((flushP50 / 2000) * 100).toFixed(1)} % of the store's time; median of 10` });
      rows.push({ metric: `lastSeenAt: a minute's writes at ${hosts.toLocaleString('en-US')} hosts (each once, batched)`, dialect, value: minuteMs, unit: 'ms', baseline: { value: 60_000, label: 'the minute they are spread over' }, notes: `${(hosts / 60).toFixed(0)} status writes/s on average, ${((minuteMs / 60_000) * 100).toFixed(1)} % of the minute; each is an UPDATED event` });
    } finally {
      await inventory.stop();
      await store.close();
      await db?.drop();
      tmp.remove();
    }
  }
  return { rows, details: [] };
}

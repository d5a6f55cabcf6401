import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { DIALECTS, type Dialect, openTestStore, PG_URL, pgReachable } from '../testing/test-stores.ts';
import type { KyselyStore } from './kysely-store.ts';
import { bucketize } from './metric-buckets.ts';
import { unpackRollup } from './telemetry-codec.ts';
import { maintainTelemetry, ROLLUP_MS, telemetryUsage } from './telemetry-maintenance.ts';
import type { IngestPoint } from './telemetry-store.ts';

// Collected telemetry in the store, the same on SQLite and PostgreSQL: a repeated batch is stored
// once, series are capped per host, rollups count late samples, retention and byte budgets hold,
// and log search is a literal substring (no pattern characters).

const T0 = Date.parse('2026-11-26T10:00:00Z');

async function withStore(t: TestContext, dialect: Dialect, body: (store: KyselyStore, clock: { now: number }) => Promise<void>): Promise<void> {
  if (dialect === 'postgres' && !(await pgReachable())) return void t.skip(`PostgreSQL not reachable at ${PG_URL}: these PostgreSQL checks did NOT run`);
  const clock = { now: T0 };
  const ts = await openTestStore(dialect, { telemetry: { maxSeriesPerHost: 12, now: () => clock.now } });
  try {
    await body(ts.store, clock);
  } finally {
    await ts.cleanup();
  }
}

const cpu = (t: number, v: number): IngestPoint => ({ name: 'cpu_used_percent', attrs: {}, type: 'gauge', unit: '%', t, value: v });
const bytes = (t: number, v: number, iface = 'eth0'): IngestPoint => ({ name: 'system.network.io', attrs: { 'network.interface.name': iface, 'network.io.direction': 'receive' }, type: 'counter', unit: 'By', t, value: v });

for (const dialect of DIALECTS) {
  test(`${dialect}: samples are stored once per batch (a repeat is a duplicate), read back in order, and the latest values and headline feed top-N`, (t) =>
    withStore(t, dialect, async (store) => {
      const tel = store.telemetry;
      const r1 = await tel.ingest({ project: 'p', hostId: 'host-00000001', batch: { stream: 's1', seq: 1 }, points: [cpu(T0, 10), bytes(T0, 1000)], logs: [] });
      assert.deepEqual([r1.duplicate, r1.stored, r1.rejected, r1.lastSampleDue], [false, 2, 0, true]);
      const again = await tel.ingest({ project: 'p', hostId: 'host-00000001', batch: { stream: 's1', seq: 1 }, points: [cpu(T0, 10), bytes(T0, 1000)], logs: [] });
      assert.equal(again.duplicate, true);
      const r2 = await tel.ingest({ project: 'p', hostId: 'host-00000001', batch: { stream: 's1', seq: 2 }, points: [cpu(T0 + 10_000, 30), bytes(T0 + 10_000, 3000)], logs: [] });
      assert.equal(r2.lastSampleDue, false, 'lastSampleAt is due at most once a minute');
      // A new stream (the agent lost its data dir) starts over at any seq.
      const r3 = await tel.ingest({ project: 'p', hostId: 'host-00000001', batch: { stream: 's2', seq: 1 }, points: [cpu(T0 + 20_000, 50)], logs: [] });
      assert.equal(r3.duplicate, false);
      await tel.ingest({ project: 'p', hostId: 'host-00000002', points: [cpu(T0, 80)], logs: [] });
      await tel.ingest({ project: 'q', hostId: 'host-00000003', points: [cpu(T0, 99)], logs: [] });

      const seen: [number, number, number][] = [];
      await tel.readSamples('host-00000001', T0, T0 + 60_000, (t, id, v) => seen.push([t, id, v]));
      const [cpuSeries] = await tel.series('host-00000001', ['cpu_used_percent']);
      assert.deepEqual(seen.filter((s) => s[1] === cpuSeries.id).map((s) => [s[0] - T0, s[2]]), [[0, 10], [10_000, 30], [20_000, 50]], 'the repeat was not stored twice');
      assert.deepEqual(await tel.latestValue('host-00000001', 'cpu_used_percent'), { t: T0 + 20_000, value: 50 });
      assert.equal(await tel.latestValue('host-00000001', 'nope'), undefined);

      const top = await tel.topHosts({ project: 'p', metric: 'cpu_used_percent', limit: 10 });
      assert.deepEqual(top.rows.map((r) => [r.hostId, r.headline.cpu_used_percent]), [['host-00000002', 80], ['host-00000001', 50]], 'project q is not in project p');
      const narrowed = await tel.topHosts({ project: 'p', metric: 'cpu_used_percent', limit: 10, hostIds: ['host-00000001', 'host-00000003'] });
      assert.deepEqual(narrowed.rows.map((r) => r.hostId), ['host-00000001']);

      // Counters aggregate to rates.
      const [net] = await tel.series('host-00000001', ['system.network.io']);
      const inputs: { t: number; v: number }[] = [];
      await tel.readSamples('host-00000001', T0, T0 + 60_000, (t, id, v) => id === net.id && inputs.push({ t, v }));
      const points = bucketize('counter', inputs.map((x) => ({ t: x.t, count: 1, sum: x.v, min: x.v, max: x.v, last: x.v })), T0, T0 + 60_000, 10_000);
      assert.deepEqual(points.map((p) => p.value), [200], '(3000 - 1000) bytes over 10 s');
    }));

  test(`${dialect}: a host's series are capped; points of further series are refused and counted`, (t) =>
    withStore(t, dialect, async (store) => {
      const points = Array.from({ length: 20 }, (_, i) => bytes(T0, i, `if${i}`));
      const r = await store.telemetry.ingest({ project: 'p', hostId: 'host-0000000a', points, logs: [] });
      assert.deepEqual([r.stored, r.rejected], [12, 8]);
      assert.equal((await store.telemetry.series('host-0000000a')).length, 12);
    }));

  test(`${dialect}: rollups are made when a bucket closes, from every sample of it (also one that came late), and retention and the byte budget hold`, (t) =>
    withStore(t, dialect, async (store, clock) => {
      const tel = store.telemetry;
      const host = 'host-000000b0';
      for (let i = 0; i < 10; i++) await tel.ingest({ project: 'p', hostId: host, points: [cpu(T0 + i * 60_000, i)], logs: [] });
      clock.now = T0 + 11 * 60_000;
      const retention = { rawMs: 86_400_000, rollupMs: 30 * 86_400_000, logsMs: 86_400_000, metricsBytes: 1e9, logsBytes: 1e9 };
      const first = await maintainTelemetry(tel, retention);
      assert.equal(first.rolledUp, 2, 'the buckets 10:00 and 10:05 closed');
      const [series] = await tel.series(host);
      const cells = (await tel.readRollups(host, T0, T0 + 3 * ROLLUP_MS)).map((r) => ({ bucket: r.bucket - T0, cell: unpackRollup(r.data).get(series.id) }));
      assert.deepEqual(cells.map((c) => [c.bucket, c.cell?.count, c.cell?.sum, c.cell?.min, c.cell?.max]), [[0, 5, 10, 0, 4], [ROLLUP_MS, 5, 35, 5, 9]]);
      // A late sample (from an agent's buffer) into the closed first bucket: rolled up again.
      await tel.ingest({ project: 'p', hostId: host, points: [cpu(T0 + 30_000, 100)], logs: [] });
      assert.equal((await maintainTelemetry(tel, retention)).rolledUp, 1);
      const again = unpackRollup((await tel.readRollups(host, T0, T0 + 1))[0].data).get(series.id)!;
      assert.deepEqual([again.count, again.max], [6, 100]);

      // Retention: a day later the samples go, the rollups stay.
      clock.now = T0 + 86_400_000 + 20 * 60_000;
      const aged = await maintainTelemetry(tel, retention);
      assert.equal(aged.deletedSamples, 11);
      let left = 0;
      await tel.readSamples(host, 0, Infinity, () => left++);
      assert.equal(left, 0);
      assert.equal((await tel.readRollups(host, 0, clock.now)).length, 2);
      const usage = await telemetryUsage(tel);
      assert.equal(usage.samples ?? 0, 0, 'the ledger forgot the deleted samples');
      assert.ok(usage.rollups > 0);
    }));

  test(`${dialect}: past the metrics byte budget the oldest minutes go first, and the budget holds after a pass`, (t) =>
    withStore(t, dialect, async (store, clock) => {
      const tel = store.telemetry;
      for (let i = 0; i < 30; i++) {
        await tel.ingest({ project: 'p', hostId: 'host-000000c0', points: Array.from({ length: 10 }, (_, k) => bytes(T0 + i * 60_000, i * 100, `n${k}`)), logs: [] });
      }
      clock.now = T0 + 30 * 60_000;
      const before = await telemetryUsage(tel);
      const perMinute = before.samples / 30;
      const budget = Math.floor(perMinute * 10.5);
      const r = await maintainTelemetry(tel, { rawMs: 86_400_000, rollupMs: 86_400_000, logsMs: 86_400_000, metricsBytes: budget, logsBytes: 1e9 });
      assert.ok(r.metricsBytes <= budget, `${r.metricsBytes} ≤ ${budget}`);
      const times = new Set<number>();
      await tel.readSamples('host-000000c0', 0, Infinity, (t) => times.add(t));
      assert.ok(times.size > 0 && times.size <= 10, `${times.size} minutes left`);
      assert.equal(Math.min(...times), T0 + (30 - times.size) * 60_000, 'the newest minutes are the ones kept');
    }));

  test(`${dialect}: log lines past their retention go, then past the logs byte budget the oldest minutes go first; samples are not touched`, (t) =>
    withStore(t, dialect, async (store, clock) => {
      const tel = store.telemetry;
      const host = 'host-000000c1';
      for (let i = 0; i < 30; i++) {
        const logs = Array.from({ length: 10 }, (_, k) => ({ t: T0 + i * 60_000 + k * 1000, severity: 9, body: `minute ${i} line ${k} ${'x'.repeat(100)}` }));
        await tel.ingest({ project: 'p', hostId: host, points: [cpu(T0 + i * 60_000, i)], logs });
      }
      clock.now = T0 + 30 * 60_000;
      const minutes = async () => {
        const lines = await tel.logs({ project: 'p', hostIds: [host], limit: 1000 });
        return { count: lines.length, oldest: Math.min(...lines.map((l) => l.t)), distinct: new Set(lines.map((l) => Math.floor((l.t - T0) / 60_000))).size };
      };
      const samples = async () => {
        let n = 0;
        await tel.readSamples(host, 0, Infinity, () => n++);
        return n;
      };
      assert.equal((await minutes()).count, 300);
      const before = await telemetryUsage(tel);
      assert.ok(before.logs > 300 * 100, `the ledger counts the lines' bytes (${before.logs})`);
      const big = { rawMs: 86_400_000, rollupMs: 86_400_000, metricsBytes: 1e9 };

      // Retention 20 minutes at 10:30: the lines of 10:00–10:09 go.
      const aged = await maintainTelemetry(tel, { ...big, logsMs: 20 * 60_000, logsBytes: 1e9 });
      assert.equal(aged.deletedLogs, 100);
      assert.deepEqual(await minutes(), { count: 200, oldest: T0 + 10 * 60_000, distinct: 20 });
      const afterRetention = await telemetryUsage(tel);
      assert.ok(Math.abs(afterRetention.logs - (before.logs * 2) / 3) <= before.logs / 30, `the ledger forgot the deleted lines (${afterRetention.logs} of ${before.logs})`);
      assert.equal(aged.logsBytes, afterRetention.logs);

      // Budget: room for about 5.5 of the 20 minutes left: the 5 newest stay.
      const budget = Math.floor((afterRetention.logs / 20) * 5.5);
      const cut = await maintainTelemetry(tel, { ...big, logsMs: 20 * 60_000, logsBytes: budget });
      assert.ok(cut.logsBytes <= budget, `${cut.logsBytes} ≤ ${budget}`);
      assert.equal(cut.deletedLogs, 150);
      assert.deepEqual(await minutes(), { count: 50, oldest: T0 + 25 * 60_000, distinct: 5 }, 'the newest minutes are the ones kept');
      assert.equal(await samples(), 30, 'the logs budget and retention leave samples alone');
      assert.equal((await maintainTelemetry(tel, { ...big, logsMs: 20 * 60_000, logsBytes: budget })).deletedLogs, 0, 'within the budget: nothing more goes');
    }));

  test(`${dialect}: logs come newest first, paged, by level, and q matches literally (%, _ and quotes are plain characters)`, (t) =>
    withStore(t, dialect, async (store) => {
      const tel = store.telemetry;
      const bodies = ['disk 100% full', 'disk 1000 full', "it's a_b", 'itXs aXb', 'plain info'];
      await tel.ingest({ project: 'p', hostId: 'host-000000d0', points: [], logs: bodies.map((body, i) => ({ t: T0 + i * 1000, severity: i % 2 === 0 ? 17 : 9, body })) });
      await tel.ingest({ project: 'q', hostId: 'host-000000d1', logs: [{ t: T0, severity: 17, body: 'other project' }], points: [] });
      const all = await tel.logs({ project: 'p', limit: 10 });
      assert.deepEqual(all.map((l) => l.body), [...bodies].reverse());
      assert.deepEqual((await tel.logs({ project: 'p', text: '100%', limit: 10 })).map((l) => l.body), ['disk 100% full']);
      assert.deepEqual((await tel.logs({ project: 'p', text: "'s a_", limit: 10 })).map((l) => l.body), ["it's a_b"]);
      assert.deepEqual((await tel.logs({ project: 'p', text: '%', limit: 10 })).map((l) => l.body), ['disk 100% full']);
      assert.deepEqual((await tel.logs({ project: 'p', minSeverity: 17, limit: 10 })).map((l) => l.body), ['plain info', "it's a_b", 'disk 100% full']);
      const page1 = await tel.logs({ project: 'p', limit: 2 });
      const page2 = await tel.logs({ project: 'p', limit: 2, before: { t: page1[1].t, seq: page1[1].seq } });
      assert.deepEqual([...page1, ...page2].map((l) => l.body), [...bodies].reverse().slice(0, 4));
      assert.deepEqual((await tel.logs({ project: 'p', hostIds: ['host-000000d1'], limit: 10 })).length, 0, 'a host of another project is not in p');

      // In the order stored after a position: a late line (older time) comes after the ones stored before it.
      const position = await tel.logsPosition({ project: 'p', hostIds: ['host-000000d0'] });
      assert.equal(position, Math.max(...all.map((l) => l.seq)));
      assert.equal(await tel.logsPosition({ project: 'p', hostIds: ['host-000000ff'] }), 0, 'no line: 0');
      await tel.ingest({ project: 'p', hostId: 'host-000000d0', points: [], logs: [{ t: T0 + 60_000, severity: 9, body: 'new' }] });
      await tel.ingest({ project: 'q', hostId: 'host-000000d1', points: [], logs: [{ t: T0 + 60_000, severity: 9, body: 'other project, later' }] });
      await tel.ingest({ project: 'p', hostId: 'host-000000d0', points: [], logs: [{ t: T0 - 3_600_000, severity: 17, body: 'late' }] });
      const after = await tel.logs({ project: 'p', hostIds: ['host-000000d0'], afterSeq: position, limit: 10 });
      assert.deepEqual(after.map((l) => l.body), ['new', 'late']);
      assert.deepEqual((await tel.logs({ project: 'p', afterSeq: after[0].seq, limit: 10 })).map((l) => l.body), ['late']);
    }));
}

test('postgres, two servers on one database: a batch retried through the other server is stored once, and only one of them writes lastSampleAt in a minute', async (t) => {
  if (!(await pgReachable())) return void t.skip(`PostgreSQL not reachable at ${PG_URL}: this PostgreSQL check did NOT run`);
  const clock = { now: T0 };
  const ts = await openTestStore('postgres', { telemetry: { now: () => clock.now } });
  const other = await ts.reopen({ telemetry: { now: () => clock.now } });
  try {
    const batch = (seq: number, v: number) => ({ project: 'p', hostId: 'host-000000e0', batch: { stream: 'a', seq }, points: [cpu(T0 + seq * 1000, v)], logs: [] });
    // The same batch through both at once (an agent whose answer was lost tries another server).
    const [r1, r2] = await Promise.all([ts.store.telemetry.ingest(batch(1, 10)), other.telemetry.ingest(batch(1, 10))]);
    assert.deepEqual([r1.duplicate, r2.duplicate].sort(), [false, true]);
    assert.equal([r1, r2].filter((r) => r.lastSampleDue).length, 1);
    // An agent sends one batch at a time, in order; each may reach either server.
    const more = [];
    for (const seq of [2, 3, 4, 5]) more.push(await (seq % 2 ? ts.store.telemetry : other.telemetry).ingest(batch(seq, seq)));
    assert.equal(more.filter((r) => r.lastSampleDue).length, 0, 'the minute is taken, whichever server a batch reaches');
    clock.now = T0 + 61_000;
    const later = [];
    for (const seq of [6, 7]) later.push(await (seq % 2 ? ts.store.telemetry : other.telemetry).ingest(batch(seq, seq)));
    assert.equal(later.filter((r) => r.lastSampleDue).length, 1);
    let rows = 0;
    await other.telemetry.readSamples('host-000000e0', 0, Infinity, () => rows++);
    assert.equal(rows, 7);
    assert.deepEqual(await ts.store.telemetry.latestValue('host-000000e0', 'cpu_used_percent'), { t: T0 + 7000, value: 7 });
  } finally {
    await other.close();
    await ts.cleanup();
  }
});

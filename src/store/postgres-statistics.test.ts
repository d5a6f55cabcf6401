import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import type { Caller } from '../api/index.ts';
import { InventoryService } from '../inventory/index.ts';
import { openTestStore, PG_URL, pgReachable } from '../testing/test-stores.ts';
import { until } from '../testing/until.ts';

// PostgreSQL plans a host identity lookup (every Host create checks uuid and serial) from the
// table's statistics. With them stale (autovacuum off, as on this test server, or behind a fast
// fill) it read the lookup from the wrong index, a scan of the whole project per create: a fill of
// 100,000 hosts slowed from thousands to tens of creates per second. The store refreshes them
// itself as the table grows.

const ADMIN: Caller = { subject: 'admin', grants: [{ project: '*', role: 'admin' }] };

test('postgres: after 1,000 creates the store refreshes the statistics, and the identity lookup uses its index', async (t) => {
  if (!(await pgReachable())) return void t.skip(`PostgreSQL not reachable at ${PG_URL}`);
  const ts = await openTestStore('postgres');
  const svc = new InventoryService(ts.store);
  try {
    await svc.start();
    await svc.ensureProject('default');
    const admin = svc.as(ADMIN);
    const analyzed = async () =>
      (await sql<{ n: string }>`select analyze_count as n from pg_stat_user_tables where relname = 'eim_resources'`.execute(ts.store.db)).rows[0]?.n ?? '0';
    const before = await analyzed();
    const uuid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    for (let i = 0; i < 1100; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, k) => admin.create('default', 'Host', { name: `h-${i + k}`, spec: { uuid: uuid(i + k) } })));
    }
    await until(async () => Number(await analyzed()) > Number(before), 'an ANALYZE of eim_resources by the store', { timeoutMs: 10_000, intervalMs: 100 });
    const plan = (await sql<{ 'QUERY PLAN': string }>`explain select id from eim_resources where kind = 'Host' and project = 'default' and lower(spec->>'uuid') = ${uuid(7)}`.execute(ts.store.db)).rows.map((r) => r['QUERY PLAN']).join('\n');
    assert.match(plan, /eim_hosts_uuid/, plan);
  } finally {
    await svc.stop();
    await ts.cleanup();
  }
});

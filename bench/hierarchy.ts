// The fleet as one (issue 12): inherited labels reaching 10,000 hosts, the fleet summary, and a
// filter on an inherited label against the same filter on an own label, on SQLite and PostgreSQL.
// npm run bench:hierarchy [-- --hosts 10000 --runs 15 --dialects sqlite,postgres --no-md]
import { ALL_PROJECTS, type Caller, listAll, type Resource } from '../src/api/index.ts';
import { Informer } from '../src/client/index.ts';
import { InventoryService } from '../src/inventory/index.ts';
import { InheritedLabelsManager } from '../src/managers/labels/inherited-labels-manager.ts';
import { InformerIndex } from '../src/managers/shared/informer-index.ts';
import type { Host, Instance, Region, Site } from '../src/managers/shared/manager-deps.ts';
import { openStore } from '../src/store/index.ts';
import { pgReachable } from '../src/testing/test-stores.ts';
import { parseBenchArgs } from './lib/bench-args.ts';
import { type BenchDialect, DIALECTS } from './lib/bench-options.ts';
import { runBenchProgram } from './lib/bench-program.ts';
import { deferCleanup } from './lib/cleanup.ts';
import { monoMs } from './lib/clock.ts';
import { BENCH_ADMIN } from './lib/in-process-inventory.ts';
import { distribution } from './lib/percentiles.ts';
import type { ResultRow } from './lib/result-row.ts';
import { freshTarget } from './lib/store-target.ts';
import { inParallel } from './lib/in-parallel.ts';
import { until } from '../src/testing/until.ts';

const USAGE = `usage: npm run bench:hierarchy -- [options]
  --hosts <n>          hosts in the fleet (default 10000)
  --runs <n>           timed runs per query (default 15)
  --dialects <list>    sqlite,postgres (default both)
  --md / --no-md       write BENCHMARKS.md (default: only with the defaults)`;
const args = parseBenchArgs('bench:hierarchy', USAGE, process.argv.slice(2), { hosts: { type: 'string' }, runs: { type: 'string' }, dialects: { type: 'string' } });
const HOSTS = args.flags.whole(args.values.hosts, 10_000, '--hosts');
const RUNS = args.flags.whole(args.values.runs, 15, '--runs');
const WANTED = (args.values.dialects ?? DIALECTS.join(',')).split(',') as BenchDialect[];
for (const d of WANTED) if (!DIALECTS.includes(d)) throw new Error(`--dialects: unknown dialect ${d}`);
const SUB_REGIONS = 4;
const SITES = 100;
const RINGS = 10;
const MANAGER: Caller = { subject: 'bench-manager', grants: [{ project: '*', role: 'manager' }] };
const ts = '2026-12-01T00:00:00.000Z';
const STATUSES = [
  { hostStatus: { indicator: 'idle', message: 'running', timestamp: ts }, onboardingStatus: { indicator: 'idle', message: 'onboarded', timestamp: ts } },
  { hostStatus: { indicator: 'error', message: 'no connection', timestamp: ts } },
  { hostStatus: { indicator: 'in_progress', message: 'booting', timestamp: ts } },
];
/** A status the size hosts carry (hardware as discovered), so JSON reads cost what they do in a fleet. */
const hardware = (i: number) => ({
  hostname: `edge-${i}`, cpuModel: 'Intel(R) Xeon(R) D-2796NT CPU @ 2.00GHz', cpuArchitecture: 'x86_64', cpuSockets: 1, cpuCores: 20, cpuThreads: 40, memoryBytes: 137438953472,
  systemVendor: 'Supermicro', productName: 'SYS-E403-12P-FN2T', serialNumber: `S${100000 + i}`, biosVendor: 'American Megatrends International, LLC.', biosVersion: '1.4a', osName: 'Ubuntu', osVersion: '22.04.4 LTS', kernelVersion: '6.5.0-41-generic',
});

await runBenchProgram({
  file: 'bench/hierarchy.ts',
  section: 'Fleet as one: inherited labels, summary, inherited-label filters (issue 12)',
  command: args.command,
  writeMarkdown: args.writeMarkdown(args.anyGivenExcept('runs')),
  run: async () => {
    const rows: ResultRow[] = [];
    const setup: string[] = [];
    for (const dialect of WANTED) {
      if (dialect === 'postgres' && !(await pgReachable())) {
        setup.push('PostgreSQL: NOT measured (no server at EIM_TEST_PG_URL)');
        continue;
      }
      const r = await runDialect(dialect);
      rows.push(...r.rows);
      setup.push(r.setup);
    }
    return {
      rows,
      setup: [
        `Fleet: ${HOSTS.toLocaleString('en-US')} hosts over ${SITES} sites in ${SUB_REGIONS} regions under one top region; every host has an own label ring=ring-0…${RINGS - 1} (so inheritedLabels.ring equals labels.ring), a status with hardware (~1 KB), a third running, a third without connection, a third booting`,
        ...setup,
        'In process: the InventoryService over the store; the inherited-labels manager (256 reconciles in flight per kind, its default, as startManagers runs it) over informers of the in-process Inventory',
      ],
      how: [
        '**Label change → 10,000 hosts**: one PATCH of the top region\'s labels, timed until the manager has written the new inheritedLabels of every site and host under it (its write counter), then checked with a count over `inheritedLabels.tier = gold`.',
        '**hosts:summary** is `InventoryService.summarizeHosts` (what the route serves): one GROUP BY over the category fields (plus the group field), median of the runs. The baseline lists every host (pages of 1,000) and categorises them in JavaScript, what a client without the summary does.',
        '**Filters**: a list of 100 (with its total) on `inheritedLabels.ring = ring-3` against `labels.ring = ring-3` (1,000 matches each), runs interleaved, median of each; the ratio is inherited over own.',
      ],
      details: [],
    };
  },
});

async function runDialect(dialect: BenchDialect): Promise<{ rows: ResultRow[]; setup: string }> {
  const target = await freshTarget(dialect);
  const store = await openStore({ url: target.store, dataDir: target.dataDir });
  const service = new InventoryService(store);
  await service.start();
  const informers: Informer<string, Resource>[] = [];
  let manager: InheritedLabelsManager | undefined;
  const cleanup = deferCleanup(async () => {
    await manager?.stop();
    await Promise.all(informers.map((i) => i.stop()));
    await service.stop();
    await store.close();
    await target.remove();
  });
  await service.ensureProject('default');
  const inv = service.as(BENCH_ADMIN);
  const mgr = service.as(MANAGER);

  const t0 = monoMs();
  const top = await inv.create('default', 'Region', { name: 'top', labels: { tier: 'silver', org: 'acme' }, spec: {} });
  const subs: string[] = [];
  for (let j = 0; j < SUB_REGIONS; j++) subs.push((await inv.create('default', 'Region', { name: `sub-${j}`, labels: { geo: `g${j}` }, spec: { parentRegionId: top.id } })).id);
  const sites: string[] = [];
  for (let i = 0; i < SITES; i++) sites.push((await inv.create('default', 'Site', { name: `site-${i}`, labels: { line: String(i % 7) }, spec: { regionId: subs[i % SUB_REGIONS] } })).id);
  await inParallel(HOSTS, 64, async (i) => {
    const h = await inv.create('default', 'Host', { name: `h-${i}`, labels: { ring: `ring-${i % RINGS}` }, spec: { desiredState: 'onboarded', siteId: sites[i % SITES] } });
    await mgr.updateStatus('default', 'Host', h.id, { ...STATUSES[i % STATUSES.length], hardware: hardware(i), observedGeneration: 1 });
  });
  const loadS = (monoMs() - t0) / 1000;

  // The manager over informers of its own (what startManagers shares with the other managers).
  const common = { inventory: mgr, project: ALL_PROJECTS };
  const hosts = new Informer<'Host', Host>({ ...common, kind: 'Host' });
  const instances = new Informer<'Instance', Instance>({ ...common, kind: 'Instance' });
  const regions = new Informer<'Region', Region>({ ...common, kind: 'Region' });
  const siteInformer = new Informer<'Site', Site>({ ...common, kind: 'Site' });
  informers.push(hosts, instances, regions, siteInformer);
  manager = new InheritedLabelsManager({ ...common, hosts, instances, instancesByHost: new InformerIndex(instances, (i) => i.spec.hostId), regions, sites: siteInformer, resyncMs: 0 });
  const tFirst = monoMs();
  for (const i of informers) i.start();
  manager.start();
  const everyone = HOSTS + SITES;
  await until(() => manager!.stats().writes >= everyone, 'first inheritance', { timeoutMs: 300_000, intervalMs: 2 });
  const firstS = (monoMs() - tFirst) / 1000;
  await until(() => idle(manager!), 'idle', { timeoutMs: 60_000, intervalMs: 2 });

  // A label change on the top region, timed until every site's and host's inheritedLabels has it.
  const before = manager.stats().writes;
  const tChange = monoMs();
  await inv.update('default', 'Region', top.id, { labels: { tier: 'gold' } });
  await until(() => manager!.stats().writes - before >= everyone, 'the change reached every host', { timeoutMs: 300_000, intervalMs: 2 });
  const changeMs = monoMs() - tChange;
  await until(() => idle(manager!), 'idle', { timeoutMs: 60_000, intervalMs: 2 });
  const gold = (await inv.list('default', 'Host', { filter: 'inheritedLabels.tier = gold', pageSize: 1 })).totalSize;
  if (gold !== HOSTS) throw new Error(`expected ${HOSTS} hosts with inheritedLabels.tier = gold, found ${gold}`);

  // The summary, and its baseline: every host listed and counted here.
  const admin = BENCH_ADMIN;
  const timed = async (fn: () => Promise<unknown>, runs = RUNS): Promise<number[]> => {
    await fn();
    const out: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = monoMs();
      await fn();
      out.push(monoMs() - t);
    }
    return out.sort((a, b) => a - b);
  };
  const summary = await timed(() => service.summarizeHosts(admin, 'default'));
  const bySite = await timed(() => service.summarizeHosts(admin, 'default', { groupBy: 'site' }));
  const byInherited = await timed(() => service.summarizeHosts(admin, 'default', { groupBy: 'inheritedLabel.geo' }));
  const check = await service.summarizeHosts(admin, 'default', { groupBy: 'site' });
  if (check.total !== HOSTS || check.groups!.length !== SITES) throw new Error(`summary: ${check.total} hosts in ${check.groups!.length} groups`);
  const listed = await timed(async () => (await listAll(inv, 'default', 'Host', { pageSize: 1000 })).items.length, 3);

  // Inherited against own label filters, interleaved so drift hits both alike.
  const own: number[] = [];
  const inherited: number[] = [];
  const list = (filter: string) => inv.list('default', 'Host', { filter, pageSize: 100 });
  const n1 = (await list('labels.ring = ring-3')).totalSize;
  const n2 = (await list('inheritedLabels.ring = ring-3')).totalSize;
  if (n1 !== n2 || n1 !== HOSTS / RINGS) throw new Error(`filters disagree: own ${n1}, inherited ${n2}`);
  for (let i = 0; i < RUNS; i++) {
    for (const [xs, f] of i % 2 === 0 ? ([[own, 'labels.ring = ring-3'], [inherited, 'inheritedLabels.ring = ring-3']] as const) : ([[inherited, 'inheritedLabels.ring = ring-3'], [own, 'labels.ring = ring-3']] as const)) {
      const t = monoMs();
      await list(f);
      xs.push(monoMs() - t);
    }
  }
  const med = (xs: number[]) => distribution([...xs].sort((a, b) => a - b)).p50;
  const n = HOSTS.toLocaleString('en-US');
  const rows: ResultRow[] = [
    { metric: `label change on the top region → ${n} hosts' inheritedLabels`, dialect, value: changeMs, unit: 'ms', target: { op: '<=', value: 3000, label: 'issue 12' }, notes: `${everyone.toLocaleString('en-US')} status writes (sites and hosts); first inheritance of the fleet took ${firstS.toFixed(1)} s` },
    { metric: `hosts:summary, ${n} hosts`, dialect, value: med(summary), unit: 'ms', baseline: { value: med(listed), label: 'list every host + count in JS' }, target: { op: '<=', value: 50, label: 'issue 12' }, notes: `median of ${RUNS}; max ${summary.at(-1)!.toFixed(1)} ms` },
    { metric: `hosts:summary?groupBy=site, ${n} hosts`, dialect, value: med(bySite), unit: 'ms', target: { op: '<=', value: 50, label: 'issue 12' }, notes: `median of ${RUNS}; ${SITES} groups` },
    { metric: `hosts:summary?groupBy=inheritedLabel.geo, ${n} hosts`, dialect, value: med(byInherited), unit: 'ms', target: { op: '<=', value: 50, label: 'issue 12' }, notes: `median of ${RUNS}` },
    { metric: `filter inheritedLabels.ring = ring-3 (list 100 + total), ${n} hosts`, dialect, value: med(inherited), unit: 'ms', baseline: { value: med(own), label: 'labels.ring = ring-3, same run' }, notes: `median of ${RUNS}, interleaved with the baseline` },
    { metric: 'inherited-label filter ÷ own-label filter', dialect, value: med(inherited) / med(own), unit: '×', target: { op: '<=', value: 1.5, label: 'issue 12' } },
  ];
  await cleanup();
  return { rows, setup: `${dialect}: loaded in ${loadS.toFixed(0)} s` };
}

function idle(m: InheritedLabelsManager): boolean {
  const s = m.stats();
  return [s.sites, s.hosts, s.instances].every((c) => c.queueLength + c.inFlight + c.queueDelayed === 0);
}


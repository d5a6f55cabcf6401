// Schedule evaluation for a 10,000-host fleet (issue 5's target: ≤ 50 ms for 10,000 hosts).
// npm run bench:schedules [-- --hosts 10000 --no-md]
import { ALL_PROJECTS, type Inventory } from '../src/api/index.ts';
import { InventoryService } from '../src/inventory/index.ts';
import { scheduleWindow } from '../src/managers/maintenance/schedule-window.ts';
import { MaintenanceWindows } from '../src/managers/maintenance/windows.ts';
import { FakeClock } from '../src/reconcile/index.ts';
import { openStore } from '../src/store/index.ts';
import { parseBenchArgs } from './lib/bench-args.ts';
import { runBenchProgram } from './lib/bench-program.ts';
import { deferCleanup } from './lib/cleanup.ts';
import { monoMs } from './lib/clock.ts';
import { BENCH_ADMIN } from './lib/in-process-inventory.ts';
import { distribution } from './lib/percentiles.ts';
import type { ResultRow } from './lib/result-row.ts';
import { freshTarget } from './lib/store-target.ts';
import { inParallel } from './lib/in-parallel.ts';

const USAGE = `usage: npm run bench:schedules -- [options]
  --hosts <n>      hosts in the fleet (default 10000)
  --runs <n>       timed evaluations per metric (default 30)
  --md / --no-md   write BENCHMARKS.md (default: only with the default fleet)`;
const args = parseBenchArgs('bench:schedules', USAGE, process.argv.slice(2), { hosts: { type: 'string' }, runs: { type: 'string' } });
const HOSTS = args.flags.whole(args.values.hosts, 10_000, '--hosts');
const RUNS = args.flags.whole(args.values.runs, 30, '--runs');
const TOP_REGIONS = 5;
const SUB_REGIONS = 4; // per top region
const SITES = 100;
const HOST_SCHEDULES = 200;
const START = Date.parse('2026-11-26T00:30:00Z');
const TIMEZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo'];

await runBenchProgram({
  file: 'bench/schedules.ts',
  section: 'Schedule evaluation (issue 5)',
  command: args.command,
  writeMarkdown: args.writeMarkdown(args.anyGivenExcept('runs')),
  run: async () => {
    const target = await freshTarget('sqlite');
    const store = await openStore({ url: target.store, dataDir: target.dataDir });
    const service = new InventoryService(store);
    await service.start();
    deferCleanup(async () => {
      await service.stop();
      await store.close();
    });
    await service.ensureProject('default');
    const inv = service.as(BENCH_ADMIN);

    // The fleet: nested regions, sites, hosts, and schedules at every level.
    const t0 = monoMs();
    const regions: string[] = [];
    for (let i = 0; i < TOP_REGIONS; i++) {
      const top = await inv.create('default', 'Region', { name: `top-${i}`, spec: {} });
      regions.push(top.id);
      for (let j = 0; j < SUB_REGIONS; j++) regions.push((await inv.create('default', 'Region', { name: `sub-${i}-${j}`, spec: { parentRegionId: top.id } })).id);
    }
    const leafRegions = regions.filter((_, i) => i % (SUB_REGIONS + 1) !== 0);
    const sites: string[] = [];
    for (let i = 0; i < SITES; i++) sites.push((await inv.create('default', 'Site', { name: `site-${i}`, spec: { regionId: leafRegions[i % leafRegions.length] } })).id);
    const hostIds = await inParallel(HOSTS, 256, async (i) => (await inv.create('default', 'Host', { name: `h-${i}`, spec: { desiredState: 'onboarded', siteId: sites[i % SITES] } })).id);
    let schedules = 0;
    for (const [i, r] of regions.entries()) {
      await inv.create('default', 'Schedule', { name: `region-${i}`, spec: { purpose: 'maintenance', target: { regionId: r }, repeated: { cron: `0 ${1 + (i % 4)} * * *`, durationSeconds: 3600, timezone: TIMEZONES[i % TIMEZONES.length] } } });
      schedules++;
    }
    for (const [i, s] of sites.entries()) {
      await inv.create('default', 'Schedule', { name: `site-${i}`, spec: { purpose: 'os-update', target: { siteId: s }, repeated: { cron: `${i % 60} 3 * * 1-5`, durationSeconds: 7200 } } });
      schedules++;
    }
    for (let i = 0; i < HOST_SCHEDULES; i++) {
      await inv.create('default', 'Schedule', { name: `host-${i}`, spec: { purpose: 'maintenance', target: { hostId: hostIds[i * Math.floor(HOSTS / HOST_SCHEDULES)] }, single: { startAt: '2026-11-26T00:00:00Z', endAt: '2026-11-26T06:00:00Z' } } });
      schedules++;
    }
    const loadSeconds = (monoMs() - t0) / 1000;

    const clock = new FakeClock(START);
    const reader: Inventory = service.as({ subject: 'bench-maintenance', grants: [{ project: '*', role: 'manager' }] });
    const windows = new MaintenanceWindows({ inventory: reader, project: ALL_PROJECTS, clock });
    const tSync = monoMs();
    windows.start();
    await windows.synced;
    const syncMs = monoMs() - tSync;
    deferCleanup(() => windows.stop());

    const timeRuns = (fn: () => void): number[] => {
      fn(); // warm-up: JIT, and the per-schedule windows computed once
      return Array.from({ length: RUNS }, () => {
        const t = monoMs();
        fn();
        return monoMs() - t;
      }).sort((a, b) => a - b);
    };
    let inWindow = 0;
    const evaluate = timeRuns(() => {
      inWindow = 0;
      for (const id of hostIds) if (windows.ofHost(id)!.inWindow) inWindow++;
    });
    const isOpen = timeRuns(() => {
      for (const id of hostIds) windows.isOpen(id, ['os-update', 'maintenance']);
    });
    // Every schedule's window computed afresh (what a cold cache or a clock jump costs).
    const allSchedules = windows.listSchedules();
    const cold = timeRuns(() => {
      for (const s of allSchedules) scheduleWindow(s.spec, clock.now());
    });
    // Baseline: the same answers without the per-schedule cache (each host evaluates each schedule over it).
    const naive = (() => {
      const bySched = new Map(allSchedules.map((s) => [s.id, s]));
      const t = monoMs();
      for (const id of hostIds) for (const sid of windows.schedulesOfHost(id)) scheduleWindow(bySched.get(sid)!.spec, clock.now());
      return monoMs() - t;
    })();
    // A window opening: the clock reaches 01:00 UTC; the timer recomputes the schedules that change and finds the hosts they cover.
    let notified = 0;
    windows.onChange((ids) => (notified += ids === 'all' ? HOSTS : ids.size));
    const tOpen = monoMs();
    clock.advance(Date.parse('2026-11-26T01:00:00Z') - START);
    const openMs = monoMs() - tOpen;
    let inWindowAfter = 0;
    const tAfter = monoMs();
    for (const id of hostIds) if (windows.ofHost(id)!.inWindow) inWindowAfter++;
    const afterMs = monoMs() - tAfter;

    const med = (xs: number[]) => distribution(xs).p50;
    const rows: ResultRow[] = [
      { metric: `evaluate ${HOSTS.toLocaleString('en-US')} hosts (status.maintenance of each)`, dialect: 'sqlite', value: med(evaluate), unit: 'ms', baseline: { value: naive, label: 'without the per-schedule cache' }, target: { op: '<=', value: 50, label: 'issue 5' }, notes: `median of ${RUNS}; max ${evaluate.at(-1)!.toFixed(1)} ms; ${inWindow} hosts in a window` },
      { metric: `isOpen(os-update or maintenance) for ${HOSTS.toLocaleString('en-US')} hosts`, dialect: 'sqlite', value: med(isOpen), unit: 'ms', notes: `median of ${RUNS}; what the rollout asks per instance` },
      { metric: `compute all ${schedules} schedule windows afresh`, dialect: 'sqlite', value: med(cold), unit: 'ms', notes: `median of ${RUNS}; cron-parser with time zones` },
      { metric: 'a window opening (timer: recompute + hosts covered)', dialect: 'sqlite', value: openMs, unit: 'ms', notes: `${notified} hosts notified` },
      { metric: `evaluate ${HOSTS.toLocaleString('en-US')} hosts after it opened`, dialect: 'sqlite', value: afterMs, unit: 'ms', notes: `${inWindowAfter} hosts in a window (cache refilled for the schedules that changed)` },
      { metric: 'MaintenanceWindows start (list schedules, hosts, sites, regions)', dialect: 'sqlite', value: syncMs, unit: 'ms' },
    ];
    return {
      rows,
      setup: [
        `Fleet: ${HOSTS.toLocaleString('en-US')} hosts over ${SITES} sites in ${leafRegions.length} regions nested under ${TOP_REGIONS} top regions; ${schedules} schedules: one repeated per region (4 time zones), one repeated per site (weekdays), ${HOST_SCHEDULES} single ones on hosts (loaded in ${loadSeconds.toFixed(1)} s into SQLite in-process)`,
        'In process: `MaintenanceWindows` (the maintenance manager\'s cache) over the in-process Inventory, with a fake clock so the window opening happens on cue',
      ],
      how: [
        '**Evaluate** is what the maintenance manager computes per host for `status.maintenance`: each host\'s windows, walking up its site and regions and reading each schedule\'s cached window. The baseline computes the same schedules\' windows with cron-parser per host, without the cache.',
        '**A window opening** times `FakeClock.advance` to the opening: the timer recomputes the windows that changed and collects the hosts they cover (the listener only counts them here; the manager enqueues them).',
      ],
      details: [],
    };
  },
});

import { type Inventory, jsonEqual } from '../../api/index.ts';
import { type Clock, Controller, type ControllerStats, done, type ReconcileContext, type Result, systemClock } from '../../reconcile/index.ts';
import type { Informer } from '../../client/index.ts';
import { controllerBase, type Host, type ManagerTuning } from '../shared/manager-deps.ts';
import type { ScheduleWindow } from './schedule-window.ts';
import type { MaintenanceWindows, Schedule } from './windows.ts';

export interface MaintenanceManagerOptions extends ManagerTuning {
  inventory: Inventory;
  /** A project, or ALL_PROJECTS. */
  project: string;
  hosts: Informer<'Host', Host>;
  windows: MaintenanceWindows;
}

/**
 * Keeps what the windows mean visible in the Inventory: each host's `status.maintenance` (in a
 * window now, which, until when, and when the next opens) and each schedule's `status` (open now,
 * since and until when, next opening). Both are written only when they change: when a window
 * opens or closes, a schedule changes, or a host moves to another site. `eim get hosts --filter
 * 'status.maintenance.inWindow = true'` selects the hosts in maintenance.
 * @example const m = new MaintenanceManager({ inventory, project, hosts, windows }).start()
 */
export class MaintenanceManager {
  readonly hostController: Controller<'Host', Host>;
  readonly scheduleController: Controller<'Schedule', Schedule>;
  private readonly clock: Clock;
  private readonly unsubscribe: () => void;

  constructor(private readonly o: MaintenanceManagerOptions) {
    this.clock = o.clock ?? systemClock;
    const common = { ...controllerBase(o, this.clock), waitFor: o.windows.synced };
    // Its windows (sites, regions, schedules, selector membership) reach it through windows.onChange.
    this.hostController = new Controller({ ...common, name: 'maintenance-hosts', kind: 'Host', informer: o.hosts, reads: (h) => [h.spec.desiredState, h.status.maintenance], reconcile: (ctx) => this.reconcileHost(ctx) });
    // The windows' own schedule cache: one list and watch of Schedules for both.
    this.scheduleController = new Controller({ ...common, name: 'maintenance-schedules', kind: 'Schedule', informer: o.windows.schedules, reconcile: (ctx) => this.reconcileSchedule(ctx) });
    this.unsubscribe = o.windows.onChange((hostIds) => {
      if (hostIds === 'all') {
        for (const h of o.hosts.list()) this.hostController.queue.add(h.id);
        for (const s of o.windows.listSchedules()) this.scheduleController.queue.add(s.id);
        return;
      }
      const schedules = new Set<string>();
      for (const id of hostIds) {
        this.hostController.queue.add(id);
        for (const s of o.windows.schedulesOfHost(id)) schedules.add(s);
      }
      for (const s of schedules) this.scheduleController.queue.add(s);
    });
    // A selector schedule's matchedHosts follows its membership (a host that left no longer names it).
    o.windows.selectors.onChange(({ ownerId }) => this.scheduleController.queue.add(ownerId));
  }

  start(): this {
    this.hostController.start();
    this.scheduleController.start();
    return this;
  }

  async stop(): Promise<void> {
    this.unsubscribe();
    await Promise.all([this.hostController.stop(), this.scheduleController.stop()]);
  }

  stats(): { hosts: ControllerStats; schedules: ControllerStats } {
    return { hosts: this.hostController.stats(), schedules: this.scheduleController.stats() };
  }

  private async reconcileHost({ object: host }: ReconcileContext<Host>): Promise<Result> {
    if (!host || host.spec.desiredState === 'deleted') return done();
    const want = this.o.windows.ofHost(host.id);
    if (!want) return done();
    const have = host.status.maintenance;
    if (!have && !want.inWindow && want.nextWindowAt === undefined) return done(); // no schedule covers it
    if (have && jsonEqual(have, want)) return done();
    // A merge patch keeps fields it does not name: null removes the ones that no longer apply.
    await this.o.inventory.updateStatus(host.project, 'Host', host.id, { maintenance: { ...want, windowEndsAt: want.windowEndsAt ?? null, nextWindowAt: want.nextWindowAt ?? null } });
    return done();
  }

  private async reconcileSchedule({ object: s }: ReconcileContext<Schedule>): Promise<Result> {
    if (!s) return done();
    const w = this.o.windows.windowOfSchedule(s.id);
    if (!w) return done();
    const want = scheduleStatus(w);
    const have = s.status;
    const matchedHosts = s.spec.target.selector !== undefined ? this.o.windows.selectors.matched(s.id).size : null;
    const same = (['open', 'openedAt', 'closesAt', 'nextOpenAt'] as const).every((k) => have[k] === (want[k] ?? undefined)) && (have.matchedHosts ?? null) === matchedHosts;
    if (same && have.scheduleStatus?.message === describe(w)) return done();
    await this.o.inventory.updateStatus(s.project, 'Schedule', s.id, {
      ...want,
      matchedHosts,
      scheduleStatus: { indicator: 'idle', message: describe(w), timestamp: new Date(this.clock.now()).toISOString() },
    });
    return done();
  }

}

const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());

function scheduleStatus(w: ScheduleWindow): { open: boolean; openedAt: string | null; closesAt: string | null; nextOpenAt: string | null } {
  return { open: w.open, openedAt: w.open ? iso(w.openedAt) : null, closesAt: w.open ? iso(w.closesAt) : null, nextOpenAt: iso(w.nextOpenAt) };
}

/** The schedule's window in words, for its status triple. */
function describe(w: ScheduleWindow): string {
  if (w.open) return w.closesAt === undefined ? 'open (no end)' : `open until ${iso(w.closesAt)}`;
  return w.nextOpenAt === undefined ? 'closed; never opens again' : `closed; opens ${iso(w.nextOpenAt)}`;
}

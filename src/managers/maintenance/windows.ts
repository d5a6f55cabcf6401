import { type Inventory, type Resource, type ResourceOf } from '../../api/index.ts';
import { Informer } from '../../client/index.ts';
import { type Clock, systemClock } from '../../reconcile/index.ts';
import type { Host, Region, Site } from '../shared/manager-deps.ts';
import { SelectorMembership } from '../shared/selector-membership.ts';
import { type ScheduleWindow, scheduleWindow } from './schedule-window.ts';
import type { HostWindows, WindowPurpose, WindowView } from './window-view.ts';

export type Schedule = ResourceOf<'Schedule'> & Resource;

export interface MaintenanceWindowsOptions {
  /** Reads schedules, sites, regions (and hosts, unless `hosts` is given) across `project`. */
  inventory: Inventory;
  /** A project, or ALL_PROJECTS. */
  project: string;
  /** Shared informers; their owner starts and stops them. @default ones of its own */
  hosts?: Informer<'Host', Host>;
  sites?: Informer<'Site', Site>;
  regions?: Informer<'Region', Region>;
  /** @default systemClock */
  clock?: Clock;
  /** Hears errors of event handlers. */
  onError?: (e: unknown) => void;
}

/** Regions nest; a cycle (which the API cannot create, but a store may hold) stops the walk here. */
const MAX_DEPTH = 64;
/** Timers further out than this are set again when they fire (setTimeout's limit is ~24.8 days). */
const MAX_TIMER_MS = 24 * 3600 * 1000;

/**
 * The effective maintenance and os-update windows of every host, kept in memory: a schedule
 * targets a region (and so every site and host under it, through nested regions), a site, one
 * host, or the hosts a selector matches (as they change). Each schedule's window is computed once and again only when it opens or closes (one timer
 * for the soonest change) or the schedule changes, so asking about a host costs a walk up its
 * site and regions. Listeners hear which hosts a change may affect.
 * @example const w = new MaintenanceWindows({ inventory, project: ALL_PROJECTS }).start(); await w.synced; w.isOpen(hostId, ['os-update', 'maintenance'])
 */
export class MaintenanceWindows implements WindowView {
  readonly synced: Promise<void>;
  private readonly clock: Clock;
  /** Its Schedule cache (read-only; the maintenance manager reconciles schedules from it too). */
  readonly schedules: Informer<'Schedule', Schedule>;
  private readonly sites: Informer<'Site', Site>;
  private readonly regions: Informer<'Region', Region>;
  private readonly hosts: Informer<'Host', Host>;
  /** The hosts each selector-targeted schedule matches, as hosts change. */
  readonly selectors: SelectorMembership;
  /** The informers it made itself (and so starts and stops). */
  private readonly own: Informer<string, Resource>[] = [];
  /** Schedule ids by the id they target. */
  private readonly byTarget = new Map<string, Set<string>>();
  /** Each schedule's window, valid until its changesAt (or until the schedule changes). */
  private readonly windows = new Map<string, { revision: number; w: ScheduleWindow }>();
  private readonly listeners = new Set<(hostIds: ReadonlySet<string> | 'all') => void>();
  private timer?: unknown;
  private timerAt = Infinity;
  private stopped = false;

  constructor(private readonly o: MaintenanceWindowsOptions) {
    this.clock = o.clock ?? systemClock;
    const common = { inventory: o.inventory, project: o.project, onHandlerError: o.onError };
    this.schedules = new Informer<'Schedule', Schedule>({ ...common, kind: 'Schedule' });
    const mine = <I extends Informer<string, Resource>>(i: I): I => (this.own.push(i), i);
    this.sites = o.sites ?? mine(new Informer<'Site', Site>({ ...common, kind: 'Site' }));
    this.regions = o.regions ?? mine(new Informer<'Region', Region>({ ...common, kind: 'Region' }));
    this.hosts = o.hosts ?? mine(new Informer<'Host', Host>({ ...common, kind: 'Host' }));
    this.synced = Promise.all([this.schedules.synced, this.sites.synced, this.regions.synced, this.hosts.synced]).then(() => this.arm());
    this.selectors = new SelectorMembership(this.hosts);
    // A host that starts or stops matching a selector gains or loses that schedule's windows.
    this.selectors.onChange(({ hostIds }) => hostIds.length > 0 && this.emit(new Set(hostIds)));

    this.schedules.on({
      add: (s) => this.scheduleChanged(undefined, s),
      update: (before, s) => this.scheduleChanged(before, s),
      delete: (s) => this.scheduleChanged(s, undefined),
    });
    this.hosts.on({
      add: (h) => this.emit(new Set([h.id])),
      update: (before, h) => {
        if (before.spec.siteId !== h.spec.siteId) this.emit(new Set([h.id]));
      },
    });
    this.sites.on({
      update: (before, s) => {
        if (before.spec.regionId !== s.spec.regionId) this.emit('all');
      },
    });
    this.regions.on({
      update: (before, r) => {
        if (before.spec.parentRegionId !== r.spec.parentRegionId) this.emit('all');
      },
    });
  }

  start(): this {
    this.schedules.start();
    for (const i of this.own) i.start();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    await Promise.all([this.schedules, ...this.own].map((i) => i.stop()));
  }

  onChange(fn: (hostIds: ReadonlySet<string> | 'all') => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  isOpen(hostId: string, purposes?: readonly WindowPurpose[]): boolean {
    const now = this.clock.now();
    for (const id of this.schedulesOfHost(hostId)) {
      const s = this.schedules.get(id);
      if (s && (!purposes || purposes.includes(s.spec.purpose)) && this.windowOf(s, now).open) return true;
    }
    return false;
  }

  ofHost(hostId: string): HostWindows | undefined {
    if (!this.hosts.get(hostId)) return undefined;
    const now = this.clock.now();
    const purposes = new Set<WindowPurpose>();
    const scheduleIds: string[] = [];
    let endsAt = -Infinity;
    let openEnded = false;
    let nextAt = Infinity;
    for (const id of this.schedulesOfHost(hostId)) {
      const s = this.schedules.get(id);
      if (!s) continue;
      const w = this.windowOf(s, now);
      if (w.open) {
        purposes.add(s.spec.purpose);
        scheduleIds.push(id);
        if (w.closesAt === undefined) openEnded = true;
        else endsAt = Math.max(endsAt, w.closesAt);
      }
      if (w.nextOpenAt !== undefined) nextAt = Math.min(nextAt, w.nextOpenAt);
    }
    const out: HostWindows = { inWindow: scheduleIds.length > 0, purposes: [...purposes].sort(), scheduleIds: scheduleIds.sort() };
    if (scheduleIds.length > 0 && !openEnded) out.windowEndsAt = new Date(endsAt).toISOString();
    if (nextAt !== Infinity) out.nextWindowAt = new Date(nextAt).toISOString();
    return out;
  }

  /** The schedule's window now (computed at most once per opening or closing). */
  windowOfSchedule(scheduleId: string): ScheduleWindow | undefined {
    const s = this.schedules.get(scheduleId);
    return s && this.windowOf(s, this.clock.now());
  }

  /** The hosts a schedule covers now. */
  hostsCoveredBy(scheduleId: string): string[] {
    const s = this.schedules.get(scheduleId);
    if (!s) return [];
    return s.spec.target.selector !== undefined ? [...this.selectors.matched(s.id)] : this.hostsUnder(targetOf(s));
  }

  /** The cached schedules (read-only). */
  listSchedules(): Schedule[] {
    return this.schedules.list();
  }

  /** The schedule ids that cover a host, from the host up to its outermost region, then those whose selectors match it. */
  schedulesOfHost(hostId: string): string[] {
    return [...this.chain(hostId).flatMap((t) => [...(this.byTarget.get(t) ?? [])]), ...this.selectors.ownersOf(hostId)];
  }

  /** The host, its site, and its regions from the innermost out. */
  private chain(hostId: string): string[] {
    const out = [hostId];
    const siteId = this.hosts.get(hostId)?.spec.siteId;
    if (!siteId) return out;
    out.push(siteId);
    let regionId: string | undefined = this.sites.get(siteId)?.spec.regionId;
    for (let depth = 0; regionId && depth < MAX_DEPTH; depth++) {
      out.push(regionId);
      regionId = this.regions.get(regionId)?.spec.parentRegionId;
    }
    return out;
  }

  private hostsUnder(targetId: string): string[] {
    return [...this.coverage(new Set([targetId]))];
  }

  /** The hosts under any of `targets` (one pass over the hosts, however many targets). */
  private coverage(targets: ReadonlySet<string>): Set<string> {
    const out = new Set<string>();
    const broad = [...targets].some((t) => !t.startsWith('host-'));
    if (!broad) {
      for (const t of targets) if (this.hosts.get(t)) out.add(t);
      return out;
    }
    for (const h of this.hosts.list()) if (this.chain(h.id).some((t) => targets.has(t))) out.add(h.id);
    return out;
  }

  private windowOf(s: Schedule, now: number): ScheduleWindow {
    const cached = this.windows.get(s.id);
    if (cached && cached.revision === s.revision && (cached.w.changesAt === undefined || now < cached.w.changesAt)) return cached.w;
    const w = scheduleWindow(s.spec, now);
    this.windows.set(s.id, { revision: s.revision, w });
    if (w.changesAt !== undefined && w.changesAt < this.timerAt) this.arm();
    return w;
  }

  private scheduleChanged(before: Schedule | undefined, after: Schedule | undefined): void {
    // Hosts a selector schedule covered before and after the change (its membership is redone here).
    const selected = new Set(before ? this.selectors.matched(before.id) : []);
    const id = (before ?? after)!.id;
    this.selectors.set(id, (after ?? before)!.project, after?.spec.target.selector);
    for (const h of this.selectors.matched(id)) selected.add(h);
    if (before) this.byTarget.get(targetOf(before))?.delete(before.id);
    if (after && after.spec.target.selector === undefined) {
      const t = targetOf(after);
      let set = this.byTarget.get(t);
      if (!set) this.byTarget.set(t, (set = new Set()));
      set.add(after.id);
    } else if (before) {
      this.windows.delete(before.id);
    }
    const affected = this.coverage(new Set([before, after].filter((x) => x !== undefined && x.spec.target.selector === undefined).map((x) => targetOf(x!))));
    for (const h of selected) affected.add(h);
    this.arm();
    if (affected.size > 0) this.emit(affected);
  }

  /** Sets the one timer for the soonest window change of any schedule. */
  private arm(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    let soonest = Infinity;
    for (const s of this.schedules.list()) {
      const at = this.windowOf(s, now).changesAt;
      if (at !== undefined && at < soonest) soonest = at;
    }
    if (soonest === this.timerAt && this.timer !== undefined) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = soonest;
    if (soonest === Infinity) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, soonest - now));
    this.timer = this.clock.setTimeout(() => this.tick(), delay);
    (this.timer as { unref?: () => void })?.unref?.();
  }

  /** A window opened or closed: recompute those schedules and tell listeners whose hosts changed. */
  private tick(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.stopped) return;
    const now = this.clock.now();
    const changed = new Set<string>();
    const selected = new Set<string>();
    for (const s of this.schedules.list()) {
      const cached = this.windows.get(s.id);
      if (cached && cached.revision === s.revision && cached.w.changesAt !== undefined && cached.w.changesAt <= now) {
        this.windows.delete(s.id);
        if (s.spec.target.selector !== undefined) for (const h of this.selectors.matched(s.id)) selected.add(h);
        else changed.add(targetOf(s));
      }
    }
    const affected = this.coverage(changed);
    for (const h of selected) affected.add(h);
    this.arm();
    if (affected.size > 0) this.emit(affected);
  }

  private emit(hostIds: ReadonlySet<string> | 'all'): void {
    for (const fn of this.listeners) {
      try {
        fn(hostIds);
      } catch (e) {
        this.o.onError?.(e);
      }
    }
  }
}

/** The id a schedule targets ('' for a selector: its hosts are in `selectors`). */
export const targetOf = (s: Schedule): string => s.spec.target.hostId ?? s.spec.target.siteId ?? s.spec.target.regionId ?? '';

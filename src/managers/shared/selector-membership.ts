import { hostMatches, type HostSelector, HostSelectorCache } from '../../api/index.ts';
import type { Informer } from '../../client/index.ts';
import type { Host } from './manager-deps.ts';

/** A change of membership: the hosts that started or stopped matching one owner's selector. */
export interface MembershipChange {
  ownerId: string;
  /** Hosts that joined or left. */
  hostIds: readonly string[];
}

/**
 * Which hosts each selector-targeted resource (a schedule, a telemetry profile, a policy: its
 * "owner") matches, kept current over a host cache: a host that starts or stops matching (its
 * labels, inherited labels, site, status change) moves in or out, and listeners hear which
 * owner and which hosts. Owners only match hosts of their own project.
 * @example const m = new SelectorMembership(hosts); m.onChange(({ ownerId }) => queue.add(ownerId)); m.set(profile.id, profile.project, profile.spec.target.selector)
 */
export class SelectorMembership {
  private readonly owners = new Map<string, { project: string; selector: HostSelector; hosts: Set<string> }>();
  /** Owner ids by host. */
  private readonly byHost = new Map<string, Set<string>>();
  private readonly listeners: ((c: MembershipChange) => void)[] = [];
  private readonly cache = new HostSelectorCache();

  constructor(private readonly hosts: Informer<'Host', Host>) {
    hosts.on({
      add: (h) => this.hostChanged(h),
      update: (_before, h) => this.hostChanged(h),
      delete: (h) => this.hostGone(h.id),
    });
  }

  onChange(fn: (c: MembershipChange) => void): void {
    this.listeners.push(fn);
  }

  /** Sets (or with `selector` undefined, removes) an owner's selector, and matches every host of its project against it. */
  set(ownerId: string, project: string, selector: string | undefined): void {
    const before = this.owners.get(ownerId);
    const parsed = selector === undefined ? undefined : this.cache.get(selector);
    if (before && parsed && before.selector.text === parsed.text && before.project === project) return;
    const old = before?.hosts ?? new Set<string>();
    if (before) for (const h of old) this.unlink(h, ownerId);
    this.owners.delete(ownerId);
    const now = new Set<string>();
    if (parsed) {
      for (const h of this.hosts.list()) if (h.project === project && hostMatches(parsed, h)) now.add(h.id);
      this.owners.set(ownerId, { project, selector: parsed, hosts: now });
      for (const h of now) this.link(h, ownerId);
    }
    const moved = [...old].filter((h) => !now.has(h)).concat([...now].filter((h) => !old.has(h)));
    if (moved.length > 0 || (before === undefined) !== (parsed === undefined)) this.emit({ ownerId, hostIds: moved });
  }

  /** The hosts an owner matches now (empty for an owner without a selector). */
  matched(ownerId: string): ReadonlySet<string> {
    return this.owners.get(ownerId)?.hosts ?? new Set();
  }

  /** Whether the owner has a selector here. */
  has(ownerId: string): boolean {
    return this.owners.has(ownerId);
  }

  /** The owners whose selectors match a host now. */
  ownersOf(hostId: string): ReadonlySet<string> {
    return this.byHost.get(hostId) ?? new Set();
  }

  private hostChanged(h: Host): void {
    for (const [ownerId, o] of this.owners) {
      if (o.project !== h.project) continue;
      const match = hostMatches(o.selector, h);
      if (match === o.hosts.has(h.id)) continue;
      if (match) {
        o.hosts.add(h.id);
        this.link(h.id, ownerId);
      } else {
        o.hosts.delete(h.id);
        this.unlink(h.id, ownerId);
      }
      this.emit({ ownerId, hostIds: [h.id] });
    }
  }

  private hostGone(hostId: string): void {
    for (const ownerId of [...this.ownersOf(hostId)]) {
      this.owners.get(ownerId)?.hosts.delete(hostId);
      this.unlink(hostId, ownerId);
      this.emit({ ownerId, hostIds: [hostId] });
    }
  }

  private link(hostId: string, ownerId: string): void {
    let set = this.byHost.get(hostId);
    if (!set) this.byHost.set(hostId, (set = new Set()));
    set.add(ownerId);
  }

  private unlink(hostId: string, ownerId: string): void {
    const set = this.byHost.get(hostId);
    set?.delete(ownerId);
    if (set?.size === 0) this.byHost.delete(hostId);
  }

  private emit(c: MembershipChange): void {
    for (const fn of this.listeners) fn(c);
  }
}

import { type Inventory, isEimError } from '../../api/index.ts';
import type { Informer } from '../../client/index.ts';
import { Backoff, type Clock } from '../../reconcile/index.ts';
import { type AlertmanagerPayload, buildPayload, idempotencyKey } from './alertmanager-payload.ts';
import type { Alert, AlertReceiver, AlertRule } from './alert-types.ts';

/** Alerts one notification carries at most (as Alertmanager's max_alerts; truncatedAlerts says how many waited); the others go in the group's next one. */
export const MAX_ALERTS_PER_NOTIFICATION = 1000;
import { createSenders, type EmailTarget, type SendResult, type Senders, type WebhookTarget } from './notification-senders.ts';

export type { Senders } from './notification-senders.ts';

export interface AlertNotifierOptions {
  inventory: Inventory;
  clock: Clock;
  rules: Informer<'AlertRule', AlertRule>;
  receivers: Informer<'AlertReceiver', AlertReceiver>;
  alerts: Informer<'Alert', Alert>;
  /** The newest state of an alert this process knows (its own writes before the cache has them). */
  view(a: Alert): Alert;
  silencedBy(a: Alert): string[];
  /** Writes an alert's status, serialised per alert by the manager; a function computes the patch from the newest alert. */
  write(a: Alert, status: Record<string, unknown> | ((cur: Alert) => Record<string, unknown>)): Promise<Alert | undefined>;
  revealSpec?: (project: string, kind: string, id: string) => Promise<Record<string, unknown>>;
  externalUrl: () => string;
  senders?: Partial<Senders>;
  /** The default senders deliver to this machine's own or its link's addresses (see SendOptions.allowLocal). @default false */
  allowLocalReceivers?: boolean;
  backoff?: { baseMs?: number; maxMs?: number };
  onError?: (e: unknown, key?: string) => void;
}

export interface AlertNotifierStats {
  /** Notifications by receiver name and result (ok, failed). */
  notifications: Record<string, { ok: number; failed: number }>;
  /** Groups with a notification due or retrying. */
  due: number;
  inFlight: number;
}

/** Deliveries of one receiver at once (others never wait for it). */
const PER_RECEIVER = 4;
/** Deliveries at once, every receiver together. */
const IN_FLIGHT = 64;
const DELIVERIES_KEPT = 10;

/** What a group holds for one receiver now. */
interface GroupView {
  /** Firing (not silenced) alerts this receiver has not been told of. */
  newFiring: Alert[];
  /** Alerts this receiver was told fired that have resolved since. */
  newResolved: Alert[];
  /** Every firing, unsilenced alert (a repeat sends these). */
  firing: Alert[];
  /** The receiver was told of a firing alert in the group that it has not heard resolve: the group is open. */
  open: boolean;
  lastSent?: number;
}

/**
 * Groups alerts per receiver, rule and site, and sends what changed: a new group after
 * groupWait, changes to an open group at most every groupInterval, the firing alerts again every
 * repeatInterval. Each alert records per receiver the state that receiver acknowledged
 * (`status.notified`), so no process — this one after a restart, another server taking over —
 * sends an acknowledged state again. A failed delivery is retried with backoff (1 s doubling to
 * 5 min) and never holds up another receiver.
 */
export class AlertNotifier {
  /** Alerts by group (`ruleId|siteId`), the newest object seen. */
  private readonly groups = new Map<string, Map<string, Alert>>();
  private readonly groupOf = new Map<string, string>();
  private readonly dirty = new Set<string>();
  /** When each delivery (`receiverId|ruleId|siteId`) is due. */
  private readonly due = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly perReceiver = new Map<string, number>();
  private readonly retries = new Map<string, number>();
  private readonly backoff: Backoff;
  private readonly senders: Senders;
  private readonly counters: Record<string, { ok: number; failed: number }> = {};
  private stopped = false;

  constructor(private readonly o: AlertNotifierOptions) {
    this.backoff = new Backoff({ baseMs: o.backoff?.baseMs ?? 1000, maxMs: o.backoff?.maxMs ?? 300_000, factor: 2, jitter: 0.1 });
    this.senders = { ...createSenders({ allowLocal: o.allowLocalReceivers ?? false }), ...o.senders };
    o.receivers.on({ add: () => this.touchAll(), update: () => this.touchAll(), delete: () => this.touchAll() });
    o.rules.on({ update: (a, b) => a.generation !== b.generation && this.touchAll(), delete: () => this.touchAll() });
  }

  /** An alert changed or appeared. */
  changed(a: Alert): void {
    const key = `${a.status.ruleId}|${a.status.labels?.siteId ?? ''}`;
    const before = this.groupOf.get(a.id);
    if (before !== undefined && before !== key) {
      this.groups.get(before)?.delete(a.id);
      this.dirty.add(before);
    }
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = new Map()));
    const known = g.get(a.id);
    if (!known || known.revision <= a.revision) g.set(a.id, a);
    this.groupOf.set(a.id, key);
    this.dirty.add(key);
  }

  /** An alert was removed. */
  removed(a: Alert): void {
    const key = this.groupOf.get(a.id);
    if (key === undefined) return;
    this.groups.get(key)?.delete(a.id);
    this.groupOf.delete(a.id);
    this.dirty.add(key);
  }

  touchAll(): void {
    for (const k of this.groups.keys()) this.dirty.add(k);
  }

  stats(): AlertNotifierStats {
    return { notifications: structuredClone(this.counters), due: this.due.size, inFlight: this.inFlight.size };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /** Recomputes what changed groups owe their receivers, then starts the deliveries that are due. */
  tick(): void {
    if (this.stopped) return;
    const now = this.o.clock.now();
    for (const g of this.dirty) this.plan(g, now);
    this.dirty.clear();
    for (const [key, at] of this.due) {
      if (at > now || this.inFlight.has(key) || this.inFlight.size >= IN_FLIGHT) continue;
      const rid = key.slice(0, key.indexOf('|'));
      if ((this.perReceiver.get(rid) ?? 0) >= PER_RECEIVER) continue;
      this.perReceiver.set(rid, (this.perReceiver.get(rid) ?? 0) + 1);
      const run = this.deliver(key)
        .catch((e) => this.o.onError?.(e, key))
        .finally(() => {
          this.inFlight.delete(key);
          this.perReceiver.set(rid, (this.perReceiver.get(rid) ?? 1) - 1);
          this.dirty.add(key.slice(rid.length + 1));
        });
      this.inFlight.set(key, run);
    }
  }

  private members(group: string): Alert[] {
    const g = this.groups.get(group);
    if (!g) return [];
    const out: Alert[] = [];
    for (const [id, a] of g) {
      const cached = this.o.alerts.get(id);
      out.push(this.o.view(cached && cached.revision >= a.revision ? cached : a));
    }
    return out;
  }

  private look(rid: string, members: Alert[]): GroupView {
    const v: GroupView = { newFiring: [], newResolved: [], firing: [], open: false };
    for (const a of members) {
      const ack = a.status.notified?.[rid];
      const ackedFiring = ack?.state === 'firing' && ack.startsAt === a.status.startsAt;
      // Told it fires, whichever time it started: the receiver holds it firing until told otherwise
      // (it may have resolved, fired again and resolved again between two notifications).
      const toldFiring = ack?.state === 'firing';
      if (ack) v.lastSent = Math.max(v.lastSent ?? 0, Date.parse(ack.at));
      if (toldFiring) v.open = true;
      if (a.status.state === 'firing') {
        if (this.o.silencedBy(a).length > 0) continue;
        v.firing.push(a);
        if (!ackedFiring) v.newFiring.push(a);
      } else if (a.status.state === 'resolved' && toldFiring) v.newResolved.push(a);
    }
    return v;
  }

  /** When each receiver of the group is due a notification (none: nothing to say). */
  private plan(group: string, now: number): void {
    const ruleId = group.slice(0, group.indexOf('|'));
    const rule = this.o.rules.get(ruleId);
    const members = this.members(group);
    const receiverIds = new Set(rule?.spec.receiverIds ?? []);
    // Receivers told of an alert of this group before the rule dropped them still hear it resolve.
    for (const a of members) for (const rid of Object.keys(a.status.notified ?? {})) receiverIds.add(rid);
    for (const key of this.due.keys()) if (key.endsWith(`|${group}`) && !receiverIds.has(key.slice(0, key.indexOf('|')))) this.due.delete(key);
    if (members.length === 0) {
      this.groups.delete(group);
      return;
    }
    for (const rid of receiverIds) {
      const key = `${rid}|${group}`;
      const receiver = this.o.receivers.get(rid);
      const inRule = rule?.spec.receiverIds.includes(rid) ?? false;
      if (!receiver) {
        this.due.delete(key);
        continue;
      }
      const v = this.look(rid, members);
      const spec = receiver.spec;
      let at: number | undefined;
      const changes = (inRule ? v.newFiring.length : 0) + v.newResolved.length;
      if (changes > 0) {
        if (v.open && v.lastSent !== undefined) at = v.lastSent + spec.groupIntervalSeconds * 1000;
        else {
          // A new group waits groupWait; never sooner than groupInterval after the group's last notification.
          const first = Math.min(...[...v.newFiring, ...v.newResolved].map((a) => Date.parse(a.status.startsAt ?? a.status.activeSince)));
          at = Math.max(first + spec.groupWaitSeconds * 1000, (v.lastSent ?? 0) + spec.groupIntervalSeconds * 1000);
        }
      } else if (inRule && v.firing.length > 0 && v.lastSent !== undefined) at = v.lastSent + spec.repeatIntervalSeconds * 1000;
      if (at === undefined) {
        this.due.delete(key);
        this.retries.delete(key);
        continue;
      }
      const retryAt = this.retries.get(key);
      this.due.set(key, Math.max(at, retryAt ?? 0));
    }
    void now;
  }

  private async deliver(key: string): Promise<void> {
    const [rid, ruleId, siteId] = key.split('|');
    const group = `${ruleId}|${siteId}`;
    const receiver = this.o.receivers.get(rid);
    const rule = this.o.rules.get(ruleId);
    const members = this.members(group);
    if (!receiver || members.length === 0) return void this.due.delete(key);
    const v = this.look(rid, members);
    const inRule = rule?.spec.receiverIds.includes(rid) ?? false;
    const changed = [...(inRule ? v.newFiring : []), ...v.newResolved];
    const all = changed.length > 0 ? changed : inRule ? v.firing : [];
    this.due.delete(key);
    if (all.length === 0) return;
    // A notification carries at most MAX_ALERTS_PER_NOTIFICATION (its body stays bounded); the rest,
    // not acknowledged, are still new to the receiver and go in the group's next notification.
    const alerts = all.slice(0, MAX_ALERTS_PER_NOTIFICATION);
    const truncatedAlerts = all.length - alerts.length;
    const first = alerts[0];
    const groupLabels: Record<string, string> = { alertname: first.status.labels.alertname ?? rule?.name ?? ruleId };
    if (siteId) groupLabels.site = first.status.labels.site ?? siteId;
    const groupKey = `{}:{alertname="${groupLabels.alertname}",rule="${ruleId}"${siteId ? `,site="${siteId}"` : ''}}`;
    const payload = buildPayload({ receiver, groupKey, groupLabels, alerts, externalUrl: this.o.externalUrl(), truncatedAlerts });
    const idem = idempotencyKey(rid, groupKey, alerts);
    const attempt = this.backoff.attempts(key) + 1;
    const result = await this.send(receiver, payload, idem).catch((e): SendResult => ({ ok: false, detail: safeMessage(e) }));
    const at = new Date(this.o.clock.now()).toISOString();
    const c = (this.counters[receiver.name] ??= { ok: 0, failed: 0 });
    if (result.ok) {
      c.ok++;
      this.backoff.forget(key);
      this.retries.delete(key);
      // Acknowledged: recorded on each alert, so nobody sends this state to this receiver again.
      await Promise.all(
        alerts.map((a) =>
          this.o.write(a, (cur) => ({
            notified: { [rid]: { state: a.status.state === 'firing' ? 'firing' : 'resolved', startsAt: a.status.startsAt ?? a.status.activeSince, at, key: idem } },
            lastNotifiedAt: at,
            deliveries: withDelivery(cur, { receiverId: rid, at, ok: true, attempt }),
          })),
        ),
      );
    } else {
      c.failed++;
      const delay = this.backoff.next(key);
      this.retries.set(key, this.o.clock.now() + delay);
      this.due.set(key, this.o.clock.now() + delay);
      // The first failure of a streak goes on the alerts; the receiver's status shows each.
      if (attempt === 1) await Promise.all(alerts.map((a) => this.o.write(a, (cur) => ({ deliveries: withDelivery(cur, { receiverId: rid, at, ok: false, attempt, error: result.detail }) }))));
    }
    await this.o.inventory
      .updateStatus(receiver.project, 'AlertReceiver', receiver.id, { lastDelivery: { at, ok: result.ok, attempt, alerts: alerts.length, ...(result.ok ? { error: null } : { error: result.detail }) } })
      .catch((e) => {
        if (!(isEimError(e) && e.code === 'not_found')) throw e;
      });
  }

  /** Sends one notification to a receiver, its secrets read just for this. */
  async send(receiver: AlertReceiver, payload: AlertmanagerPayload, idem: string): Promise<SendResult> {
    const spec = (this.o.revealSpec ? await this.o.revealSpec(receiver.project, 'AlertReceiver', receiver.id) : receiver.spec) as AlertReceiver['spec'];
    if (spec.webhook) return this.senders.webhook(spec.webhook as WebhookTarget, payload, idem);
    if (spec.email) return this.senders.email(spec.email as EmailTarget, payload, idem);
    return { ok: false, detail: 'the receiver has neither webhook nor email' };
  }
}

function withDelivery(a: Alert, d: { receiverId: string; at: string; ok: boolean; attempt: number; error?: string }): unknown[] {
  return [...(a.status.deliveries ?? []), { ...d, ...(d.error ? { error: d.error.slice(0, 1024) } : {}) }].slice(-DELIVERIES_KEPT);
}

/** An error's message without anything but its first line (no stack, no request echo). */
function safeMessage(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0].slice(0, 300);
}

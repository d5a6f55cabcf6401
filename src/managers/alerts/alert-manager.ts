import { type Inventory, isEimError, jsonEqual, kindById, kindByName, type Resource } from '../../api/index.ts';
import { evaluateFilter, parseFilter } from '../../api/filter.ts';
import { Informer } from '../../client/index.ts';
import { type Clock, systemClock, WorkQueue } from '../../reconcile/index.ts';
import { InformerIndex } from '../shared/informer-index.ts';
import type { Host, Instance, ManagerTuning, Region, Site } from '../shared/manager-deps.ts';
import { alertAnnotations, alertLabels, type CompiledRule, compileRule, fingerprintOf, meetsCondition } from './alert-evaluator.ts';
import { AlertNotifier, type AlertNotifierStats, type Senders } from './alert-notifier.ts';
import { AlertTopology } from './alert-topology.ts';
import { type Alert, alertName, type AlertReceiver, type AlertRule, type AlertStatus, type Silence } from './alert-types.ts';

export interface AlertManagerOptions extends ManagerTuning {
  /** Acting as a manager. */
  inventory: Inventory;
  /** A project, or ALL_PROJECTS. */
  project: string;
  hosts: Informer<'Host', Host>;
  instances: Informer<'Instance', Instance>;
  regions: Informer<'Region', Region>;
  sites: Informer<'Site', Site>;
  /** Caches of other kinds the caller holds already (by kind name); rules on any other kind get one of their own. */
  shared?: Readonly<Record<string, Informer<string, Resource>>>;
  /** A receiver's spec with its write-only fields (secrets). @default the spec as the cache has it (no secrets) */
  revealSpec?: (project: string, kind: string, id: string) => Promise<Record<string, unknown>>;
  /** The latest value of a host's metric, for metric rules. @default none: metric rules match nothing */
  metricValue?: (hostId: string, name: string) => Promise<number | undefined>;
  /** The console's address, for links in notifications (a function: known only once the server listens). @default http://127.0.0.1:8080 */
  externalUrl?: string | (() => string);
  /** How often due notifications are looked for. @default 1000 */
  tickMs?: number;
  /** How often metric rules read the latest values. @default 30000 */
  metricEveryMs?: number;
  /** Resolved alerts are removed this long after they resolved. @default 86400000 (a day) */
  resolvedRetentionMs?: number;
  /** Notification senders (tests). @default webhook over node:http(s), email over nodemailer, with allowLocalReceivers */
  senders?: Partial<Senders>;
  /**
   * Deliver to receivers on this machine's own or its link's addresses (loopback, link-local such as
   * 169.254.169.254, unspecified, multicast, broadcast). Refused otherwise, on the address actually
   * connected to: an editor's receiver must not make the control plane call services on its own host.
   * Private ranges are always allowed. `eim server` allows them when it listens on loopback only.
   * @default false
   */
  allowLocalReceivers?: boolean;
  /** Delivery retries. @default 1 s doubling to 5 min */
  deliveryBackoff?: { baseMs?: number; maxMs?: number };
  /** A pending wait is written (a pending Alert, surviving a restart) once it has lasted this long; before, it lives in memory. @default 60000 */
  pendingWrittenAfterMs?: number;
}

export interface AlertManagerStats {
  evaluations: number;
  writes: number;
  cached: { rules: number; receivers: number; alerts: number; silences: number };
  queueLength: number;
  notifier: AlertNotifierStats;
}

const RULE_KEY = 'rule:';
const SILENCES_KEY = 'silences';
/** Rule status (matched, firing counts) is written at most this often. */
const RULE_STATUS_MS = 10_000;
const GC_MS = 60_000;
/**
 * A pending wait is written (a pending Alert, surviving a restart) once it has lasted a minute;
 * before, it lives in memory: a condition that holds for moments (a host between its enrolment and
 * its first heartbeat, a blip) costs no write, and a restart starts its wait over, at most a minute late.
 */
const PENDING_WRITTEN_AFTER_MS = 60_000;

/**
 * The alert manager: evaluates each AlertRule against the resources of its kind from the shared
 * caches (level-based: on every event of a watched resource, on rule changes and when a pending
 * alert's forSeconds run out) and keeps one Alert per (rule, resource): pending while the
 * condition holds for less than forSeconds, firing after, resolved when it stops. The notifier
 * sends what changed to the rules' receivers.
 * @example const m = new AlertManager({ inventory, project, hosts, instances, regions, sites }).start(); … await m.stop()
 */
export class AlertManager {
  readonly rules: Informer<'AlertRule', AlertRule>;
  readonly receivers: Informer<'AlertReceiver', AlertReceiver>;
  readonly alerts: Informer<'Alert', Alert>;
  readonly silences: Informer<'Silence', Silence>;
  readonly notifier: AlertNotifier;
  readonly topology: AlertTopology;
  private readonly clock: Clock;
  private readonly queue: WorkQueue<string>;
  private readonly own: Informer<string, Resource>[] = [];
  private readonly watched = new Map<string, Informer<string, Resource>>();
  private readonly compiled = new Map<string, CompiledRule>();
  /** Rule ids by `${project}|${kind}`. */
  private readonly rulesByScope = new Map<string, Set<string>>();
  private readonly alertsByName: InformerIndex<Alert>;
  private readonly alertsByRule: InformerIndex<Alert>;
  private readonly alertsByResource: InformerIndex<Alert>;
  /** What this manager wrote last per alert name, until the cache shows it (or something newer). */
  private readonly overlay = new Map<string, { revision: number; alert?: Alert }>();
  /** Writes of one alert, one after the other (the evaluator's and the notifier's). */
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly metricValues = new Map<string, Map<string, number>>();
  /** Per metric rule, the hosts whose read failed with no earlier value: their alerts are left as they are. */
  private readonly metricUnknown = new Map<string, Set<string>>();
  /** Short pending waits: since when each (rule, resource) meets its rule, by alert name. */
  private readonly pendingSince = new Map<string, number>();
  private workers: Promise<void>[] = [];
  private timers: unknown[] = [];
  private stopped = false;
  private halt!: () => void;
  private readonly halted = new Promise<void>((r) => (this.halt = r));
  private readonly counters = { evaluations: 0, writes: 0 };
  private readonly ruleCounts = new Map<string, string>();
  readonly synced: Promise<void>;

  constructor(private readonly o: AlertManagerOptions) {
    this.clock = o.clock ?? systemClock;
    const base = { inventory: o.inventory, project: o.project, onHandlerError: o.onError ? (e: unknown) => o.onError!(e) : undefined };
    this.rules = this.mine(new Informer<'AlertRule', AlertRule>({ ...base, kind: 'AlertRule' }));
    this.receivers = this.mine(new Informer<'AlertReceiver', AlertReceiver>({ ...base, kind: 'AlertReceiver' }));
    this.alerts = this.mine(new Informer<'Alert', Alert>({ ...base, kind: 'Alert' }));
    this.silences = this.mine(new Informer<'Silence', Silence>({ ...base, kind: 'Silence' }));
    this.queue = new WorkQueue({ clock: this.clock, backoff: o.backoff });
    this.topology = new AlertTopology({ hosts: o.hosts, instances: o.instances, sites: o.sites, regions: o.regions });
    this.alertsByName = new InformerIndex(this.alerts, (a) => a.name);
    this.alertsByRule = new InformerIndex(this.alerts, (a) => a.status.ruleId);
    this.alertsByResource = new InformerIndex(this.alerts, (a) => a.status.resourceId);
    for (const [kind, inf] of Object.entries({ Host: o.hosts, Instance: o.instances, Region: o.regions, Site: o.sites, ...o.shared })) this.watched.set(kind, inf as Informer<string, Resource>);
    this.notifier = new AlertNotifier({
      inventory: o.inventory,
      clock: this.clock,
      rules: this.rules,
      receivers: this.receivers,
      alerts: this.alerts,
      view: (a) => this.view(a),
      silencedBy: (a) => this.silencedBy(a),
      write: (a, status) => this.writeStatus(a, status),
      revealSpec: o.revealSpec,
      externalUrl: typeof o.externalUrl === 'function' ? o.externalUrl : () => (o.externalUrl as string | undefined) ?? 'http://127.0.0.1:8080',
      senders: o.senders,
      allowLocalReceivers: o.allowLocalReceivers,
      backoff: o.deliveryBackoff,
      onError: o.onError,
    });

    this.rules.on({
      add: (r) => this.ruleChanged(undefined, r),
      update: (a, b) => a.generation !== b.generation && this.ruleChanged(a, b),
      delete: (r) => this.ruleChanged(r, undefined),
    });
    this.silences.on({ add: () => this.queue.add(SILENCES_KEY), update: () => this.queue.add(SILENCES_KEY), delete: () => this.queue.add(SILENCES_KEY) });
    this.alerts.on({
      add: (a) => this.seen(a),
      update: (_, a) => this.seen(a),
      delete: (a) => {
        const mine = this.overlay.get(a.name);
        if (mine && mine.revision <= a.revision) this.overlay.delete(a.name);
        this.notifier.removed(a);
      },
    });
    // A site or region moving changes the place (labels, targets) of everything under it: rare, so every rule of the project looks again.
    const moved = (r: Resource) => this.rulesOfProject(r.project).forEach((id) => this.queue.add(RULE_KEY + id));
    o.sites.on({ update: (a, b) => a.spec.regionId !== b.spec.regionId && moved(b), delete: moved });
    o.regions.on({ update: (a, b) => a.spec.parentRegionId !== b.spec.parentRegionId && moved(b), delete: moved });
    this.synced = Promise.all([this.rules.synced, this.receivers.synced, this.alerts.synced, this.silences.synced, o.hosts.synced, o.instances.synced, o.sites.synced, o.regions.synced]).then(() => undefined);
  }

  start(): this {
    for (const i of this.own) i.start();
    for (let n = 0; n < Math.max(this.o.workers ?? 32, 1); n++) this.workers.push(this.work());
    const tick = () => {
      if (this.stopped) return;
      this.notifier.tick();
      this.timers[0] = this.clock.setTimeout(tick, this.o.tickMs ?? 1000);
    };
    const slow = () => {
      if (this.stopped) return;
      void this.writeRuleCounts().catch((e) => this.fail(e));
      this.timers[1] = this.clock.setTimeout(slow, RULE_STATUS_MS);
    };
    const gc = () => {
      if (this.stopped) return;
      void this.collectResolved().catch((e) => this.fail(e));
      this.timers[2] = this.clock.setTimeout(gc, GC_MS);
    };
    const metrics = () => {
      if (this.stopped) return;
      void this.readMetrics().catch((e) => this.fail(e));
      this.timers[3] = this.clock.setTimeout(metrics, this.o.metricEveryMs ?? 30_000);
    };
    void this.synced.then(() => {
      if (this.stopped) return;
      tick();
      this.timers[1] = this.clock.setTimeout(slow, RULE_STATUS_MS);
      this.timers[2] = this.clock.setTimeout(gc, GC_MS);
      metrics();
    });
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.halt();
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.queue.shutDown();
    await Promise.all(this.workers);
    await this.notifier.stop();
    await Promise.allSettled([...this.chains.values()]);
    await Promise.all(this.own.map((i) => i.stop()));
  }

  stats(): AlertManagerStats {
    return {
      ...this.counters,
      cached: { rules: this.rules.size, receivers: this.receivers.size, alerts: this.alerts.size, silences: this.silences.size },
      queueLength: this.queue.len,
      notifier: this.notifier.stats(),
    };
  }

  /**
   * Which cached resources meet a rule now (target, maintenance, condition), without writing:
   * the level-based half of an evaluation (benchmarks, diagnostics).
   */
  matching(ruleId: string): string[] {
    const c = this.compiled.get(ruleId);
    if (!c || !c.rule.spec.enabled) return [];
    const out: string[] = [];
    for (const r of this.watched.get(c.kind)?.list() ?? []) {
      // The filter first: it rejects most resources at the least cost.
      if (r.project !== c.rule.project || (c.filter && !evaluateFilter(c.filter, r))) continue;
      const place = this.topology.placeOf(r);
      const value = c.metric && place.host ? this.metricValues.get(ruleId)?.get(place.host.id) : undefined;
      if (this.topology.covers(c.rule.spec.target, c.selector, place) && !(c.rule.spec.suppressInMaintenance && place.host?.status.maintenance?.inWindow === true) && meetsCondition(c, r, value)) out.push(r.id);
    }
    return out;
  }

  /** The alert as this manager knows it: its own last write when the cache has not caught up. */
  view(a: Alert): Alert {
    const mine = this.overlay.get(a.name);
    return mine?.alert && mine.revision > a.revision ? mine.alert : a;
  }

  private viewByName(name: string): Alert | undefined {
    const cached = this.alertsByName.get(name)[0];
    const mine = this.overlay.get(name);
    if (mine && (!cached || mine.revision > cached.revision)) return mine.alert;
    return cached;
  }

  private mine<I extends Informer<string, Resource>>(i: I): I {
    this.own.push(i);
    return i;
  }

  private seen(a: Alert): void {
    const mine = this.overlay.get(a.name);
    if (mine && mine.revision <= a.revision) this.overlay.delete(a.name);
    this.notifier.changed(this.view(a));
  }

  // Rules and the resources they watch.

  private ruleChanged(before: AlertRule | undefined, rule: AlertRule | undefined): void {
    const r = rule ?? before!;
    const prev = this.compiled.get(r.id);
    if (prev) this.rulesByScope.get(`${r.project}|${prev.kind}`)?.delete(r.id);
    this.compiled.delete(r.id);
    if (rule) {
      const c = compileRule(rule);
      if (c) {
        this.compiled.set(rule.id, c);
        const scope = `${rule.project}|${c.kind}`;
        if (!this.rulesByScope.has(scope)) this.rulesByScope.set(scope, new Set());
        this.rulesByScope.get(scope)!.add(rule.id);
        this.watch(c.kind);
      }
    }
    this.queue.add(RULE_KEY + r.id);
  }

  private rulesOfProject(project: string): string[] {
    return [...this.compiled.values()].filter((c) => c.rule.project === project).map((c) => c.rule.id);
  }

  /** The cache of a kind a rule watches: a shared one, or one of its own started now. */
  private watch(kind: string): Informer<string, Resource> | undefined {
    let inf = this.watched.get(kind);
    if (!inf) {
      if (!kindByName(kind)) return undefined;
      inf = this.mine(new Informer<string, Resource>({ inventory: this.o.inventory, project: this.o.project, kind, onHandlerError: this.o.onError }));
      this.watched.set(kind, inf);
      this.listen(inf);
      inf.start();
      // Its first list adds everything: the rules of the kind look at each resource then.
    } else if (!this.listening.has(inf)) this.listen(inf);
    return inf;
  }

  private readonly listening = new Set<Informer<string, Resource>>();
  private listen(inf: Informer<string, Resource>): void {
    this.listening.add(inf);
    const touched = (r: Resource) => {
      if (this.rulesByScope.get(`${r.project}|${r.kind}`)?.size || this.alertsByResource.idsOf(r.id).length > 0) this.queue.add(r.id);
    };
    inf.on({ add: touched, update: (_, r) => touched(r), delete: touched });
  }

  private async work(): Promise<void> {
    await Promise.race([this.synced, this.halted]);
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        if (key === SILENCES_KEY) await this.evaluateSilences();
        else if (key.startsWith(RULE_KEY)) await this.evaluateRule(key.slice(RULE_KEY.length));
        else await this.evaluateResource(key);
        this.queue.forget(key);
      } catch (e) {
        if (!this.stopped) {
          this.fail(e, key);
          this.queue.addRateLimited(key);
        }
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async evaluateResource(id: string): Promise<void> {
    const kind = kindById(id)?.kind;
    const r = kind ? this.watched.get(kind)?.get(id) : undefined;
    const done = new Set<string>();
    if (r) {
      for (const ruleId of this.rulesByScope.get(`${r.project}|${r.kind}`) ?? []) {
        done.add(ruleId);
        await this.apply(ruleId, r, id);
      }
    }
    for (const a of this.alertsByResource.get(id)) if (!done.has(a.status.ruleId)) await this.apply(a.status.ruleId, r, id);
  }

  private async evaluateRule(ruleId: string): Promise<void> {
    const c = this.compiled.get(ruleId);
    const ids = new Set<string>();
    if (c) for (const r of this.watched.get(c.kind)?.list() ?? []) if (r.project === c.rule.project) ids.add(r.id);
    for (const a of this.alertsByRule.get(ruleId)) ids.add(a.status.resourceId);
    const inf = c ? this.watched.get(c.kind) : undefined;
    // Many resources: their writes go out together, so group commit batches them.
    await pool([...ids], 64, (id) => this.apply(ruleId, inf?.get(id), id));
  }

  /** Brings the Alert of (rule, resource) to what the rule says of the resource now. */
  private async apply(ruleId: string, r: Resource | undefined, resourceId: string): Promise<void> {
    this.counters.evaluations++;
    const c = this.compiled.get(ruleId);
    const name = alertName(ruleId, resourceId);
    const cur = this.viewByName(name);
    const now = this.clock.now();
    const nowIso = new Date(now).toISOString();
    const place = r ? this.topology.placeOf(r) : undefined;
    const rule = c?.rule;
    // What does not depend on a metric value: the rule on, the resource in its project and target,
    // not suppressed by a maintenance window.
    const applies =
      !!c && !!r && !!place && rule!.spec.enabled && r.project === rule!.project &&
      this.topology.covers(rule!.spec.target, c.selector, place) &&
      !(rule!.spec.suppressInMaintenance && place.host?.status.maintenance?.inWindow === true);
    // A metric rule that applies is judged from its last read only: until this process has read the
    // value (it has just started, or taken over from another server), its alert stays as it is.
    if (applies && c!.metric && (!this.metricValues.has(rule!.id) || (place!.host && this.metricUnknown.get(rule!.id)?.has(place!.host.id)))) return;
    const value = applies && c!.metric && place!.host ? this.metricValues.get(rule!.id)?.get(place!.host.id) : undefined;
    const meets = applies && meetsCondition(c!, r!, value);
    if (!meets) {
      this.pendingSince.delete(name);
      if (!cur) return;
      if (cur.status.state === 'pending') return this.remove(cur);
      if (cur.status.state === 'firing') return void (await this.writeStatus(cur, { state: 'resolved', endsAt: nowIso }));
      return;
    }
    const labels = alertLabels(rule!, r!, place!);
    const annotations = alertAnnotations(rule!, r!, place!, value);
    const forMs = rule!.spec.forSeconds * 1000;
    const describe = { resourceName: r!.name, severity: rule!.spec.severity, labels, annotations, ...(value !== undefined ? { value } : {}) };
    // A wait's first minute is kept in memory (after a restart it starts over, at most a minute
    // late); a longer one is then a pending Alert, so it survives a restart. Either way it fires at
    // activeSince + for.
    if ((!cur || cur.status.state === 'resolved') && forMs > 0) {
      const since = this.pendingSince.get(name) ?? now;
      if (!this.pendingSince.has(name)) this.pendingSince.set(name, now);
      const writeAt = since + Math.min(forMs, this.o.pendingWrittenAfterMs ?? PENDING_WRITTEN_AFTER_MS);
      if (now < writeAt) return void this.queue.addAfter(resourceId, writeAt - now);
      this.pendingSince.delete(name);
      const sinceIso = new Date(since).toISOString();
      const firing = now >= since + forMs;
      if (!cur) await this.createAlert(r!, ruleId, resourceId, name, labels, describe, firing ? 'firing' : 'pending', sinceIso, nowIso);
      else await this.writeStatus(cur, { ...describe, state: firing ? 'firing' : 'pending', activeSince: sinceIso, startsAt: firing ? nowIso : null, endsAt: null, lastNotifiedAt: null }, labels);
      if (!firing) this.queue.addAfter(resourceId, since + forMs - now);
      return;
    }
    // No wait (forSeconds 0): it fires at once.
    if (!cur) return this.createAlert(r!, ruleId, resourceId, name, labels, describe, 'firing', nowIso, nowIso);
    if (cur.status.state === 'resolved') return void (await this.writeStatus(cur, { ...describe, state: 'firing', activeSince: nowIso, startsAt: nowIso, endsAt: null, lastNotifiedAt: null }, labels));
    if (cur.status.state === 'pending') {
      const due = Date.parse(cur.status.activeSince) + forMs;
      if (now >= due) return void (await this.writeStatus(cur, { ...describe, state: 'firing', startsAt: nowIso }, labels));
      this.queue.addAfter(resourceId, due - now);
    }
    // Firing (or pending): keep the texts current; the metric value alone is not worth a write.
    if (!jsonEqual(cur.status.labels, labels) || !jsonEqual(cur.status.annotations, annotations) || cur.status.severity !== describe.severity || cur.status.resourceName !== describe.resourceName) {
      await this.writeStatus(cur, describe, labels);
    }
  }

  private async createAlert(
    r: Resource, ruleId: string, resourceId: string, name: string, labels: Record<string, string>,
    describe: Pick<AlertStatus, 'resourceName' | 'severity' | 'labels' | 'annotations' | 'value'>, state: 'pending' | 'firing', activeSince: string, nowIso: string,
  ): Promise<void> {
    const status: AlertStatus = { ruleId, resourceId, ...describe, state, activeSince, ...(state === 'firing' ? { startsAt: nowIso } : {}), fingerprint: fingerprintOf(ruleId, resourceId) };
    const silencedBy = this.silencedBy({ project: r.project, labels, status } as unknown as Alert);
    if (silencedBy.length > 0) status.silencedBy = silencedBy;
    await this.create(r.project, name, labels, status);
  }

  // Writes, one after the other per alert, each remembered until the cache shows it.

  private chain<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(name) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    this.chains.set(name, next);
    void next.catch(() => undefined).finally(() => this.chains.get(name) === next && this.chains.delete(name));
    return next;
  }

  private remember(a: Alert | undefined, name: string, revision: number): void {
    const mine = this.overlay.get(name);
    if (!mine || mine.revision < revision) this.overlay.set(name, { revision, alert: a });
    if (a) this.notifier.changed(a);
    else {
      const cached = this.alertsByName.get(name)[0];
      if (cached) this.notifier.removed(cached);
    }
  }

  private async create(project: string, name: string, labels: Record<string, string>, status: AlertStatus): Promise<void> {
    await this.chain(name, async () => {
      try {
        const a = (await this.o.inventory.create(project, 'Alert', { name, labels, status })) as Alert;
        this.counters.writes++;
        this.remember(a, name, a.revision);
      } catch (e) {
        // Made already (the cache is behind, or a manager before this one made it): look again soon.
        if (isEimError(e) && e.code === 'conflict') throw new Error(`alert ${name} exists already; evaluating again once the cache shows it`);
        throw e;
      }
    });
  }

  private async remove(a: Alert): Promise<void> {
    await this.chain(a.name, async () => {
      try {
        const r = await this.o.inventory.delete(a.project, 'Alert', a.id);
        this.counters.writes++;
        this.remember(undefined, a.name, r.resource.revision);
      } catch (e) {
        if (!(isEimError(e) && e.code === 'not_found')) throw e;
      }
    });
  }

  /** A merge patch of an alert's status (and its labels when given and changed). */
  writeStatus(a: Alert, patch: Record<string, unknown> | ((cur: Alert) => Record<string, unknown>), labels?: Record<string, string>): Promise<Alert | undefined> {
    return this.chain(a.name, async () => {
      let cur = this.viewByName(a.name) ?? a;
      const status = typeof patch === 'function' ? patch(cur) : patch;
      try {
        if (labels && !jsonEqual(cur.labels, labels)) {
          const patch: Record<string, string | null> = { ...labels };
          for (const k of Object.keys(cur.labels)) if (!(k in labels)) patch[k] = null;
          cur = (await this.o.inventory.update(cur.project, 'Alert', cur.id, { labels: patch })) as Alert;
          this.counters.writes++;
          this.remember(cur, cur.name, cur.revision);
        }
        const next = (await this.o.inventory.updateStatus(cur.project, 'Alert', cur.id, status)) as Alert;
        if (next.revision !== cur.revision) this.counters.writes++;
        this.remember(next, next.name, next.revision);
        return next;
      } catch (e) {
        if (isEimError(e) && e.code === 'not_found') return undefined;
        throw e;
      }
    });
  }

  // Silences.

  /** The silences muting an alert now (same project, active, filter matching the alert). */
  silencedBy(a: Pick<Alert, 'project' | 'labels' | 'status'>): string[] {
    const now = this.clock.now();
    const out: string[] = [];
    for (const s of this.silences.list()) {
      if (s.project !== a.project || !this.silenceActive(s, now)) continue;
      const f = this.silenceFilter(s);
      if (f && evaluateFilter(f, a)) out.push(s.id);
    }
    return out.sort().slice(0, 16);
  }

  private readonly filters = new Map<string, { revision: number; node: ReturnType<typeof parseFilter> }>();
  private silenceFilter(s: Silence) {
    const hit = this.filters.get(s.id);
    if (hit?.revision === s.revision) return hit.node;
    let node: ReturnType<typeof parseFilter>;
    try {
      node = parseFilter(s.spec.filter, kindByName('Alert'));
    } catch {
      node = undefined;
    }
    this.filters.set(s.id, { revision: s.revision, node });
    return node;
  }

  private silenceActive(s: Silence, now: number): boolean {
    const from = Date.parse(s.spec.startsAt ?? s.createdAt);
    return from <= now && now < Date.parse(s.spec.endsAt);
  }

  /** Writes each alert's silencedBy where it changed; looks again when a silence starts or ends. */
  private async evaluateSilences(): Promise<void> {
    const now = this.clock.now();
    let next = Infinity;
    for (const s of this.silences.list()) {
      for (const t of [Date.parse(s.spec.startsAt ?? s.createdAt), Date.parse(s.spec.endsAt)]) if (t > now && t < next) next = t;
      if (this.filters.size > this.silences.size * 2) this.filters.clear();
    }
    if (next < Infinity) this.queue.addAfter(SILENCES_KEY, next - now + 10);
    const work: Alert[] = [];
    for (const cached of this.alerts.list()) {
      const a = this.view(cached);
      const want = a.status.state === 'resolved' ? [] : this.silencedBy(a);
      if (!jsonEqual(a.status.silencedBy ?? [], want)) work.push(a);
    }
    await pool(work, 64, (a) => this.writeStatus(a, { silencedBy: a.status.state === 'resolved' ? null : this.silencedBy(a).length ? this.silencedBy(a) : null }));
    this.notifier.touchAll();
  }

  // Slow loops: rule counts, garbage, metric values.

  private async writeRuleCounts(): Promise<void> {
    for (const rule of this.rules.list()) {
      let matched = 0;
      let firing = 0;
      for (const cached of this.alertsByRule.get(rule.id)) {
        const s = this.view(cached).status.state;
        if (s !== 'resolved') matched++;
        if (s === 'firing') firing++;
      }
      const key = `${matched}/${firing}`;
      if (this.ruleCounts.get(rule.id) === key && rule.status.matchedResources === matched) continue;
      if (rule.status.matchedResources === matched && rule.status.firing === firing) {
        this.ruleCounts.set(rule.id, key);
        continue;
      }
      await this.o.inventory.updateStatus(rule.project, 'AlertRule', rule.id, { matchedResources: matched, firing }).catch((e) => {
        if (!(isEimError(e) && e.code === 'not_found')) throw e;
      });
      this.ruleCounts.set(rule.id, key);
    }
  }

  /** Removes alerts resolved longer ago than the retention (their notifications went out, or their time did). */
  private async collectResolved(): Promise<void> {
    const cutoff = this.clock.now() - (this.o.resolvedRetentionMs ?? 86_400_000);
    const old = this.alerts.list().map((a) => this.view(a)).filter((a) => a.status.state === 'resolved' && Date.parse(a.status.endsAt ?? a.updatedAt) < cutoff);
    await pool(old, 16, (a) => this.remove(a));
  }

  private async readMetrics(): Promise<void> {
    const read = this.o.metricValue;
    if (!read) return;
    for (const m of [this.metricValues, this.metricUnknown]) for (const id of m.keys()) if (!this.compiled.get(id)?.metric) m.delete(id);
    for (const c of this.compiled.values()) {
      if (!c.metric) continue;
      const values = new Map<string, number>();
      const unknown = new Set<string>();
      const before = this.metricValues.get(c.rule.id);
      for (const h of this.o.hosts.list()) {
        if (h.project !== c.rule.project || !this.topology.covers(c.rule.spec.target, c.selector, this.topology.placeOf(h))) continue;
        // A read that fails keeps the last value, or leaves the host unknown (its alert as it is):
        // no answer is not a value below the threshold.
        let v: number | undefined;
        try {
          v = await read(h.id, c.metric.name);
        } catch {
          v = before?.get(h.id);
          if (v === undefined) unknown.add(h.id);
        }
        if (v !== undefined) values.set(h.id, v);
      }
      this.metricUnknown.set(c.rule.id, unknown);
      this.metricValues.set(c.rule.id, values);
      this.queue.add(RULE_KEY + c.rule.id);
    }
  }

  private fail(e: unknown, key?: string): void {
    if (this.o.onError) this.o.onError(e, key);
    else process.stderr.write(`alert-manager${key ? ` ${key}` : ''}: ${(e as Error)?.stack ?? String(e)}\n`);
  }
}

/** Runs `fn` over items, at most `n` at once. */
export async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (i < items.length) {
      const item = items[i++];
      await fn(item).catch((e) => errors.push(e));
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}
